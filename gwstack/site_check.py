"""The release gate: every service's /health must say it is ok."""

from __future__ import annotations

import httpx


def _get_health(name: str, url: str, client: httpx.Client) -> httpx.Response | str:
    """The 200 answer of ``{url}/health``, or the line saying why there is none."""
    try:
        response = client.get(f"{url.rstrip('/')}/health")
    except httpx.HTTPError as exc:
        return f"{name} {url}/health: unreachable ({type(exc).__name__})"
    if response.status_code != 200:
        return f"{name} {url}/health: HTTP {response.status_code}, expected 200"
    return response


def check_billing(url: str, client: httpx.Client) -> str | None:
    """None when billing_api is healthy, else one line saying what is wrong."""
    response = _get_health("billing_api", url, client)
    if isinstance(response, str):
        return response
    try:
        body = response.json()
    except ValueError:
        return f"billing_api {url}/health: body is not JSON"
    if not isinstance(body, dict) or body.get("status") != "ok":
        status = body.get("status") if isinstance(body, dict) else None
        return f"billing_api {url}/health: status={status!r}, expected 'ok'"
    if body.get("service") != "billing_api":
        return f"billing_api {url}/health: service={body.get('service')!r}, expected 'billing_api'"
    return None


def check_generic(name: str, url: str, client: httpx.Client) -> str | None:
    response = _get_health(name, url, client)
    return response if isinstance(response, str) else None


def run_checks(
    *,
    billing_url: str,
    planner_url: str | None = None,
    landing_url: str | None = None,
    transport: httpx.BaseTransport | None = None,
) -> list[str]:
    """One line per failing check; empty when the release may pass."""
    failures: list[str] = []
    with httpx.Client(timeout=5, transport=transport) as client:
        if (line := check_billing(billing_url, client)) is not None:
            failures.append(line)
        for name, url in (("planner", planner_url), ("landing", landing_url)):
            if url and (line := check_generic(name, url, client)) is not None:
                failures.append(line)
    return failures
