"""Fuzz the planner against its own OpenAPI document: no 5xx, no undocumented status,
responses that match their schemas — with a valid token, so the fuzzing reaches the compiler."""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path
from typing import Any

import msgspec
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.specs.openapi.checks import negative_data_rejection, positive_data_acceptance

from services.common.auth import mint_token
from services.common.migrate import upgrade
from services.planner.app import create_app
from services.planner.engine import compile_document, to_csv
from tests.planner.billing_standin import BillingStandIn
from tests.planner.support import planner_settings

from .plans import plans

# Loaded at import, as schemathesis collects one test per operation from the schema.
# The account is paid, so the fuzzing reaches saving and exporting too.
_DATABASE = Path(tempfile.mkdtemp(prefix="gw-fuzz-")) / "planner.db"
_URL = f"sqlite+aiosqlite:///{_DATABASE}"
asyncio.run(upgrade("planner", _URL))
_SETTINGS = planner_settings(_URL)
_HEADERS = {"Authorization": f"Bearer {mint_token('acc_fuzz', _SETTINGS)}"}
_BILLING = BillingStandIn(statuses={"acc_fuzz": "active"})
schema = schemathesis.openapi.from_asgi(
    "/openapi.json", create_app(_SETTINGS, billing_transport=_BILLING.transport())
)
_FUZZ = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)


# Generating plan documents is most of the time here; one route is fuzzed with many of
# them and the other routes that read a plan body with a few.
_MORE_PLAN_BODIES = r"^/v1/(plan/compile_with_access_preview|plans(/\{planId\})?)$"
_NOT_CHECKED = [
    # Schema-valid is not always acceptable: JSON Schema cannot say that a link
    # names a task of the same plan, that a time zone exists or that there is
    # no cycle, so a well-shaped plan may still get a documented 422.
    positive_data_acceptance,
    # An unknown query parameter is ignored, as HTTP APIs do; every wrong-typed
    # or out-of-range known one is still a coded 4xx (and a 5xx always fails).
    negative_data_rejection,
]


@schema.exclude(path_regex=_MORE_PLAN_BODIES, method=["POST", "PUT"]).parametrize()
@_FUZZ
def test_planner_honours_its_contract(case: Any) -> None:
    case.call_and_validate(headers=_HEADERS, excluded_checks=_NOT_CHECKED)


@schema.include(path_regex=_MORE_PLAN_BODIES, method=["POST", "PUT"]).parametrize()
# Generated bodies only: the coverage phase's many fixed cases are what the first test runs.
@settings(_FUZZ, max_examples=10, phases=[Phase.generate])
def test_the_other_plan_routes_honour_their_contract(case: Any) -> None:
    case.call_and_validate(headers=_HEADERS, excluded_checks=_NOT_CHECKED)


@_FUZZ
@given(plans(deadlines=True, resources=True))
def test_a_sound_plan_compiles_to_the_documented_schedule(doc: dict[str, Any]) -> None:
    # Schema-shaped random documents almost never reference each other
    # correctly, so the 200 answer gets its own sound plans: with deadlines,
    # elapsed days and over-allocated resources, every part of the schedule.
    case = schema["/v1/plan/compile"]["POST"].Case(body=doc, media_type="application/json")
    response = case.call_and_validate(headers=_HEADERS)
    assert response.status_code == 200


@_FUZZ
@given(plans(deadlines=True))
def test_a_sound_csv_imports_to_the_documented_document(doc: dict[str, Any]) -> None:
    # Random strings are never task lists; the 200 answer gets the planner's own exports.
    source, compiled = compile_document(msgspec.json.encode(doc))
    case = schema["/v1/plan/from_csv"]["POST"].Case(
        body=to_csv(source, compiled),
        media_type="text/csv",
        query={"start": doc["project"]["start"]},
    )
    response = case.call_and_validate(headers=_HEADERS)
    assert response.status_code == 200
    assert len(response.json()["document"]["tasks"]) == len(doc["tasks"])
