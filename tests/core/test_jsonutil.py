from __future__ import annotations

import pytest

from emulator.core import jsonutil


@pytest.mark.parametrize(
    "text", ["NaN", '{"exp": NaN}', '{"exp": Infinity}', "[-Infinity]", '{"exp": 1e999}', "[" * 100000]
)
def test_refuses_what_is_not_json_or_would_slip_past_checks(text: str) -> None:
    with pytest.raises(ValueError):
        jsonutil.loads(text)


def test_parses_json() -> None:
    assert jsonutil.loads(b'{"a": [1, 2.5, "x", null, true]}') == {"a": [1, 2.5, "x", None, True]}
