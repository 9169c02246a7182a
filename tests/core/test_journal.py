from __future__ import annotations

from emulator.core.clock import Clock
from emulator.core.journal import Journal


def entry(journal: Journal, vendor: str, token: str | None = "tok") -> dict:
    data = {"id": journal.next_id(), "vendor": vendor, "token": token}
    journal.record(data)
    return data


def test_ring_buffer_keeps_the_newest() -> None:
    journal = Journal(Clock(), size=3)
    ids = [entry(journal, "iadvize")["id"] for _ in range(5)]
    assert [e["id"] for e in journal.entries()] == ids[:1:-1]
    assert len(journal) == 3
    assert journal.get(ids[0]) is None
    assert journal.get(ids[-1]) is not None


def test_filters_and_clear() -> None:
    journal = Journal(Clock(), size=10)
    entry(journal, "iadvize")
    entry(journal, "avaya")
    entry(journal, "iadvize")
    assert [e["vendor"] for e in journal.entries(vendor="iadvize")] == ["iadvize", "iadvize"]
    assert len(journal.entries(limit=1)) == 1
    assert journal.clear() == 3
    assert journal.entries() == []


def test_tokens_can_be_turned_off() -> None:
    journal = Journal(Clock(), size=10, include_tokens=False)
    entry(journal, "iadvize", token="secret-ish")
    assert "token" not in journal.entries()[0]


def test_secrets_in_a_query_string_are_redacted() -> None:
    from emulator.core.journal import redact_query

    assert redact_query("") == ""
    assert redact_query("platform=sd") == "platform=sd"
    redacted = redact_query("client_id=a&client_secret=s3cret&password=pw&Refresh_Token=r")
    assert "s3cret" not in redacted and "pw" not in redacted and "=r" not in redacted
    assert "client_id=a" in redacted
