"""Idempotency-Key handling for POST endpoints, safe across replicas.

A key is claimed by inserting its row (the primary key makes exactly one
claimant win, on SQLite and PostgreSQL alike). The winner runs the operation and
stores the answer in the same transaction as the operation's own writes, so a
key is never "completed" without its effects nor the reverse. A holder that
crashes leaves a lease that expires; the next request with the key takes over.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.billing_api.models import IdempotencyKey, IdempotencyState
from services.common.error_codes import ErrorCode
from services.common.errors import AppError
from services.common.types import utcnow

LEASE = timedelta(seconds=30)
WAIT_FOR_HOLDER_SECONDS = 5.0
_POLL_SECONDS = 0.05
MAX_KEY_LENGTH = 255


@dataclass(frozen=True)
class StoredAnswer:
    status: int
    body: dict[str, Any]


def request_fingerprint(route: str, payload: dict[str, Any]) -> str:
    canonical = json.dumps([route, payload], sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def check_key(key: str) -> None:
    if not (1 <= len(key) <= MAX_KEY_LENGTH) or not key.isprintable() or key.strip() != key:
        raise AppError(ErrorCode.IDEMPOTENCY_KEY_INVALID)


async def run_once(
    maker: async_sessionmaker[AsyncSession],
    *,
    account_id: str,
    key: str,
    fingerprint: str,
    ttl: timedelta,
    prepare: Callable[[], Awaitable[Any]],
    finish: Callable[[AsyncSession, Any], Awaitable[StoredAnswer]],
) -> StoredAnswer:
    """Run ``prepare`` (side effects outside our database, e.g. the provider call) and
    ``finish`` (our writes, committed with the stored answer) at most once per key.

    Errors raised by either release the key: nothing was recorded, so a retry may run.
    """
    check_key(key)
    replay = await _claim(maker, account_id, key, fingerprint, ttl)
    if replay is not None:
        return replay
    try:
        prepared = await prepare()
        async with maker() as session, session.begin():
            answer = await finish(session, prepared)
            await session.execute(
                update(IdempotencyKey)
                .where(IdempotencyKey.account_id == account_id, IdempotencyKey.key == key)
                .values(
                    state=IdempotencyState.COMPLETED,
                    response_status=answer.status,
                    response_body=json.dumps(answer.body),
                )
            )
        return answer
    except BaseException:
        await _release(maker, account_id, key)
        raise


async def _claim(
    maker: async_sessionmaker[AsyncSession],
    account_id: str,
    key: str,
    fingerprint: str,
    ttl: timedelta,
) -> StoredAnswer | None:
    """None when we now hold the key; the stored answer when it was already completed."""
    deadline = asyncio.get_running_loop().time() + WAIT_FOR_HOLDER_SECONDS
    while True:
        now = utcnow()
        try:
            async with maker() as session, session.begin():
                await session.execute(
                    delete(IdempotencyKey).where(
                        IdempotencyKey.account_id == account_id,
                        IdempotencyKey.key == key,
                        IdempotencyKey.expires_at < now,
                    )
                )
                session.add(
                    IdempotencyKey(
                        account_id=account_id,
                        key=key,
                        request_hash=fingerprint,
                        state=IdempotencyState.IN_PROGRESS,
                        locked_until=now + LEASE,
                        created_at=now,
                        expires_at=now + ttl,
                    )
                )
            return None
        except IntegrityError:
            pass  # someone holds or held the key: look at what they left

        async with maker() as session:
            row = await session.scalar(
                select(IdempotencyKey).where(
                    IdempotencyKey.account_id == account_id, IdempotencyKey.key == key
                )
            )
        if row is None:
            continue  # released or expired between our insert and our read
        if row.request_hash != fingerprint:
            raise AppError(ErrorCode.IDEMPOTENCY_KEY_REUSED)
        if row.state == IdempotencyState.COMPLETED:
            assert row.response_status is not None
            assert row.response_body is not None
            return StoredAnswer(row.response_status, json.loads(row.response_body))
        if row.locked_until < now and await _take_over(maker, row):
            return None
        if asyncio.get_running_loop().time() >= deadline:
            raise AppError(ErrorCode.IDEMPOTENCY_KEY_IN_PROGRESS, headers={"Retry-After": "1"})
        await asyncio.sleep(_POLL_SECONDS)


async def _take_over(maker: async_sessionmaker[AsyncSession], row: IdempotencyKey) -> bool:
    """Compare-and-set on the lease, so exactly one waiter inherits a crashed holder's key."""
    async with maker() as session, session.begin():
        result = await session.execute(
            update(IdempotencyKey)
            .where(
                IdempotencyKey.account_id == row.account_id,
                IdempotencyKey.key == row.key,
                IdempotencyKey.state == IdempotencyState.IN_PROGRESS,
                IdempotencyKey.locked_until == row.locked_until,
            )
            .values(locked_until=utcnow() + LEASE)
        )
    return bool(getattr(result, "rowcount", 0) == 1)


async def _release(maker: async_sessionmaker[AsyncSession], account_id: str, key: str) -> None:
    async with maker() as session, session.begin():
        await session.execute(
            delete(IdempotencyKey).where(
                IdempotencyKey.account_id == account_id,
                IdempotencyKey.key == key,
                IdempotencyKey.state == IdempotencyState.IN_PROGRESS,
            )
        )
