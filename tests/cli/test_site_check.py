from __future__ import annotations

import httpx
import pytest

from gwstack.site_check import run_checks


def answering(status: int, body: object) -> httpx.MockTransport:
    return httpx.MockTransport(lambda request: httpx.Response(status, json=body))


def test_healthy_billing_passes() -> None:
    healthy = {"status": "ok", "service": "billing_api"}
    assert run_checks(billing_url="http://b", transport=answering(200, healthy)) == []


@pytest.mark.parametrize(
    ("status", "body", "complaint"),
    [
        (503, {"status": "degraded", "service": "billing_api"}, "HTTP 503"),
        (200, {"status": "degraded", "service": "billing_api"}, "status='degraded'"),
        (200, {"status": "ok", "service": "planner"}, "service='planner'"),
        (200, ["ok"], "status=None"),
    ],
)
def test_unhealthy_billing_fails_with_one_clear_line(
    status: int, body: object, complaint: str
) -> None:
    failures = run_checks(billing_url="http://b", transport=answering(status, body))
    assert len(failures) == 1
    assert failures[0].startswith("billing_api http://b/health")
    assert complaint in failures[0]


def test_unreachable_billing_fails() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    failures = run_checks(billing_url="http://b", transport=httpx.MockTransport(refuse))
    assert failures == ["billing_api http://b/health: unreachable (ConnectError)"]
