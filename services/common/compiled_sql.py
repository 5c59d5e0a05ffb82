"""A statement compiled once by SQLAlchemy, to be sent to the driver itself.

For the few statements on a hot path (compile slots, the usual webhook's ingest),
SQLAlchemy's execute costs more CPU than the statement: compiling the statement
and its cache key, the connection's and result's bookkeeping. Compiled once here,
such a statement is its SQL and the positional arguments the driver takes, each
converted by the bind processor SQLAlchemy itself would run.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, cast

from sqlalchemy.engine import Dialect
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.expression import ClauseElement


class CompiledStatement:
    def __init__(self, statement: ClauseElement, dialect: Dialect) -> None:
        compiled = cast(SQLCompiler, statement.compile(dialect=dialect))
        self.sql = compiled.string
        names = list(compiled.positiontup or [])
        self._order: list[tuple[str, Callable[[Any], Any] | None]] = [
            (name, compiled.binds[name].type.bind_processor(dialect)) for name in names
        ]
        # The statement's own values (a LIMIT 1, a literal in a CASE): every other
        # parameter comes from the caller.
        self._own = {
            name: compiled.binds[name].effective_value
            for name in names
            if not compiled.binds[name].required
        }

    def arguments(self, params: Mapping[str, Any]) -> list[Any]:
        """The driver's arguments for ``params`` (by bind name), in the SQL's order."""
        values = []
        for name, process in self._order:
            value = params[name] if name in params else self._own[name]
            values.append(process(value) if process is not None else value)
        return values
