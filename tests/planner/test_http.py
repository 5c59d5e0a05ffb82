"""``POST /v1/plan/compile`` over HTTP, in process."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import msgspec
import pytest

from tests.planner.support import Planners
from tests.planner.support import auth as headers_for

from .plans import document, task

URL = "/v1/plan/compile"


@pytest.fixture
async def client(planners: Planners) -> AsyncIterator[httpx.AsyncClient]:
    async with planners(planner_max_body_bytes=20_000, planner_max_tasks=50) as c:
        yield c


@pytest.fixture
def auth() -> dict[str, str]:
    return headers_for("acc_alice")


class TestCompile:
    async def test_compiles(self, client: httpx.AsyncClient, auth: dict[str, str]) -> None:
        doc = document([task("design", 7), task("build", 10, "design")])
        response = await client.post(URL, content=msgspec.json.encode(doc), headers=auth)
        assert response.status_code == 200
        body = response.json()
        assert body["ok"] is True
        assert body["plan"]["project"]["finish"] == "2027-01-26"
        assert body["plan"]["tasks"][1]["earlyStart"] == "2027-01-13"

    async def test_needs_a_token(self, client: httpx.AsyncClient) -> None:
        response = await client.post(URL, content=b"{}")
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "UNAUTHENTICATED"

    async def test_invalid_plan_lists_every_problem(
        self, client: httpx.AsyncClient, auth: dict[str, str]
    ) -> None:
        doc = document([task("a", -1), task("b", 1, "ghost")])
        response = await client.post(URL, content=msgspec.json.encode(doc), headers=auth)
        assert response.status_code == 422
        body = response.json()
        assert body["ok"] is False
        assert body["error"]["code"] == "PLAN_INVALID"
        assert body["error"]["requestId"] == response.headers["x-request-id"]
        assert [(e["code"], e["path"]) for e in body["errors"]] == [
            ("PLAN_NEGATIVE_DURATION", "/tasks/0/duration"),
            ("PLAN_UNKNOWN_DEPENDENCY", "/tasks/1/predecessors/0/task"),
        ]

    async def test_unparseable_json(self, client: httpx.AsyncClient, auth: dict[str, str]) -> None:
        response = await client.post(URL, content=b'{"tasks": [', headers=auth)
        assert response.status_code == 400
        body = response.json()
        assert (body["ok"], body["error"]["code"], body["errors"]) == (
            False,
            "PLAN_INVALID_JSON",
            [],
        )

    @pytest.mark.parametrize(
        ("language", "message"),
        [
            ("en", "The plan is not valid JSON (line 3, column 13)."),
            ("tr-TR,tr;q=0.9", "Plan geçerli bir JSON değil (satır 3, sütun 13)."),
        ],
    )
    async def test_unparseable_json_says_where(
        self, client: httpx.AsyncClient, auth: dict[str, str], language: str, message: str
    ) -> None:
        body = b'{\n  "schemaVersion": "1.0",\n  "tasks": [}\n}'
        headers = {**auth, "Accept-Language": language}
        response = await client.post(URL, content=body, headers=headers)
        assert response.status_code == 400
        error = response.json()["error"]
        assert error["message"] == message
        assert (error["details"]["line"], error["details"]["column"]) == (3, 13)

    @pytest.mark.parametrize(
        ("language", "message"),
        [
            (
                "en-GB",
                "Task 'a' finishes on 2027-01-08, 2 working days after its deadline of 2027-01-06.",
            ),
            (
                "tr",
                "'a' görevi 2027-01-08 tarihinde bitiyor: "
                "son tarih olan 2027-01-06 tarihinden 2 iş günü sonra.",
            ),
        ],
    )
    async def test_warnings_speak_the_request_language(
        self, client: httpx.AsyncClient, auth: dict[str, str], language: str, message: str
    ) -> None:
        doc = document([task("a", 5, deadline="2027-01-06")])
        headers = {**auth, "Accept-Language": language}
        response = await client.post(URL, content=msgspec.json.encode(doc), headers=headers)
        missed, negative = response.json()["plan"]["warnings"]
        assert (missed["code"], missed["message"]) == ("SCHED_DEADLINE_MISSED", message)
        assert negative["code"] == "SCHED_NEGATIVE_FLOAT"
        assert negative["message"]

    @pytest.mark.parametrize("body", [b"5 x", b'{"schemaVersion": "\xff"}'])
    async def test_malformed_json_found_past_a_wrong_type_is_still_400(
        self, client: httpx.AsyncClient, auth: dict[str, str], body: bytes
    ) -> None:
        # Found by schemathesis: these used to escape as a 500.
        response = await client.post(URL, content=body, headers=auth)
        assert response.status_code == 400
        assert response.json()["error"]["code"] == "PLAN_INVALID_JSON"

    async def test_body_over_the_limit(
        self, client: httpx.AsyncClient, auth: dict[str, str]
    ) -> None:
        response = await client.post(URL, content=b" " * 20_001, headers=auth)
        assert response.status_code == 413
        assert response.json()["error"]["code"] == "PAYLOAD_TOO_LARGE"

    async def test_too_many_tasks(self, client: httpx.AsyncClient, auth: dict[str, str]) -> None:
        doc = document([task(f"t{i}", 1) for i in range(51)])
        response = await client.post(URL, content=msgspec.json.encode(doc), headers=auth)
        assert response.status_code == 413
        body = response.json()
        assert body["error"]["code"] == "PLAN_TOO_LARGE"
        assert body["errors"][0]["details"] == {"tasks": 51, "maxTasks": 50}


class TestDocs:
    async def test_openapi_shows_the_plan_schema(self, client: httpx.AsyncClient) -> None:
        spec = (await client.get("/openapi.json")).json()
        operation = spec["paths"][URL]["post"]
        body_schema = operation["requestBody"]["content"]["application/json"]["schema"]
        assert body_schema == {"$ref": "#/components/schemas/PlanDocument"}
        assert "Task" in spec["components"]["schemas"]
        assert "critical-path schedule" in operation["description"]
        assert {"200", "400", "401", "413", "422"} <= set(operation["responses"])

    async def test_the_example_is_a_plan_that_compiles(
        self, client: httpx.AsyncClient, auth: dict[str, str]
    ) -> None:
        # The example as a reader of /docs copies it, into the real route.
        spec = (await client.get("/openapi.json")).json()
        operation = spec["paths"][URL]["post"]
        example = operation["requestBody"]["content"]["application/json"]["example"]
        response = await client.post(URL, json=example, headers=auth)
        assert response.status_code == 200, response.text
        plan = response.json()["plan"]
        assert plan["project"]["criticalPath"] == ["design", "review", "build", "launch"]
        assert [w["code"] for w in plan["warnings"]] == [
            "SCHED_DEADLINE_MISSED",
            "SCHED_NEGATIVE_FLOAT",
        ]
        # The documented answer is this example's real answer, but for the timing.
        shown = operation["responses"]["200"]["content"]["application/json"]["example"]
        plan["stats"]["compileMs"] = shown["plan"]["stats"]["compileMs"]
        assert shown == {"ok": True, "plan": plan}

    async def test_health(self, client: httpx.AsyncClient) -> None:
        body = (await client.get("/health")).json()
        assert (body["status"], body["service"]) == ("ok", "planner")
