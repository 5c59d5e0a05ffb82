"""``/app``: my plans, a plan's page with its schedule, problems at their tasks, the
locked and unlocked features, limits and billing trouble — landing in process,
the planner's gated endpoints played to their contract (``planner_standin``)."""

from __future__ import annotations

import html
import json
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from services.billing_api.app import create_app as create_billing
from services.landing.app import create_app as create_landing
from services.landing.web import account_for_email
from tests.billing_api.fakes import FakeProvider
from tests.databases import SqliteTemplates
from tests.landing.planner_standin import PlannerStandIn
from tests.landing.support import LANDING, Planner, Site, landing_settings
from tests.planner.plans import document, task

EMAIL = "ada@example.com"
ACCOUNT = account_for_email(EMAIL)


@dataclass
class AppSite:
    site: Site
    planner: PlannerStandIn

    @property
    def client(self) -> httpx.AsyncClient:
        return self.site.client

    async def post(
        self, path: str, data: dict[str, Any] | None = None, **kwargs: Any
    ) -> httpx.Response:
        form = {"csrf": await self.site.csrf(), **(data or {})}
        return await self.client.post(path, data=form, **kwargs)

    async def upload(
        self,
        path: str,
        name: str,
        content: bytes,
        headers: dict[str, str] | None = None,
        **fields: str,
    ) -> httpx.Response:
        form = {"csrf": await self.site.csrf(), **fields}
        files = {"file": (name, content)}
        return await self.client.post(path, data=form, files=files, headers=headers)

    async def sample(self, **kwargs: Any) -> httpx.Response:
        return await self.post("/app/plans/sample", **kwargs)


@pytest.fixture
async def app_site(tmp_path: Path, sqlite_templates: SqliteTemplates) -> AsyncIterator[AppSite]:
    db = sqlite_templates.copy("billing_api", tmp_path / "billing.db")
    settings = landing_settings(db)
    billing = create_billing(settings, provider=FakeProvider(), run_worker=False)
    planner = PlannerStandIn(settings)
    to_billing = httpx.ASGITransport(app=billing)

    class Backends(httpx.AsyncBaseTransport):
        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            backend = planner if request.url.host == "planner.test" else to_billing
            return await backend.handle_async_request(request)

    landing = create_landing(settings, transport=Backends())
    transport = httpx.ASGITransport(app=landing)
    async with httpx.AsyncClient(
        transport=transport, base_url=LANDING, headers={"Accept-Language": "en"}
    ) as client:
        site = Site(client, billing, FakeProvider(), Planner(), settings)
        await site.sign_in(EMAIL)
        yield AppSite(site, planner)
    await billing.state.engine.dispose()
    await billing.state.read_engine.dispose()
    await landing.state.billing._http.aclose()


def bars(html: str) -> int:
    return len(re.findall(r'<rect class="bar"', html))


def chart_tasks(html: str) -> list[str]:
    """The tasks the Gantt chart draws, top to bottom."""
    chart = html.split('data-testid="gantt"', 1)[1].split("</svg>", 1)[0]
    return re.findall(r'<g class="task[^"]*" data-task="([^"]+)"', chart)


def table_tasks(html: str) -> list[str]:
    """The tasks the text table lists, top to bottom."""
    table = html.split('data-testid="task-table"', 1)[1].split("</table>", 1)[0]
    return re.findall(r'<tr data-testid="task-([^"]+)"', table)


def json_body(doc: dict[str, Any]) -> bytes:
    return json.dumps(doc).encode()


class TestFreeAccount:
    async def test_my_plans_shows_the_upgrade_prompt(self, app_site: AppSite) -> None:
        page = await app_site.client.get("/app")
        assert page.status_code == 200
        assert 'data-testid="upgrade-prompt"' in page.text
        assert "up to 200 tasks" in page.text
        assert 'data-testid="no-plans"' in page.text

    async def test_the_sample_compiles_into_a_chart_with_exports_locked(
        self, app_site: AppSite
    ) -> None:
        page = await app_site.sample()
        assert page.status_code == 200
        html = page.text
        assert 'data-testid="gantt"' in html
        assert bars(html) == 8  # ten tasks: one summary bracket, one milestone diamond
        assert html.count('class="milestone"') == 1
        assert 'class="task summary' in html
        assert 'data-testid="export-locked"' in html
        assert 'data-testid="save-locked"' in html
        assert 'data-testid="export-ics"' not in html
        assert 'data-testid="upgrade-link"' in html
        assert 'data-testid="task-research"' in html
        assert "saved" not in app_site.planner.saved  # nothing was stored

    async def test_paging_and_zoom_of_a_draft_post_it_back(self, app_site: AppSite) -> None:
        doc = document([task(f"t{i}", 1, *([f"t{i - 1}"] if i else [])) for i in range(230)])
        page = await app_site.post(
            "/app/draft", {"document": json.dumps(doc), "page": "2", "zoom": "week"}
        )
        assert page.status_code == 413  # over the free tier's 200 tasks
        assert 'data-testid="limit-tasks"' in page.text
        assert "This plan has 230 tasks; your plan allows up to 200." in page.text
        assert "A paid plan compiles plans of up to 20,000 tasks." in page.text

    async def test_the_backend_refuses_saving_and_exports_anyway(self, app_site: AppSite) -> None:
        page = await app_site.post(
            "/app/draft/save", {"document": json.dumps(document([task("a", 1)]))}
        )
        assert page.status_code == 200
        assert 'data-testid="save-locked"' in page.text
        assert app_site.planner.saved == {}
        assert "POST /v1/plans" in app_site.planner.calls


class TestPaidAccount:
    async def test_a_plan_over_200_tasks_is_paged_with_its_table(self, app_site: AppSite) -> None:
        app_site.planner.paid.add(ACCOUNT)
        chain = [task(f"t{i}", 1 + i % 3, *([f"t{i - 1}"] if i else [])) for i in range(250)]
        created = await app_site.upload("/app/plans/upload", "big.json", json_body(document(chain)))
        assert created.status_code == 303
        first = await app_site.client.get(created.headers["location"])
        assert first.status_code == 200
        assert "Tasks 1–200 of 250" in first.text
        assert 'data-page="1" data-pages="2"' in first.text
        on_page_one = [f"t{i}" for i in range(200)]
        assert chart_tasks(first.text) == table_tasks(first.text) == on_page_one
        assert 'data-testid="page-prev"' not in first.text
        path = "t0 → t1 → t2 → t3 → t4 → t5 → t6 → t7 → … → t247 → t248 → t249 (250 tasks"
        assert path in first.text
        link = re.search(r'href="([^"]+)" data-testid="page-next"', first.text)
        assert link is not None
        second = await app_site.client.get(html.unescape(link.group(1)))
        assert second.status_code == 200
        assert "Tasks 201–250 of 250" in second.text
        assert 'data-page="2" data-pages="2"' in second.text
        on_page_two = [f"t{i}" for i in range(200, 250)]
        assert chart_tasks(second.text) == table_tasks(second.text) == on_page_two
        assert 'data-testid="page-next"' not in second.text
        assert 'data-testid="page-prev"' in second.text
        # A page past the end shows the last one; an unsaved draft pages the same way.
        past = await app_site.client.get(html.unescape(link.group(1)).replace("page=2", "page=9"))
        assert table_tasks(past.text) == on_page_two
        draft = await app_site.post(
            "/app/draft", {"document": json.dumps(document(chain)), "page": "2", "zoom": "week"}
        )
        assert draft.status_code == 200
        assert chart_tasks(draft.text) == table_tasks(draft.text) == on_page_two
        assert 'data-zoom="week"' in draft.text

    async def test_the_sample_is_saved_and_exports(self, app_site: AppSite) -> None:
        app_site.planner.paid.add(ACCOUNT)
        created = await app_site.sample()
        assert created.status_code == 303
        location = created.headers["location"]
        assert re.fullmatch(r"/app/plans/pln_[0-9a-f]{16}\?notice=saved", location)
        page = await app_site.client.get(location)
        assert page.status_code == 200
        assert 'data-notice="saved"' in page.text
        assert bars(page.text) == 8
        plan_path = location.split("?")[0]
        ics = await app_site.client.get(plan_path + "/export/ics")
        assert ics.status_code == 200
        assert ics.headers["content-type"] == "text/calendar; charset=utf-8"
        assert ics.headers["content-disposition"] == 'attachment; filename="sample-launch.ics"'
        assert ics.text.count("BEGIN:VEVENT") == 10
        sheet = await app_site.client.get(plan_path + "/export/csv")
        assert sheet.text.startswith("id,name,parent,kind")

    async def test_rename_and_delete(self, app_site: AppSite) -> None:
        app_site.planner.paid.add(ACCOUNT)
        plan_path = (await app_site.sample()).headers["location"].split("?")[0]
        renamed = await app_site.post(plan_path + "/rename", {"name": "Q3 launch <b>"})
        assert renamed.headers["location"] == "/app?notice=renamed"
        listing = (await app_site.client.get("/app")).text
        assert "Q3 launch &lt;b&gt;" in listing
        assert 'data-testid="upgrade-prompt"' not in listing
        deleted = await app_site.post(plan_path + "/delete")
        assert deleted.headers["location"] == "/app?notice=deleted"
        assert 'data-testid="no-plans"' in (await app_site.client.get("/app?notice=deleted")).text

    async def test_after_a_downgrade_saved_plans_stay_readable_not_editable(
        self, app_site: AppSite
    ) -> None:
        app_site.planner.paid.add(ACCOUNT)
        plan_path = (await app_site.sample()).headers["location"].split("?")[0]
        app_site.planner.paid.clear()
        listing = (await app_site.client.get("/app")).text
        assert 'data-testid="read-only"' in listing
        assert 'data-testid="rename"' not in listing
        assert 'data-testid="delete"' in listing
        page = await app_site.client.get(plan_path)
        assert page.status_code == 200
        assert 'data-testid="export-locked"' in page.text
        refused = await app_site.client.get(plan_path + "/export/ics")
        assert refused.status_code == 403
        assert 'data-code="FEATURE_NOT_AVAILABLE"' in refused.text

    async def test_another_accounts_plan_is_not_found(self, app_site: AppSite) -> None:
        app_site.planner.paid.add(ACCOUNT)
        plan_path = (await app_site.sample()).headers["location"].split("?")[0]
        await app_site.site.sign_in("eve@example.com")
        for path in (plan_path, plan_path + "/export/ics"):
            response = await app_site.client.get(path)
            assert response.status_code == 404
            assert 'data-code="SAVED_PLAN_NOT_FOUND"' in response.text
        for hostile in ("/app/plans/..%2F..%2Fbilling", "/app/plans/a.b", "/app/plans/" + "x" * 65):
            assert (await app_site.client.get(hostile)).status_code == 404


BROKEN = document(
    [
        task("design", -2),
        task("build", 3, "design", "ghost"),
        task("a", 1, "b"),
        task("b", 1, "a"),
        task("x", 1, name="<script>alert(1)</script>"),
    ]
)


class TestProblems:
    async def test_every_problem_is_shown_at_its_task(self, app_site: AppSite) -> None:
        page = await app_site.upload("/app/plans/upload", "broken.json", json_body(BROKEN))
        assert page.status_code == 422
        html = page.text
        assert 'data-testid="problems"' in html
        assert re.search(r'data-testid="problem-design" data-code="PLAN_NEGATIVE_DURATION"', html)
        assert re.search(r'data-testid="problem-build" data-code="PLAN_UNKNOWN_DEPENDENCY"', html)
        assert "“ghost” is not a task in this plan" in html
        assert 'data-testid="problem-a" data-code="PLAN_CYCLE"' in html
        assert 'data-testid="problem-b" data-code="PLAN_CYCLE"' in html
        assert "loop: a → b → a" in html
        assert 'data-testid="problem-x"' not in html
        # Never the planner's raw answer.
        assert '"code"' not in html
        assert (
            "PLAN_INVALID" not in html.split('data-testid="problems"', 1)[1].split("</section>")[0]
        )

    async def test_in_turkish(self, app_site: AppSite) -> None:
        page = await app_site.upload(
            "/app/plans/upload", "broken.json", json_body(BROKEN), headers={"Accept-Language": "tr"}
        )
        html = page.text
        assert "Bu planda sorunlar var" in html
        assert "Süre negatif olamaz." in html
        assert "“ghost” bu planda bir görev değil" in html
        assert "döngü: a → b → a" in html

    async def test_a_task_name_is_text(self, app_site: AppSite) -> None:
        doc = document([task("x", 2, name='<script>alert(1)</script>"><img src=x>')])
        html = (await app_site.upload("/app/plans/upload", "x.json", json_body(doc))).text
        assert "<script>alert" not in html
        assert "<img src=x>" not in html
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html

    async def test_not_json_at_all(self, app_site: AppSite) -> None:
        page = await app_site.upload("/app/plans/upload", "x.json", b"{nope")
        assert page.status_code == 422
        assert "The plan is not valid JSON." in page.text

    async def test_no_file(self, app_site: AppSite) -> None:
        page = await app_site.post("/app/plans/upload")
        assert page.status_code == 422
        assert "Choose a file first." in page.text


class TestCsvUpload:
    async def test_a_task_list_opens_as_a_plan(self, app_site: AppSite) -> None:
        csv = b"id,name,duration,predecessors\nd,Design,3,\nb,Build,4,d\nl,Launch,0,b\n"
        page = await app_site.upload(
            "/app/plans/csv", "tasks.csv", csv, projectName="From a sheet", start="2027-01-04"
        )
        assert page.status_code == 200
        assert 'data-testid="plan-name">From a sheet<' in page.text
        assert bars(page.text) == 2

    async def test_bad_rows_are_named(self, app_site: AppSite) -> None:
        csv = b"id,name,duration,predecessors\nd,Design,three,\nb,Build,4,ghost\n"
        page = await app_site.upload("/app/plans/csv", "tasks.csv", csv, start="2027-01-04")
        assert page.status_code == 422
        found = re.findall(r'data-testid="csv-problem"><strong>([^<]+)</strong>', page.text)
        assert found[0].startswith("Row 2, column “duration”")

    async def test_more_rows_than_the_free_tier_allows(self, app_site: AppSite) -> None:
        rows = "".join(f"t{i},Task {i},1,\n" for i in range(201))
        csv = ("id,name,duration,predecessors\n" + rows).encode()
        page = await app_site.upload("/app/plans/csv", "big.csv", csv, start="2027-01-04")
        assert page.status_code == 413
        assert 'data-testid="csv-problems"' in page.text
        assert "201 tasks; at most 200" in page.text
        app_site.planner.paid.add(ACCOUNT)  # a paid account's file of the same rows opens
        page = await app_site.upload("/app/plans/csv", "big.csv", csv, start="2027-01-04")
        assert page.status_code == 303


class TestLimitsAndTrouble:
    async def test_billing_trouble_is_a_quiet_note(self, app_site: AppSite) -> None:
        app_site.planner.billing_ok = False
        page = await app_site.sample()
        assert page.status_code == 200
        assert 'data-testid="billing-note"' in page.text
        assert bars(page.text) == 8

    async def test_another_compile_running(self, app_site: AppSite) -> None:
        app_site.planner.busy_seconds = 3
        page = await app_site.sample()
        assert page.status_code == 429
        assert "Another plan is compiling, try again in 3 s." in page.text
        assert 'data-testid="try-again"' in page.text
        assert page.headers["retry-after"] == "3"

    @pytest.mark.parametrize(
        ("language", "words"),
        [
            ("en", "The planner is busy compiling other plans right now, try again in 2 s."),
            ("tr", "Planlayıcı şu anda başka planları derlemekle meşgul, 2 sn sonra tekrar"),
        ],
    )
    async def test_the_planners_compile_queue_is_full(
        self, app_site: AppSite, language: str, words: str
    ) -> None:
        app_site.planner.queue_full_seconds = 2
        page = await app_site.sample(headers={"Accept-Language": language})
        assert page.status_code == 503
        assert page.headers["retry-after"] == "2"
        assert 'data-testid="planner-busy" data-retry-after="2"' in page.text
        assert words in page.text
        assert 'data-testid="planner-error"' not in page.text
        # Once a turn is free, the same button compiles the plan.
        app_site.planner.queue_full_seconds = None
        form = page.text.split('data-testid="planner-busy"', 1)[1]
        document = re.search(r'name="document" value="([^"]*)"', form)
        assert document is not None
        again = await app_site.post("/app/draft", {"document": html.unescape(document.group(1))})
        assert again.status_code == 200
        assert bars(again.text) == 8

    async def test_signed_out(self, app_site: AppSite) -> None:
        app_site.client.cookies.delete("gw_session")
        response = await app_site.client.get("/app")
        assert response.status_code == 303
        assert response.headers["location"] == "/signin?next=%2Fapp"
