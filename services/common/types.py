"""Column types shared by the services' models."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite stores them naive)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        assert isinstance(value, datetime)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


# 9999-12-31T23:59:59Z: the last second a datetime can hold.
MAX_UNIX_SECONDS = 253_402_300_799


def from_unix(value: object, *, units_per_second: int = 1) -> datetime:
    """A Unix time read from untrusted JSON (seconds, or e.g. milliseconds with 1000).

    Only real numbers in datetime's range: a bool, a string, ``1e300`` or ``10**30``
    is a ``ValueError`` here rather than an ``OverflowError`` deep in ``datetime``.
    """
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"a Unix time must be a number, not {type(value).__name__}")
    # Compared before dividing: 10**400 / 1000 would itself overflow a float.
    if not 0 <= value <= MAX_UNIX_SECONDS * units_per_second:  # NaN fails this too
        raise ValueError("a Unix time out of range")
    return datetime.fromtimestamp(value / units_per_second, UTC)
