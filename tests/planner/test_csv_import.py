"""CSV task lists into plan documents: the format, every bad row at its row and column,
size bounds, hostile files, and ``POST /v1/plan/from_csv``."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from typing import Any

import httpx
import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.planner.csv_import import (
    MAX_PROBLEMS,
    CsvInvalid,
    CsvTooLarge,
    Imported,
    ProjectFields,
    read_csv,
)
from services.planner.engine import PlanInvalid, compile_document, compile_plan, to_csv
from services.planner.engine.plan import CompiledPlan
from tests.planner.billing_standin import BillingStandIn
from tests.planner.support import Planners, auth

from .plans import document, plans, task

PROJECT = ProjectFields(id="imported", name="Imported", start=dt.date(2027, 1, 4), time_zone="UTC")
SAMPLE = (
    "id,name,duration,predecessors\r\n"
    "design,Design,5,\r\n"
    "build,Build,10,design\r\n"
    'review,"Review, twice",2,"build SS+3; design FS-1ed"\r\n'
    "launch,Launch,0,build;review\r\n"
)


def read(text: str | bytes, *, max_tasks: int = 1000) -> Imported:
    data = text.encode() if isinstance(text, str) else text
    return read_csv(data, PROJECT, max_tasks=max_tasks)


def problems_of(text: str | bytes) -> list[tuple[str, int | None, str | None]]:
    with pytest.raises(CsvInvalid) as caught:
        read(text)
    return [(p.code, p.details["row"], p.details["column"]) for p in caught.value.problems]


def compiled(imported: Imported) -> CompiledPlan:
    return compile_plan(msgspec.json.encode(imported.document))


class TestFormat:
    def test_a_task_list_becomes_a_plan_that_compiles(self) -> None:
        imported = read(SAMPLE)
        tasks = imported.document["tasks"]
        assert [t["id"] for t in tasks] == ["design", "build", "review", "launch"]
        assert tasks[2]["name"] == "Review, twice"
        assert tasks[2]["predecessors"] == [
            {"task": "build", "type": "SS", "lag": 3},
            {"task": "design", "type": "FS", "lag": -1, "lagUnit": "ed"},
        ]
        assert tasks[3]["predecessors"] == [{"task": "build"}, {"task": "review"}]
        assert imported.rows == (2, 3, 4, 5)
        plan = compiled(imported)
        assert plan.project.finish == "2027-01-22"
        assert plan.project.critical_path == ["design", "build", "launch"]
        assert imported.document["project"]["start"] == "2027-01-04"
        assert imported.document["calendars"][0]["workweek"] == ["mon", "tue", "wed", "thu", "fri"]

    def test_columns_in_any_order_and_case_with_optional_ones(self) -> None:
        imported = read(
            "Predecessors,NAME,Id,Duration,durationUnit,milestone,parent,deadline\n"
            ",Phase,phase,,,,,\n"
            ",Pour,pour,2,,,phase,2027-01-29\n"
            "pour FS+3ed,Cure,cure,3ed,ed,,phase,\n"
            "cure,Done,done,0,,yes,,\n"
        )
        tasks = {t["id"]: t for t in imported.document["tasks"]}
        assert "duration" not in tasks["phase"]
        assert tasks["pour"] == {
            "id": "pour",
            "name": "Pour",
            "duration": 2,
            "parent": "phase",
            "deadline": "2027-01-29",
        }
        assert tasks["cure"]["durationUnit"] == "ed"
        assert tasks["cure"]["predecessors"] == [
            {"task": "pour", "type": "FS", "lag": 3, "lagUnit": "ed"}
        ]
        assert tasks["done"]["milestone"] is True
        compiled(imported)

    def test_a_turkish_excel_file(self) -> None:
        # Excel in Turkish writes ';' between cells and a byte-order mark before them.
        text = "\ufeffid;name;duration;predecessors\r\nkazı;Kazı;3;\r\n"
        assert problems_of(text.encode()) == [("PLAN_FIELD_TYPE", 2, "id")]
        imported = read("\ufeffid;name;duration;predecessors\r\nkazi;Temel kazısı;3;\r\n".encode())
        assert imported.document["tasks"] == [{"id": "kazi", "name": "Temel kazısı", "duration": 3}]

    def test_tabs_blank_lines_and_short_rows(self) -> None:
        imported = read("id\tname\tduration\tpredecessors\n\na\tA\t1\n\nb\tB\t2\ta\n\n")
        assert [t["id"] for t in imported.document["tasks"]] == ["a", "b"]
        assert imported.rows == (3, 5)  # blank rows still count, as a spreadsheet numbers them

    def test_the_planners_own_export_imports_again(self) -> None:
        doc = document(
            [
                task("phase", None),
                task("a", 2, parent="phase", name="=SUM(A1)"),
                task("b", 3, ("a", "SS", 1), parent="phase", durationUnit="ed"),
                task("c", 0, ("b", "FF", -2, "ed"), milestone=True, name="-minus"),
            ]
        )
        source, plan = compile_document(msgspec.json.encode(doc))
        imported = read(to_csv(source, plan))
        tasks = {t["id"]: t for t in imported.document["tasks"]}
        assert tasks["a"]["name"] == "=SUM(A1)"  # the export's guarding apostrophe is gone
        assert tasks["c"]["name"] == "-minus"
        again = compiled(imported)
        assert [(t.id, t.early_start, t.early_finish) for t in again.tasks] == [
            (t.id, t.early_start, t.early_finish) for t in plan.tasks
        ]

    @settings(max_examples=40, deadline=None)
    @given(plans(summaries=True))
    def test_any_exported_plan_imports_to_the_same_schedule(self, doc: dict[str, Any]) -> None:
        try:
            source, plan = compile_document(msgspec.json.encode(doc))
        except PlanInvalid:  # summaries may close a cycle: nothing to export then
            return
        start = dt.date.fromisoformat(doc["project"]["start"])
        fields = ProjectFields(id="demo", name="Demo", start=start, time_zone="Europe/Istanbul")
        imported = read_csv(to_csv(source, plan).encode(), fields, max_tasks=100)
        # The CSV carries no calendar: compare on the document's own one.
        imported.document["calendars"] = doc["calendars"]
        again = compile_plan(msgspec.json.encode(imported.document))
        assert msgspec.structs.replace(again, stats=plan.stats) == plan


class TestProblems:
    def test_every_bad_row_at_its_row_and_column(self) -> None:
        found = problems_of(
            "id,name,duration,predecessors\n"
            ",No id,1,\n"  # row 2
            "b,B,two,\n"  # 3
            "c,C,-1,\n"  # 4
            "d,D,1,b XX+\n"  # 5
            "e,,1,\n"  # 6
            "f,F,1.5,\n"  # 7
            "g,G,1,b,c,d,e,f\n"  # 8: a predecessor list not quoted is too many cells
            "h h,H,1,\n"  # 9
        )
        assert found == [
            ("PLAN_FIELD_REQUIRED", 2, "id"),
            ("PLAN_FIELD_TYPE", 3, "duration"),
            ("PLAN_NEGATIVE_DURATION", 4, "duration"),
            ("PLAN_CSV_PREDECESSOR", 5, "predecessors"),
            ("PLAN_FIELD_REQUIRED", 6, "name"),
            ("PLAN_FIELD_TYPE", 7, "duration"),
            ("PLAN_CSV_ROW_LENGTH", 8, None),
            ("PLAN_FIELD_TYPE", 9, "id"),
        ]

    def test_header_problems(self) -> None:
        assert problems_of("id,title,duration,predecesors,duration\na,A,1,,\n") == [
            ("PLAN_CSV_UNKNOWN_COLUMN", 1, "title"),
            ("PLAN_CSV_UNKNOWN_COLUMN", 1, "predecesors"),
            ("PLAN_CSV_DUPLICATE_COLUMN", 1, "duration"),
            ("PLAN_CSV_MISSING_COLUMN", 1, "name"),
        ]

    @pytest.mark.parametrize(
        ("text", "code"),
        [
            ("", "PLAN_CSV_EMPTY"),
            ("id,name,duration\n", "PLAN_CSV_EMPTY"),
            ("id,name,duration\n\n,,\n", "PLAN_CSV_EMPTY"),
            ('id,name,duration\na,"unclosed,1\n', "PLAN_CSV_UNREADABLE"),
            ('id,name,duration\na,"A"x,1\n', "PLAN_CSV_UNREADABLE"),
        ],
    )
    def test_files_that_are_not_task_lists(self, text: str, code: str) -> None:
        assert [c for c, _, _ in problems_of(text)] == [code]

    def test_not_utf8_names_the_row(self) -> None:
        data = "id,name,duration\na,A,1\nb,Ç,1\n".encode("cp1254")
        problem = problems_of(data)
        assert problem == [("PLAN_CSV_UNREADABLE", 3, None)]

    def test_many_problems_stop_at_the_limit(self) -> None:
        rows = "".join(f"t{i},T,x\n" for i in range(MAX_PROBLEMS + 50))
        with pytest.raises(CsvInvalid) as caught:
            read("id,name,duration\n" + rows)
        assert len(caught.value.problems) == MAX_PROBLEMS
        assert caught.value.truncated

    def test_more_rows_than_allowed(self) -> None:
        rows = "".join(f"t{i},T,1\n" for i in range(12))
        with pytest.raises(CsvTooLarge) as caught:
            read("id,name,duration\n" + rows, max_tasks=10)
        assert caught.value.problem.details == {"tasks": 12, "maxTasks": 10}

    @settings(max_examples=150, deadline=None)
    @given(st.binary(max_size=400) | st.text(alphabet="id,nam;e\t\"'\r\n x1-+FS", max_size=200))
    def test_any_bytes_are_a_document_or_coded_problems(self, data: bytes | str) -> None:
        raw = data.encode() if isinstance(data, str) else data
        problems = []
        try:
            msgspec.json.encode(read_csv(raw, PROJECT, max_tasks=50).document)
        except CsvInvalid as exc:
            problems = exc.problems
            assert problems
        except CsvTooLarge:
            pass
        for p in problems:
            assert p.code.startswith("PLAN_")
            assert "row" in p.details


URL = "/v1/plan/from_csv"
QUERY = {"start": "2027-01-04", "projectName": "Launch", "timeZone": "Europe/Istanbul"}


@pytest.fixture
async def client(planners: Planners) -> AsyncIterator[httpx.AsyncClient]:
    async with planners(planner_max_body_bytes=20_000, planner_max_tasks=50) as c:
        c.headers.update({**auth("acc_alice"), "Content-Type": "text/csv"})
        yield c


class TestRoute:
    async def test_answers_the_document(self, client: httpx.AsyncClient) -> None:
        response = await client.post(URL, params=QUERY, content=SAMPLE)
        assert response.status_code == 200
        body = response.json()
        assert body["ok"] is True
        assert body["stats"] == {"tasks": 4, "dependencies": 5}
        assert body["document"]["project"] == {
            "id": "imported",
            "name": "Launch",
            "start": "2027-01-04",
            "timeZone": "Europe/Istanbul",
            "calendar": "std",
        }
        compiled_ = await client.post(
            "/v1/plan/compile",
            content=msgspec.json.encode(body["document"]),
            headers={"Content-Type": "application/json"},
        )
        assert compiled_.status_code == 200

    async def test_plan_problems_come_back_at_their_rows(self, client: httpx.AsyncClient) -> None:
        text = (
            "id,name,duration,predecessors\n"
            "a,A,1,c\n"  # row 2: a -> b -> c -> a
            "b,B,1,a\n"
            "c,C,1,b\n"
            "d,D,1,ghost\n"  # row 5
            "a,Again,1,\n"  # row 6
            "e,E,1,e\n"  # row 7
        )
        response = await client.post(URL, params=QUERY, content=text)
        assert response.status_code == 422
        body = response.json()
        assert body["error"]["code"] == "PLAN_INVALID"
        found = {(e["code"], e["details"]["row"], e["details"]["column"]) for e in body["errors"]}
        assert ("PLAN_UNKNOWN_DEPENDENCY", 5, "predecessors") in found
        assert ("PLAN_DUPLICATE_ID", 6, "id") in found
        assert ("PLAN_SELF_DEPENDENCY", 7, "predecessors") in found
        assert any(code == "PLAN_CYCLE" for code, _, _ in found)

    async def test_a_time_zone_problem_has_no_row(self, client: httpx.AsyncClient) -> None:
        query = {**QUERY, "timeZone": "Mars/Olympus"}
        response = await client.post(URL, params=query, content=SAMPLE)
        assert response.status_code == 422
        [problem] = response.json()["errors"]
        assert problem["code"] == "PLAN_UNKNOWN_TIMEZONE"
        assert (problem["details"]["row"], problem["path"]) == (None, "/project/timeZone")

    async def test_messages_in_turkish(self, client: httpx.AsyncClient) -> None:
        response = await client.post(
            URL, params=QUERY, content="id,name\n,x\n", headers={"Accept-Language": "tr"}
        )
        assert response.json()["error"]["message"] == "Planda sorunlar var; hata listesine bakın."

    async def test_needs_a_token(self, client: httpx.AsyncClient) -> None:
        response = await client.post(
            URL, params=QUERY, content=SAMPLE, headers={"Authorization": ""}
        )
        assert response.status_code == 401

    @pytest.mark.parametrize(
        "query",
        [
            {},
            {"start": "2027-02-30"},
            {**QUERY, "projectName": ""},
            {**QUERY, "timeZone": "x" * 65},
        ],
    )
    async def test_bad_query(self, client: httpx.AsyncClient, query: dict[str, str]) -> None:
        response = await client.post(URL, params=query, content=SAMPLE)
        assert response.status_code == 422
        assert response.json()["error"]["code"] == "VALIDATION_ERROR"

    async def test_size_bounds(self, client: httpx.AsyncClient) -> None:
        rows = "".join(f"t{i},T,1\n" for i in range(51))
        response = await client.post(URL, params=QUERY, content="id,name,duration\n" + rows)
        assert response.status_code == 413
        body = response.json()
        assert body["error"]["code"] == "PLAN_TOO_LARGE"
        assert body["errors"][0]["details"] == {"tasks": 51, "maxTasks": 50}
        response = await client.post(URL, params=QUERY, content="x" * 20_001)
        assert response.status_code == 413
        assert response.json()["error"]["code"] == "PAYLOAD_TOO_LARGE"

    async def test_the_tiers_task_limit_applies_as_when_compiling(
        self, planners: Planners, billing: BillingStandIn
    ) -> None:
        rows = "id,name,duration\n" + "".join(f"t{i},T,1\n" for i in range(201))
        headers = {**auth("acc_alice"), "Content-Type": "text/csv"}
        async with planners(planner_access_refresh_s=0) as c:
            free = await c.post(URL, params=QUERY, content=rows, headers=headers)
            assert free.status_code == 413
            assert free.json()["error"]["code"] == "PLAN_TOO_LARGE"
            assert free.json()["errors"][0]["details"] == {"tasks": 201, "maxTasks": 200}
            big = msgspec.json.encode(document([task(f"t{i}", 1) for i in range(201)]))
            compiled = await c.post("/v1/plan/compile", content=big, headers=auth("acc_alice"))
            assert compiled.status_code == 413  # the same limit, the same answer
            billing.statuses["acc_alice"] = "active"
            paid = await c.post(URL, params=QUERY, content=rows, headers=headers)
            assert paid.status_code == 200, paid.text
            assert paid.json()["stats"]["tasks"] == 201

    async def test_a_huge_cell_is_a_coded_problem(self, planners: Planners) -> None:
        async with planners(planner_max_body_bytes=400_000) as c:
            text = "id,name,duration\na," + "n" * 200_000 + ",1\n"
            response = await c.post(URL, params=QUERY, content=text, headers=auth("acc_alice"))
        assert response.status_code == 422
        assert response.json()["errors"][0]["code"] == "PLAN_CSV_UNREADABLE"
