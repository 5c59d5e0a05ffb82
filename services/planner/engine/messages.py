"""What the engine says to people, in English and Turkish.

Codes are for machines; the registry (``services/common/error_codes.py``)
gives each error code one message per language. A JSON syntax error carries
facts (a line and a column), so its message is written here, from the same
details a client gets, for the languages the registry has.
"""

from __future__ import annotations

from typing import Final, Literal

Locale = Literal["en", "tr"]
LOCALES: Final[tuple[Locale, ...]] = ("en", "tr")


def locale_of(value: str | None) -> Locale:
    """``tr`` for Turkish, ``en`` for anything else, as the registry's messages do."""
    return "tr" if value == "tr" else "en"


def invalid_json_message(line: int, column: int, locale: Locale) -> str:
    """``PLAN_INVALID_JSON`` with the place the parser gave up."""
    if locale == "tr":
        return f"Plan geçerli bir JSON değil (satır {line}, sütun {column})."
    return f"The plan is not valid JSON (line {line}, column {column})."
