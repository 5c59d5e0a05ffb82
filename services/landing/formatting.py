"""Money and dates as a reader of each locale expects them (Babel's CLDR data)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from babel.dates import format_date
from babel.numbers import format_currency, format_decimal, get_currency_precision

_BABEL_LOCALE = {"tr": "tr_TR", "en": "en_US"}


def money(amount_minor: int, currency: str, locale: str) -> str:
    """``₺299,00`` in Turkish, ``TRY 299.00`` in English (amount in minor units)."""
    code = currency.upper()
    value = Decimal(amount_minor).scaleb(-get_currency_precision(code))
    if locale == "tr":
        return format_currency(value, code, locale=_BABEL_LOCALE["tr"])
    # CLDR's English pattern glues the code to the number ("TRY299.00"); keep a space.
    return format_currency(value, code, locale=_BABEL_LOCALE["en"], format="¤\u00a0#,##0.00")


def day(moment: datetime | None, locale: str) -> str | None:
    """``5 Ocak 2027`` / ``January 5, 2027``; None stays None."""
    if moment is None:
        return None
    return format_date(moment.date(), format="long", locale=_BABEL_LOCALE.get(locale, "en_US"))


def iso_day(value: object, locale: str) -> str | None:
    """An ISO date from the planner (``2027-01-15``) as ``15 Oca 2027`` / ``Jan 15, 2027``."""
    if not isinstance(value, str):
        return None
    try:
        parsed = date.fromisoformat(value)
    except ValueError:
        return None
    return format_date(parsed, format="medium", locale=_BABEL_LOCALE.get(locale, "en_US"))


def count(value: int, locale: str) -> str:
    """``20.000`` in Turkish, ``20,000`` in English."""
    return format_decimal(value, locale=_BABEL_LOCALE.get(locale, "en_US"))
