"""`pretty` is byte-for-byte the standard encoder's indent=2 spelling, only faster."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from packer_tasks.canonical_json import pretty

leaves = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text()
)
values = st.recursive(
    leaves,
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(), inner, max_size=5),
    max_leaves=40,
)


def reference(value: Any) -> bytes:
    text = json.dumps(value, ensure_ascii=False, sort_keys=True, indent=2, allow_nan=False)
    return (text + "\n").encode("utf-8")


@settings(max_examples=300, deadline=None)
@given(values)
def test_pretty_is_the_standard_spelling(value: Any) -> None:
    assert pretty(value) == reference(value)


@pytest.mark.parametrize(
    "value", [{1: "int key"}, {"a": (1, 2)}, [math.nan], {"x": math.inf}, {"b": b"bytes"}]
)
def test_unusual_values_behave_as_the_standard_encoder(value: Any) -> None:
    try:
        expected: bytes | type[Exception] = reference(value)
    except (ValueError, TypeError) as exc:
        expected = type(exc)
    if isinstance(expected, bytes):
        assert pretty(value) == expected
    else:
        with pytest.raises(expected):
            pretty(value)
