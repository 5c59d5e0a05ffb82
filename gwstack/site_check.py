"""The release gate: every service's /health must say it is ok.

Every gw_stack service answers ``GET /health`` with ``{"status": "ok", "service":
<its name>, ...}`` (services/common/health.py). A service passes only with HTTP
200, ``status = "ok"`` and its own name in ``service``: another program answering
on the port, a 503 with ``status: "degraded"`` or no answer at all each fail with
one line saying so.
"""

from __future__ import annotations

from dataclasses import dataclass

import httpx


@dataclass(frozen=True, slots=True)
class Target:
    """A service to check: the name its /health reports, and its base URL."""

    service: str
    url: str


@dataclass(frozen=True, slots=True)
class Result:
    target: Target
    problem: str | None  # None: healthy
    version: str | None = None

    @property
    def ok(self) -> bool:
        return self.problem is None

    def line(self) -> str:
        where = f"{self.target.service:<16} {self.target.url.rstrip('/')}/health"
        if self.problem is None:
            version = f" (version {self.version})" if self.version else ""
            return f"ok   {where}{version}"
        return f"FAIL {where}: {self.problem}"


def check(target: Target, client: httpx.Client) -> Result:
    """One service's health, as a result with at most one reason it fails."""
    url = f"{target.url.rstrip('/')}/health"
    try:
        response = client.get(url)
    except httpx.HTTPError as exc:
        return Result(target, f"unreachable ({type(exc).__name__})")
    if response.status_code != 200:
        return Result(target, f"HTTP {response.status_code}, expected 200")
    try:
        body = response.json()
    except ValueError:
        return Result(target, "body is not JSON")
    if not isinstance(body, dict):
        return Result(target, "status=None, expected 'ok'")
    if body.get("status") != "ok":
        return Result(target, f"status={body.get('status')!r}, expected 'ok'")
    if body.get("service") != target.service:
        return Result(target, f"service={body.get('service')!r}, expected {target.service!r}")
    version = body.get("version")
    return Result(target, None, version if isinstance(version, str) else None)


def run_checks(
    targets: list[Target], *, transport: httpx.BaseTransport | None = None
) -> list[Result]:
    """Every target's result, in the order given."""
    with httpx.Client(timeout=5, transport=transport) as client:
        return [check(target, client) for target in targets]
