"""Fuzz the planner against its own OpenAPI document: no 5xx, no undocumented status,
responses that match their schemas — with a valid token, so the fuzzing reaches the compiler."""

from __future__ import annotations

from typing import Any

import msgspec
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from services.common.auth import mint_token
from services.common.settings import Settings
from services.planner.app import create_app
from services.planner.engine import compile_document, to_csv

from .plans import plans

# Loaded at import, as schemathesis collects one test per operation from the schema.
_SETTINGS = Settings(_env_file=None, gw_env="test")  # type: ignore[call-arg]
_HEADERS = {"Authorization": f"Bearer {mint_token('acc_fuzz', _SETTINGS)}"}
schema = schemathesis.openapi.from_asgi("/openapi.json", create_app(_SETTINGS))
_FUZZ = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)


@schema.parametrize()
@_FUZZ
def test_planner_honours_its_contract(case: Any) -> None:
    # Schema-valid is not always acceptable: JSON Schema cannot say that a link
    # names a task of the same plan, that a time zone exists or that there is
    # no cycle, so a well-shaped plan may still get a documented 422.
    case.call_and_validate(headers=_HEADERS, excluded_checks=[positive_data_acceptance])


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
