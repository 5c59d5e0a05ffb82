"""The usual webhook - the first report of a subscription - stored straight through the driver.

Most events a provider sends for a new customer say that a subscription was created.
Storing one means four rows: the inbox row (already applied), the subscription, its
audit row and its announcements, all in one transaction, and only if the event is new.
What those rows hold is decided in Python, by ``lifecycle.new_subscription``; this
module only persists them, with statements SQLAlchemy compiled once per database and
sent to the driver itself (asyncpg, aiosqlite). Through a session the same work cost
more CPU in SQLAlchemy (statement execution, the unit of work, the transaction's
bookkeeping) than the whole rest of the request.

* PostgreSQL: one statement of data-modifying CTEs (``INSERT … ON CONFLICT DO NOTHING
  RETURNING`` for the inbox row and the subscription, the audit and outbox inserts
  selecting from the subscription's), on its own: one round trip where the session took
  six. A single statement is atomic, and when the subscription exists already the
  statement fails on purpose (see ``_postgresql``), so that case too writes nothing.
  (``BEGIN`` and ``COMMIT`` around it were each another round trip, and on loopback TCP
  every send costs the sender the kernel's delivery too: a fifth of the CPU per event.)
* SQLite (no data-modifying CTEs): ``BEGIN IMMEDIATE``, the four inserts and
  ``COMMIT`` on the event loop's thread while the file is free
  (``services.common.inline_sqlite``),
  else on the write engine's one connection, one hop to its thread each.

Three outcomes, each atomic. ``STORED``: every row written and committed. ``DUPLICATE``:
the inbox already held the event (on PostgreSQL a concurrent first delivery's insert is
waited for), nothing written. ``RECORDED_BEFORE``: the subscription exists already (a
status poll, another event), so the report is an update whose rules (newer wins, what
changed) are lifecycle's: nothing is written (the transaction or the statement is
rolled back) and the caller takes the general path. Any error rolls back too; a connection whose
transaction could not be rolled back is closed, never handed back to the pool.
"""

from __future__ import annotations

import enum
import functools
import sqlite3
from collections.abc import Callable, Sequence
from typing import Any, cast

import asyncpg
from sqlalchemy import (
    Integer,
    Table,
    bindparam,
    case,
    exists,
    func,
    insert,
    literal_column,
    select,
    union_all,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.sql.expression import ClauseElement

from services.billing_api.lifecycle import NewSubscription
from services.billing_api.models import (
    OutboxMessage,
    Subscription,
    SubscriptionChange,
    WebhookInboxEvent,
)
from services.common.compiled_sql import CompiledStatement
from services.common.inline_sqlite import inline_writer

_INBOX = cast(Table, WebhookInboxEvent.__table__)
_SUBSCRIPTIONS = cast(Table, Subscription.__table__)
_CHANGES = cast(Table, SubscriptionChange.__table__)
_OUTBOX = cast(Table, OutboxMessage.__table__)


class Stored(enum.Enum):
    STORED = "stored"
    DUPLICATE = "duplicate"
    RECORDED_BEFORE = "recorded_before"


def _columns(table: Table) -> tuple[str, ...]:
    """Every column the rows give: all but an autoincrement key."""
    return tuple(c.name for c in table.columns if not (c.primary_key and c.autoincrement is True))


_INBOX_COLUMNS = _columns(_INBOX)
_SUBSCRIPTION_COLUMNS = _columns(_SUBSCRIPTIONS)
_CHANGE_COLUMNS = _columns(_CHANGES)
_OUTBOX_COLUMNS = _columns(_OUTBOX)


def _binds(table: Table, columns: Sequence[str], prefix: str) -> list[Any]:
    return [bindparam(f"{prefix}{name}", type_=table.c[name].type) for name in columns]


def _params(inbox: dict[str, Any], new: NewSubscription) -> dict[str, Any]:
    params = {f"inbox_{k}": v for k, v in inbox.items()}
    params.update({f"sub_{k}": v for k, v in new.subscription.items()})
    params.update({f"change_{k}": v for k, v in new.change.items()})
    for i, row in enumerate(new.announcements):
        params.update({f"msg{i}_{k}": v for k, v in row.items()})
    return params


# Per dialect (the engine's) and number of subscribers: a few in any process.
@functools.lru_cache(maxsize=32)
def _postgresql(dialect: Dialect, subscribers: int) -> CompiledStatement:
    stored = (
        pg_insert(_INBOX)
        .values(dict(zip(_INBOX_COLUMNS, _binds(_INBOX, _INBOX_COLUMNS, "inbox_"), strict=True)))
        .on_conflict_do_nothing(index_elements=["provider", "event_id"])
        .returning(_INBOX.c.id)
        .cte("stored")
    )
    # Only for an event not stored before; then only if the subscription is new.
    created = (
        pg_insert(_SUBSCRIPTIONS)
        .from_select(
            _SUBSCRIPTION_COLUMNS,
            select(*_binds(_SUBSCRIPTIONS, _SUBSCRIPTION_COLUMNS, "sub_")).where(
                exists(select(stored.c.id))
            ),
        )
        .on_conflict_do_nothing(index_elements=["provider_subscription_id"])
        .returning(_SUBSCRIPTIONS.c.id)
        .cte("created")
    )
    was_created = exists(select(created.c.id))
    changed = (
        insert(_CHANGES)
        .from_select(
            _CHANGE_COLUMNS,
            select(*_binds(_CHANGES, _CHANGE_COLUMNS, "change_")).where(was_created),
        )
        .cte("changed")
    )
    ctes = [changed]
    if subscribers:
        messages = [
            select(*_binds(_OUTBOX, _OUTBOX_COLUMNS, f"msg{i}_")).where(was_created)
            for i in range(subscribers)
        ]
        announced = (
            insert(_OUTBOX)
            .from_select(_OUTBOX_COLUMNS, messages[0] if subscribers == 1 else union_all(*messages))
            .cte("announced")
        )
        ctes.append(announced)
    # The one case this statement cannot finish is an event stored now for a subscription
    # that exists already: its inbox row must not go in as applied without the update
    # lifecycle would make. No plain SQL raises, so the answer divides by the number of
    # subscriptions created, zero only then: the statement fails (division_by_zero)
    # and, being one statement, leaves nothing behind. (Not a constant: PostgreSQL folds
    # those while planning, also in a branch never taken.)
    subscriptions_created = select(func.count()).select_from(created).scalar_subquery()
    one_per_creation = literal_column("1", Integer) / subscriptions_created
    statement = select(
        select(stored.c.id).scalar_subquery().label("inbox_id"),
        case((exists(select(stored.c.id)), one_per_creation)).label("stored_new"),
    ).add_cte(*ctes)
    return CompiledStatement(statement, dialect)


@functools.lru_cache(maxsize=32)
def _sqlite(dialect: Dialect, subscribers: int) -> tuple[CompiledStatement, ...]:
    def values(table: Table, columns: Sequence[str], prefix: str) -> dict[str, Any]:
        return dict(zip(columns, _binds(table, columns, prefix), strict=True))

    statements: list[ClauseElement] = [
        sqlite_insert(_INBOX)
        .values(values(_INBOX, _INBOX_COLUMNS, "inbox_"))
        .on_conflict_do_nothing(index_elements=["provider", "event_id"])
        .returning(_INBOX.c.id),
        sqlite_insert(_SUBSCRIPTIONS)
        .values(values(_SUBSCRIPTIONS, _SUBSCRIPTION_COLUMNS, "sub_"))
        .on_conflict_do_nothing(index_elements=["provider_subscription_id"])
        .returning(_SUBSCRIPTIONS.c.id),
        insert(_CHANGES).values(values(_CHANGES, _CHANGE_COLUMNS, "change_")),
    ]
    if subscribers:
        statements.append(
            insert(_OUTBOX).values(
                [values(_OUTBOX, _OUTBOX_COLUMNS, f"msg{i}_") for i in range(subscribers)]
            )
        )
    return tuple(CompiledStatement(statement, dialect) for statement in statements)


async def store_new_subscription(
    engine: AsyncEngine, inbox: dict[str, Any], new: NewSubscription
) -> Stored:
    """Store the event's inbox row (settled) with the new subscription's rows, atomically.

    ``inbox`` gives every inbox column but the key; see the module's docstring for what
    each outcome means.
    """
    params = _params(inbox, new)
    if engine.dialect.name == "sqlite":
        inline = inline_writer(engine)
        if inline is not None:
            statements = _sqlite(engine.dialect, len(new.announcements))
            stored = inline.run(
                functools.partial(_store_inline, statements=statements, params=params)
            )
            await inline.checkpoint_if_due(engine)
            if stored is not None:
                return stored
            # The file is locked (this process's write engine, or another process):
            # nothing was done; the write engine's connection waits its turn.
    async with engine.connect() as connection:
        if engine.dialect.name == "postgresql":
            return await _on_postgresql(connection, engine.dialect, params, new)
        return await _on_sqlite(connection, engine.dialect, params, new)


def _store_inline(
    connection: sqlite3.Connection, statements: Sequence[CompiledStatement], params: dict[str, Any]
) -> Stored:
    """The SQLite transaction on the inline writer's connection, without yielding.

    ``BEGIN IMMEDIATE`` fails at once when the file is locked (see
    ``services.common.inline_sqlite``); after it, the write lock is held to the end.
    """
    connection.execute("BEGIN IMMEDIATE")
    inbox, subscription, *rest = statements
    if not connection.execute(inbox.sql, inbox.arguments(params)).fetchall():
        outcome = Stored.DUPLICATE
    elif not connection.execute(subscription.sql, subscription.arguments(params)).fetchall():
        outcome = Stored.RECORDED_BEFORE
    else:
        for statement in rest:
            connection.execute(statement.sql, statement.arguments(params))
        connection.execute("COMMIT")
        return Stored.STORED
    connection.execute("ROLLBACK")
    return outcome


async def _on_postgresql(
    connection: AsyncConnection, dialect: Dialect, params: dict[str, Any], new: NewSubscription
) -> Stored:
    statement = _postgresql(dialect, len(new.announcements))
    raw = await connection.get_raw_connection()
    driver: Any = raw.driver_connection
    try:
        # Outside a transaction: the statement commits on its own, or fails whole.
        row = await driver.fetchrow(statement.sql, *statement.arguments(params))
    except asyncpg.DivisionByZeroError:
        return Stored.RECORDED_BEFORE
    return Stored.DUPLICATE if row["inbox_id"] is None else Stored.STORED


async def _on_sqlite(
    connection: AsyncConnection, dialect: Dialect, params: dict[str, Any], new: NewSubscription
) -> Stored:
    inbox, subscription, *rest = _sqlite(dialect, len(new.announcements))
    raw = await connection.get_raw_connection()
    driver: Any = raw.driver_connection
    # The connection issues no BEGIN of its own (services.common.db); taking the write
    # lock at BEGIN, as the write engine's transactions do, makes a writer of another
    # process wait on busy_timeout instead of failing.
    await driver.execute_fetchall("BEGIN IMMEDIATE")
    try:
        if not await driver.execute_fetchall(inbox.sql, inbox.arguments(params)):
            outcome = Stored.DUPLICATE
        elif not await driver.execute_fetchall(subscription.sql, subscription.arguments(params)):
            outcome = Stored.RECORDED_BEFORE
        else:
            for statement in rest:
                await driver.execute_fetchall(statement.sql, statement.arguments(params))
            await driver.execute_fetchall("COMMIT")
            return Stored.STORED
        await driver.execute_fetchall("ROLLBACK")
        return outcome
    except BaseException:
        await _roll_back_or_discard(
            connection, lambda: driver.in_transaction, lambda: driver.execute_fetchall("ROLLBACK")
        )
        raise


async def _roll_back_or_discard(
    connection: AsyncConnection,
    in_transaction: Callable[[], bool],
    rollback: Callable[[], Any],
) -> None:
    """After a failure: the transaction rolled back, or the connection closed (which rolls
    it back on the server) when even that fails. The pool's own reset would not roll
    back a transaction begun on the driver."""
    try:
        if in_transaction():
            await rollback()
    except BaseException:
        # The caller raises the failure that got us here; this one would only hide it.
        await connection.invalidate()
