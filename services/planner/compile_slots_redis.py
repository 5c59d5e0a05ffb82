"""maxConcurrentPlans counted in Redis (``PLANNER_REDIS_URL``): one round trip a slot.

An account's slots are a sorted set, ``planner:compile_slots:{account}``, one
member per running compilation, scored with its lease's expiry in the Redis
server's own milliseconds (``TIME``), so the replicas' clocks never matter. A slot
is taken by one Lua script, atomic on the server: drop the expired leases, and if
fewer than the limit remain add this one and push the key's own expiry to the
lease's end. It is given back by one ``ZREM`` of its own member, so a release that
comes after its lease ran out never frees a slot someone else took since. A
process that crashes leaves a lease that expires after PLANNER_COMPILE_LEASE_S.

When Redis fails (refused, timed out, any error), the compile goes ahead with the
process's own count as its only limit: a plan that compiles is always answered
(docs/planner_gating.md). That is logged as a warning, and Redis is left alone for
a second before one compile tries it again, so an outage costs neither a timeout
per compile nor a log line per compile.
"""

from __future__ import annotations

import structlog
from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

from services.common.ids import new_id
from services.planner.billing_client import CircuitBreaker
from services.planner.compile_slots import CompileSlots, Lease

log = structlog.get_logger("gw_stack.planner.compile_slots")

KEY_PREFIX = "planner:compile_slots:"
# Longer than this and Redis counts as down: a slot is worth less than a compile's wait.
TIMEOUT_S = 0.25
RETRY_AFTER_FAILURE_S = 1.0

# KEYS[1] the account's set; ARGV holder, limit, lease in ms. 1 taken, 0 all held.
_TAKE = """
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then
    return 0
end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[3]), ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return 1
"""


def redis_client(url: str) -> Redis:
    """A client that fails at once rather than retrying: the caller falls back."""
    return Redis.from_url(
        url,
        socket_timeout=TIMEOUT_S,
        socket_connect_timeout=TIMEOUT_S,
        retry=Retry(NoBackoff(), 0),
    )


class RedisSlots(CompileSlots):
    def __init__(self, client: Redis, *, lease_s: float, key_prefix: str = KEY_PREFIX) -> None:
        super().__init__()
        self.client = client
        self.lease_ms = max(1, round(lease_s * 1000))
        self.key_prefix = key_prefix
        self._take = client.register_script(_TAKE)  # EVALSHA, loading it when missing
        self.breaker = CircuitBreaker(failures_to_open=1, cooldown_s=RETRY_AFTER_FAILURE_S)

    async def _taken(self, account_id: str, limit: int) -> Lease | None:
        holder = new_id("lease")
        if not self.breaker.allow():
            return Lease(account_id, None, holder)  # counted in this process only
        try:
            taken = await self._take(
                keys=[self.key_prefix + account_id], args=[holder, limit, self.lease_ms]
            )
        except (RedisError, OSError) as exc:
            self._failed("acquire", exc)
            return Lease(account_id, None, holder)
        except BaseException:
            # Cancelled: no verdict on Redis, but a probe must not stay taken for good.
            self.breaker.probing = False
            raise
        self.breaker.record_success()
        return Lease(account_id, None, holder) if taken else None

    async def _give_back(self, lease: Lease) -> None:
        if self.breaker.is_open:
            return  # the lease, if Redis has it, expires on its own
        try:
            await self.client.zrem(self.key_prefix + lease.account_id, lease.holder)
        except (RedisError, OSError) as exc:
            self._failed("release", exc)

    async def _close(self) -> None:
        await self.client.aclose()

    def _failed(self, step: str, exc: BaseException) -> None:
        self.breaker.record_failure()
        log.warning(
            "compile_slots_redis_unavailable",
            step=step,
            error=type(exc).__name__,
            fallback="process_limit",
            retry_after_s=RETRY_AFTER_FAILURE_S,
        )
