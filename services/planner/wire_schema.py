"""OpenAPI text for the bodies the planner reads and writes with msgspec.

The compile route reads its body itself (a 100k-task plan must not go through
pydantic), so FastAPI cannot infer the schema; it is generated here from the
same msgspec structs the engine decodes into, and merged into the app's
OpenAPI components.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import msgspec
from fastapi import FastAPI

from services.planner.engine import CompiledPlan, PlanDocument
from services.planner.engine.problems import Problem

_REF = "#/components/schemas/{name}"

(PLAN_DOCUMENT_REF, COMPILED_PLAN_REF, PROBLEM_REF), COMPONENTS = msgspec.json.schema_components(
    [PlanDocument, CompiledPlan, Problem], ref_template=_REF
)


# The request example of ``POST /v1/plan/compile``: a plan that compiles (a
# test compiles it as the OpenAPI document shows it), small enough to read,
# with a holiday, an elapsed-day task, a lag, a lead-in SS link, a milestone
# and a deadline it misses by a day, so the answer shows warnings too.
PLAN_EXAMPLE: dict[str, Any] = {
    "schemaVersion": "1.0",
    "project": {
        "id": "website",
        "name": "Website relaunch",
        "start": "2027-01-04",
        "timeZone": "Europe/Istanbul",
        "calendar": "office",
    },
    "calendars": [
        {
            "id": "office",
            "workweek": ["mon", "tue", "wed", "thu", "fri"],
            "holidays": [{"date": "2027-01-06", "name": "Company day"}],
        }
    ],
    "resources": [{"id": "alice", "name": "Alice"}],
    "tasks": [
        {
            "id": "design",
            "name": "Design",
            "duration": 5,
            "assignments": [{"resource": "alice"}],
        },
        {
            "id": "review",
            "name": "Design review",
            "duration": 3,
            "durationUnit": "ed",
            "predecessors": [{"task": "design"}],
        },
        {
            "id": "build",
            "name": "Build",
            "duration": 8,
            "predecessors": [{"task": "review", "type": "FS", "lag": 1}],
            "assignments": [{"resource": "alice"}],
        },
        {
            "id": "docs",
            "name": "Write the docs",
            "duration": 3,
            "predecessors": [{"task": "build", "type": "SS", "lag": 2}],
        },
        {
            "id": "launch",
            "name": "Launch",
            "milestone": True,
            "deadline": "2027-01-26",
            "predecessors": [{"task": "build"}, {"task": "docs"}],
        },
    ],
}


def install_wire_schemas(app: FastAPI) -> None:
    """Add the msgspec-generated components to the app's OpenAPI document."""
    generate: Callable[[], dict[str, Any]] = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = generate()
            schema.setdefault("components", {}).setdefault("schemas", {}).update(COMPONENTS)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
