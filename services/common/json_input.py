"""Reading JSON that anyone could have sent: bounded before it is parsed.

Python's and msgspec's parsers recurse once per level of nesting, so a few
kilobytes of ``[[[[…`` raise ``RecursionError`` (a 500) instead of a parse error.
``too_deep`` measures the nesting on the raw bytes first, in one linear pass
that does most of its work in C (bytes methods and a lookup table),
so the bound holds before any parser recurses.

``loads`` is the stdlib parser behind that bound, refusing what JSON itself
refuses but Python accepts (``NaN``, ``Infinity``) and bodies that are not UTF-8.
"""

from __future__ import annotations

import json
from typing import Any

# Deeper than any document we accept (a plan document is six levels deep).
MAX_DEPTH = 64

# Opening brackets become "(", closing ones ")", everything else is dropped.
_BRACKETS = bytes.maketrans(b"[{]}", b"(())")
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
_NOT_STRUCTURE = bytes(b for b in range(256) if b not in b'[]{}"')
_CHUNK = 8


def _chunk_table() -> dict[bytes, tuple[int, int]]:
    """(net change, highest level reached) for every run of up to _CHUNK brackets."""
    table: dict[bytes, tuple[int, int]] = {}
    for length in range(1, _CHUNK + 1):
        for bits in range(1 << length):
            run = bytes(ord("(") if bits >> i & 1 else ord(")") for i in range(length))
            level = peak = 0
            for symbol in run:
                level += 1 if symbol == ord("(") else -1
                peak = max(peak, level)
            table[run] = (level, peak)
    return table


_RUNS = _chunk_table()


class JSONInputInvalid(ValueError):
    """Not a JSON document we read: malformed, too deep, non-finite numbers or not UTF-8."""


def too_deep(data: bytes, max_depth: int = MAX_DEPTH) -> bool:
    """Whether ``data`` nests arrays/objects more than ``max_depth`` levels deep.

    Linear: strings are cut out and the rest reduced to its brackets by bytes
    methods (in C), then the brackets are read eight at a time from a table.
    Malformed input (unbalanced brackets) is left for the parser to report.
    """
    skeleton = _outside_strings(data).translate(_BRACKETS, _NOT_BRACKETS)
    level = 0
    for start in range(0, len(skeleton), _CHUNK):
        net, peak = _RUNS[skeleton[start : start + _CHUNK]]
        if level + peak > max_depth:
            return True
        level += net
    return False


def _outside_strings(data: bytes) -> bytes:
    """The brackets and quotes of ``data`` with every string's content cut out.

    Escaped backslashes and quotes go first, paired left to right as a parser pairs
    them; then only brackets and quotes are kept. Dropping two adjacent quotes keeps
    every other byte on its side of the string boundaries, so the empty strings
    (almost all of them) go in one ``replace`` before the few left are split out.
    """
    if b"\\" in data:
        data = data.replace(b"\\\\", b"").replace(b'\\"', b"")
    skeleton = data.translate(None, _NOT_STRUCTURE).replace(b'""', b"")
    if b'"' not in skeleton:
        return skeleton
    return b"".join(skeleton.split(b'"')[0::2])


def _refuse_constant(name: str) -> Any:
    raise JSONInputInvalid(f"{name} is not a JSON number")


def loads(data: bytes, *, max_depth: int = MAX_DEPTH) -> Any:
    """Parse untrusted JSON bytes; ``JSONInputInvalid`` for anything we do not read."""
    if too_deep(data, max_depth):
        raise JSONInputInvalid(f"nested deeper than {max_depth} levels")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise JSONInputInvalid("not UTF-8") from exc
    try:
        return json.loads(text, parse_constant=_refuse_constant)
    except ValueError as exc:  # JSONDecodeError included
        raise JSONInputInvalid(str(exc)) from exc
