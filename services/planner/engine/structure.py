"""Shape checks for a document that did not decode cleanly.

The fast path (``msgspec.json.decode(body, type=PlanDocument)``) stops at the
first problem. When it fails, the document is decoded to plain JSON values and
walked here against the very same struct definitions, read through
``msgspec.inspect``, so that every shape problem is reported with its JSON
Pointer. The walk is iterative: nesting depth is bounded by the schema, but a
stack keeps it honest for any future recursive type.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import msgspec
import msgspec.inspect as mi

from .problems import ProblemCode, ProblemList, pointer

_FULL_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def _describe(t: mi.Type, pattern: str | None = None) -> str:
    match t:
        case mi.Metadata():
            return _describe(t.type, _pattern_of(t, pattern))
        case mi.StrType() if pattern is not None:
            return f"string matching {pattern}"
        case mi.StrType():
            return "string"
        case mi.IntType(ge=int() as ge, le=None):
            return f"integer >= {ge}"
        case mi.IntType(ge=int() as ge, le=int() as le):
            return f"integer between {ge} and {le}"
        case mi.IntType():
            return "integer"
        case mi.FloatType(ge=int() | float() as ge, le=int() | float() as le):
            return f"number between {ge:g} and {le:g}"
        case mi.FloatType(ge=int() | float() as ge):
            return f"number >= {ge:g}"
        case mi.FloatType():
            return "number"
        case mi.BoolType():
            return "boolean"
        case mi.DateType():
            return "date (YYYY-MM-DD)"
        case mi.LiteralType():
            return "one of " + ", ".join(sorted(repr(v) for v in t.values))
        case mi.ListType(min_length=int() as n) | mi.VarTupleType(min_length=int() as n) if n > 0:
            return f"array of at least {n} item(s)"
        case mi.ListType() | mi.VarTupleType():
            return "array"
        case mi.StructType() | mi.DictType():
            return "object"
        case mi.UnionType():
            return " or ".join(_describe(u) for u in t.types)
        case mi.NoneType():
            return "null"
    return "value"


def _pattern_of(t: mi.Metadata, inherited: str | None) -> str | None:
    # Id patterns live in the JSON schema only (see ``document.Id``).
    pattern = (t.extra_json_schema or {}).get("pattern", inherited)
    assert pattern is None or isinstance(pattern, str)
    return pattern


def matches(pattern: str, text: str) -> bool:
    """Whether ``text`` matches an anchored schema pattern, as JSON Schema reads it.

    ``fullmatch`` rather than ``search``: Python's ``$`` also matches before
    a trailing newline, which JSON Schema's does not.
    """
    return re.fullmatch(pattern, text) is not None


def check_structure(value: Any, root: type[msgspec.Struct], problems: ProblemList) -> None:
    """Report every shape problem of ``value`` against the struct type ``root``."""
    stack: list[tuple[Any, mi.Type, tuple[str | int, ...], str | None, str | None]] = [
        (value, mi.type_info(root), (), None, None)
    ]
    while stack:
        item, t, parts, code, pattern = stack.pop()
        if isinstance(t, mi.Metadata):
            extra = t.extra or {}
            stack.append((item, t.type, parts, extra.get("code", code), _pattern_of(t, pattern)))
            continue
        if isinstance(t, mi.UnionType):
            if item is None and any(isinstance(u, mi.NoneType) for u in t.types):
                continue
            t = next(u for u in t.types if not isinstance(u, mi.NoneType))
            stack.append((item, t, parts, code, pattern))
            continue
        path = pointer(*parts)
        pattern = t.pattern if isinstance(t, mi.StrType) and t.pattern else pattern
        expected = _describe(t, pattern)

        def wrong_type(expected: str = expected, path: str = path, item: Any = item) -> None:
            problems.add(
                ProblemCode.FIELD_TYPE,
                f"expected {expected}, got {_json_type(item)}",
                path,
                {"expected": expected, "got": _json_type(item)},
            )

        def out_of_range(
            message: str,
            code: str | None = code,
            path: str = path,
            item: Any = item,
            expected: str = expected,
        ) -> None:
            problems.add(
                ProblemCode(code) if code else ProblemCode.FIELD_TYPE,
                message,
                path,
                {"expected": expected, "value": item},
            )

        match t:
            case mi.StructType():
                if not isinstance(item, dict):
                    wrong_type()
                    continue
                known = {f.encode_name for f in t.fields}
                for key in item:
                    if key not in known:
                        problems.add(
                            ProblemCode.FIELD_UNKNOWN,
                            f"unknown field {key!r}",
                            pointer(*parts, key),
                            {"field": key, "known": sorted(known)},
                        )
                # Push in reverse so problems come out in field order.
                for field in reversed(t.fields):
                    if field.encode_name in item:
                        stack.append(
                            (
                                item[field.encode_name],
                                field.type,
                                (*parts, field.encode_name),
                                None,
                                None,
                            )
                        )
                    elif field.required:
                        problems.add(
                            ProblemCode.FIELD_REQUIRED,
                            f"missing required field {field.encode_name!r}",
                            pointer(*parts, field.encode_name),
                            {"field": field.encode_name},
                        )
            case mi.ListType() | mi.VarTupleType():
                if not isinstance(item, list):
                    wrong_type()
                    continue
                if t.min_length is not None and len(item) < t.min_length:
                    out_of_range(f"expected {expected}")
                for i in range(len(item) - 1, -1, -1):
                    stack.append((item[i], t.item_type, (*parts, i), None, None))
            case mi.StrType():
                if not isinstance(item, str):
                    wrong_type()
                elif pattern is not None and not matches(pattern, item):
                    out_of_range(f"expected {expected}")
            case mi.IntType():
                if not isinstance(item, int) or isinstance(item, bool):
                    wrong_type()
                elif (t.ge is not None and item < t.ge) or (t.le is not None and item > t.le):
                    out_of_range(f"{item} is out of range: expected {expected}")
            case mi.FloatType():
                if not isinstance(item, int | float) or isinstance(item, bool):
                    wrong_type()
                elif (t.ge is not None and item < t.ge) or (t.le is not None and item > t.le):
                    out_of_range(f"{item} is out of range: expected {expected}")
            case mi.BoolType():
                if not isinstance(item, bool):
                    wrong_type()
            case mi.DateType():
                if not isinstance(item, str):
                    wrong_type()
                elif not _is_full_date(item):
                    problems.add(
                        ProblemCode.INVALID_DATE,
                        f"{item!r} is not a calendar date (YYYY-MM-DD)",
                        path,
                        {"value": item},
                    )
            case mi.LiteralType():
                if isinstance(item, bool) or item not in t.values:
                    out_of_range(f"{item!r} is not supported: expected {expected}")
            case _:  # pragma: no cover - the schema uses no other types
                raise TypeError(f"unsupported schema type {t!r}")


def _is_full_date(text: str) -> bool:
    if not _FULL_DATE.fullmatch(text):
        return False
    try:
        dt.date.fromisoformat(text)
    except ValueError:
        return False
    return True
