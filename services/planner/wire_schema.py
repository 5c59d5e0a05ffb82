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
