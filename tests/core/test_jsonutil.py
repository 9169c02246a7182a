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


def test_to_float_reads_huge_integers_as_javascript_does() -> None:
    """Python keeps a 400-digit integer exact; as a float it is ±inf, which is what JSON.parse gives."""
    import math

    assert jsonutil.to_float(10**400) == math.inf
    assert jsonutil.to_float(-(10**400)) == -math.inf
    assert jsonutil.to_float(1_795_000_000) == 1_795_000_000.0
    assert jsonutil.to_float(0.5) == 0.5
