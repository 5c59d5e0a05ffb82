"""The nesting bound on raw JSON, against an independent character-by-character reader."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.common.json_input import JSONInputInvalid, loads, too_deep

# Strings full of the characters that could fool a scanner: brackets, quotes, backslashes.
_tricky = st.text(alphabet='[]{}"\\ab:,\n', max_size=6)
_values = st.recursive(
    st.none() | st.booleans() | st.integers() | _tricky,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_tricky, inner, max_size=3),
    max_leaves=30,
)


def reference_depth(text: str) -> int:
    depth = deepest = 0
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth -= 1
    return deepest


@settings(max_examples=300, deadline=None)
@given(_values, st.integers(min_value=0, max_value=8), st.booleans())
def test_too_deep_agrees_with_a_plain_reader(value: Any, limit: int, ascii_only: bool) -> None:
    data = json.dumps(value, ensure_ascii=ascii_only).encode()
    assert too_deep(data, limit) == (reference_depth(data.decode()) > limit)


@pytest.mark.parametrize("levels", [65, 1_000, 100_000])
def test_deep_documents_are_refused_before_parsing(levels: int) -> None:
    with pytest.raises(JSONInputInvalid, match="deeper"):
        loads(b"[" * levels + b"]" * levels)
    with pytest.raises(JSONInputInvalid, match="deeper"):
        loads(b'{"a":' * levels + b"1" + b"}" * levels)


@pytest.mark.parametrize("body", [b"NaN", b"[Infinity]", b'{"a":-Infinity}', b"\xff", b"{"])
def test_what_json_does_not_allow_is_refused(body: bytes) -> None:
    with pytest.raises(JSONInputInvalid):
        loads(body)


def test_plain_documents_read_as_usual() -> None:
    assert loads(b'{"a": [1, 2.5, "[[\\"]]"], "b": {"c": null}}') == {
        "a": [1, 2.5, '[["]]'],
        "b": {"c": None},
    }
