from __future__ import annotations

import httpx
import pytest

from gwstack.site_check import Target, run_checks

BILLING = Target("billing_api", "http://b")


def answering(status: int, body: object) -> httpx.MockTransport:
    return httpx.MockTransport(lambda request: httpx.Response(status, json=body))


def test_a_healthy_service_passes_with_one_ok_line() -> None:
    healthy = {"status": "ok", "service": "billing_api", "version": "0.1.0"}
    [result] = run_checks([BILLING], transport=answering(200, healthy))
    assert result.ok
    assert result.line() == "ok   billing_api      http://b/health (version 0.1.0)"


@pytest.mark.parametrize(
    ("status", "body", "complaint"),
    [
        (503, {"status": "degraded", "service": "billing_api"}, "HTTP 503"),
        (200, {"status": "degraded", "service": "billing_api"}, "status='degraded'"),
        (200, {"status": "ok", "service": "planner"}, "service='planner'"),
        (200, ["ok"], "status=None"),
    ],
)
def test_an_unhealthy_service_fails_with_one_clear_line(
    status: int, body: object, complaint: str
) -> None:
    [result] = run_checks([BILLING], transport=answering(status, body))
    assert not result.ok
    assert result.line().startswith("FAIL billing_api      http://b/health: ")
    assert complaint in result.line()


def test_an_unreachable_service_fails() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    [result] = run_checks([BILLING], transport=httpx.MockTransport(refuse))
    assert result.line() == "FAIL billing_api      http://b/health: unreachable (ConnectError)"


def test_every_target_gets_its_own_line_in_order() -> None:
    def health(request: httpx.Request) -> httpx.Response:
        name = {"b": "billing_api", "p": "planner", "l": "landing"}[request.url.host]
        return httpx.Response(200, json={"status": "ok", "service": name})

    targets = [BILLING, Target("planner", "http://p"), Target("landing", "http://l")]
    results = run_checks(targets, transport=httpx.MockTransport(health))
    assert [r.target.service for r in results] == ["billing_api", "planner", "landing"]
    assert all(r.ok for r in results)
