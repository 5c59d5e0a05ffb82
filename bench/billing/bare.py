"""The bare app: FastAPI answering billing_api's JSON for the seeded account as a constant.

What the framework, the server and the load generator cost with no work at all;
billing_api's ratio to it is the longer goal. It also accepts the billing events
billing_api's outbox delivers during the ingest run, so those land somewhere cheap.
"""

from __future__ import annotations

import json
import os
from typing import Any

from fastapi import FastAPI, Response

# The harness reads billing_api's answer first and hands it over unchanged.
ANSWER: dict[str, Any] = json.loads(os.environ.get("BENCH_ANSWER", "{}"))

app = FastAPI()


@app.get("/api/billing/subscription")
async def subscription() -> dict[str, Any]:
    return ANSWER


@app.post("/events", status_code=204)
async def events() -> Response:
    return Response(status_code=204)
