"""Sound plans against the planner's OpenAPI document: the 200 answers that random,
schema-shaped documents almost never reach. (The planner is fuzzed with every check,
on both databases, in tests/hostile/test_contract_fuzz.py.)"""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path
from typing import Any

import msgspec
import schemathesis
from hypothesis import HealthCheck, given, settings

from services.common.auth import mint_token
from services.common.migrate import upgrade
from services.planner.app import create_app
from services.planner.engine import compile_document, to_csv
from tests.planner.billing_standin import BillingStandIn
from tests.planner.support import planner_settings

from .plans import plans

# One app for the module, on SQLite (compiling reads no database); the account is paid.
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
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)


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
