"""The planner in a real browser, on the real stack (landing, planner, billing_api and
the sandbox as processes): a free account meets its limits, pays with 4242 and, without
signing out, saves, exports and pages through a 250-task plan — on SQLite and on
PostgreSQL; an invalid plan shows its problems at its tasks; Turkish, English and a
phone's width. Screenshots of each result go to tests/artifacts/."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page

from tests.e2e.browser import shot
from tests.e2e.stack import Stack
from tests.planner.plans import document, task

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

# Hostile and broken on purpose: a negative duration, a missing predecessor, a loop.
BROKEN = document(
    [
        task("design", -2, name="Tasarım"),
        task("build", 3, "design", "ghost", name="Geliştirme"),
        task("review", 1, "qa", name="Gözden geçirme"),
        task("qa", 1, "review", name="Test"),
        task("launch", 0, "build", name="<script>alert(1)</script>", milestone=True),
    ]
)


@pytest.fixture(scope="module")
def app_stack(full_stack: Stack) -> Stack:
    return full_stack


@pytest.fixture
def paying_stack(backend: str, request: pytest.FixtureRequest) -> Stack:
    """The main scenario's stack: on SQLite, and on PostgreSQL as in production."""
    stack = request.getfixturevalue("full_stack" if backend == "sqlite" else "full_stack_postgres")
    assert isinstance(stack, Stack)
    return stack


def open_page(browser: Browser, locale: str, width: int = 1280, height: int = 900) -> Page:
    context = browser.new_context(
        locale=locale, viewport={"width": width, "height": height}, accept_downloads=True
    )
    return context.new_page()


def sign_in(page: Page, landing: str, email: str) -> None:
    page.goto(f"{landing}/signin?next=/app")
    page.fill("#email", email)
    page.get_by_test_id("signin-submit").click()
    page.wait_for_url(f"{landing}/app")


def chart_tasks(page: Page) -> list[str]:
    """The tasks the Gantt chart draws, top to bottom."""
    found = page.locator("[data-testid=gantt] g.task").evaluate_all(
        "groups => groups.map(g => g.dataset.task)"
    )
    return [str(task_id) for task_id in found]


def table_tasks(page: Page) -> list[str]:
    """The tasks the text table lists, top to bottom."""
    found = page.locator("[data-testid=task-table] tbody tr").evaluate_all(
        "rows => rows.map(r => r.dataset.testid.slice('task-'.length))"
    )
    return [str(task_id) for task_id in found]


def test_free_then_paid(
    browser: Browser, paying_stack: Stack, backend: str, tmp_path: Path
) -> None:
    app_stack = paying_stack
    # The screenshots are taken on one backend; the other checks the same steps.
    shot_here = shot if backend == "sqlite" else lambda *args, **kwargs: None
    landing = app_stack.env["LANDING_BASE_URL"]
    page = open_page(browser, "en-US")
    sign_in(page, landing, f"free-{time.time_ns()}@example.com")
    assert page.get_by_test_id("upgrade-prompt").is_visible()
    shot_here(page, "app_my_plans_free_en.png")

    # Free: the sample compiles and is drawn; saving and exports are locked.
    page.get_by_test_id("open-sample").click()
    page.get_by_test_id("gantt").wait_for()
    assert page.locator("[data-testid=gantt] rect.bar").count() == 8
    assert page.locator("[data-testid=gantt] polygon.milestone").count() == 1
    assert page.locator("[data-testid=gantt] path.link").count() == 10
    assert page.locator("[data-testid=gantt] g.task.critical").count() >= 5
    assert page.get_by_test_id("export-locked").is_visible()
    assert page.get_by_test_id("save-locked").is_visible()
    assert page.get_by_test_id("export-ics").count() == 0
    assert page.get_by_test_id("upgrade-link").get_attribute("href") == "/"
    shot_here(page, "app_sample_free_en.png")

    # Over the free tier's task limit: the limit and the way up.
    big = tmp_path / "big.json"
    chain = [task(f"t{i}", 1, *([f"t{i - 1}"] if i else [])) for i in range(230)]
    big.write_text(json.dumps(document(chain)))
    page.goto(f"{landing}/app")
    page.set_input_files("[data-testid=json-file]", str(big))
    page.get_by_test_id("upload-json").click()
    limit = page.get_by_test_id("limit-tasks")
    limit.wait_for()
    assert "This plan has 230 tasks; your plan allows up to 200." in limit.inner_text()
    assert "up to 20,000 tasks" in limit.inner_text()
    shot_here(page, "app_limit_free_en.png", full=False)

    # Pay with 4242 on the provider's page, coming back to the success page.
    page.get_by_test_id("upgrade-link").first.click()
    page.get_by_test_id("choose-plan-pro_monthly").click()
    page.wait_for_url(f"{app_stack.env['PAYMENT_PROVIDER_ENDPOINT']}/checkout/*")
    page.fill("input[name=cardNumber]", "4242 4242 4242 4242")
    page.fill("input[name=expiry]", "12/34")
    page.fill("input[name=cvc]", "123")
    page.fill("input[name=name]", "Ada Lovelace")
    page.get_by_test_id("pay").click()
    page.wait_for_url(f"{landing}/billing/success?*")
    page.locator("[data-testid=checkout-result][data-status=succeeded]").wait_for(timeout=15_000)
    paid_at = time.monotonic()

    # Within a few seconds, still signed in: the app is paid.
    page.goto(f"{landing}/app")
    while page.get_by_test_id("upgrade-prompt").count() and time.monotonic() - paid_at < 5:
        time.sleep(0.2)
        page.reload()
    assert page.get_by_test_id("upgrade-prompt").count() == 0, "still free 5 s after paying"
    page.get_by_test_id("open-sample").click()
    page.wait_for_url(f"{landing}/app/plans/*?notice=saved")
    assert page.get_by_test_id("notice").is_visible()
    assert page.locator("[data-testid=gantt] rect.bar").count() == 8
    shot_here(page, "app_sample_paid_en.png")
    with page.expect_download() as download_info:
        page.get_by_test_id("export-ics").click()
    download = download_info.value
    assert download.suggested_filename == "sample-launch.ics"
    ics = Path(download.path()).read_text()
    assert ics.startswith("BEGIN:VCALENDAR")
    assert ics.count("BEGIN:VEVENT") == 10
    with page.expect_download() as download_info:
        page.get_by_test_id("export-csv").click()
    assert Path(download_info.value.path()).read_text().startswith("id,name,parent,kind")

    page.goto(f"{landing}/app")
    assert page.get_by_test_id("saved-plan").count() == 1
    if backend != "sqlite":  # paging is the page's, whatever the database: once is enough
        page.context.close()
        return
    shot(page, "app_my_plans_paid_en.png")

    # 250 tasks: 200 on the first page of the chart, the rest on the second, the table
    # paging with it.
    big = tmp_path / "big-paid.json"
    chain = [task(f"t{i}", 1 + i % 3, *([f"t{i - 1}"] if i else [])) for i in range(250)]
    big.write_text(json.dumps(document(chain, name="Two hundred and fifty")))
    page.goto(f"{landing}/app")
    page.set_input_files("[data-testid=json-file]", str(big))
    page.get_by_test_id("upload-json").click()
    page.wait_for_url(f"{landing}/app/plans/*?notice=saved")
    pager = page.get_by_test_id("pager")
    assert "Tasks 1–200 of 250" in pager.inner_text()
    assert chart_tasks(page) == table_tasks(page) == [f"t{i}" for i in range(200)]
    assert page.get_by_test_id("page-prev").count() == 0
    page.get_by_test_id("gantt").scroll_into_view_if_needed()
    shot(page, "app_250_tasks_page1_chart_en.png", full=False)
    shot(page, "app_250_tasks_page1_en.png")
    page.get_by_test_id("page-next").click()
    page.wait_for_url("**page=2**")
    assert "Tasks 201–250 of 250" in page.get_by_test_id("pager").inner_text()
    assert chart_tasks(page) == table_tasks(page) == [f"t{i}" for i in range(200, 250)]
    assert page.get_by_test_id("page-next").count() == 0
    shot(page, "app_250_tasks_page2_en.png")
    page.get_by_test_id("page-prev").click()
    page.wait_for_url("**page=1**")
    assert table_tasks(page)[0] == "t0"

    page.context.close()


def test_invalid_plan_shows_its_problems_at_its_tasks_in_turkish(
    browser: Browser, app_stack: Stack, tmp_path: Path
) -> None:
    landing = app_stack.env["LANDING_BASE_URL"]
    page = open_page(browser, "tr-TR")
    sign_in(page, landing, f"hatali-{time.time_ns()}@example.com")
    plan = tmp_path / "hatali-plan.json"
    plan.write_text(json.dumps(BROKEN))
    page.set_input_files("[data-testid=json-file]", str(plan))
    page.get_by_test_id("upload-json").click()
    page.get_by_test_id("problems").wait_for()
    assert "Bu planda sorunlar var" in page.get_by_test_id("problems").inner_text()
    assert "Süre negatif olamaz." in page.get_by_test_id("problem-design").inner_text()
    build = page.get_by_test_id("problem-build").inner_text()
    assert "“ghost” bu planda bir görev değil" in build
    for looped in ("review", "qa"):
        assert "döngü: qa → review → qa" in page.get_by_test_id(f"problem-{looped}").inner_text()
    assert page.get_by_test_id("problem-launch").count() == 0
    assert "<script>alert(1)</script>" in page.get_by_test_id("task-launch").inner_text()
    assert '"code"' not in page.content()
    shot(page, "app_problems_tr.png")

    # A CSV with a bad row names the row and the column.
    sheet = tmp_path / "gorevler.csv"
    sheet.write_text("id;name;duration;predecessors\nkazi;Kazı;üç;\ntemel;Temel;4;kazi\n")
    page.goto(f"{landing}/app")
    page.set_input_files("[data-testid=csv-file]", str(sheet))
    page.get_by_test_id("upload-csv").click()
    page.get_by_test_id("csv-problems").wait_for()
    assert "Satır 2, “duration” sütunu" in page.get_by_test_id("csv-problems").inner_text()
    shot(page, "app_csv_problems_tr.png")
    page.context.close()


def test_phone_width(browser: Browser, app_stack: Stack) -> None:
    landing = app_stack.env["LANDING_BASE_URL"]
    page = open_page(browser, "tr-TR", width=375, height=812)
    sign_in(page, landing, f"telefon-{time.time_ns()}@example.com")
    shot(page, "app_my_plans_phone_tr.png")
    page.get_by_test_id("open-sample").click()
    page.get_by_test_id("gantt").wait_for()
    assert page.get_by_test_id("export-locked").is_visible()
    # The chart and the table scroll inside their boxes; the page itself never scrolls sideways.
    page_width = page.evaluate("document.scrollingElement.scrollWidth")
    assert page_width <= 375, page_width
    assert page.get_by_test_id("gantt").bounding_box()["width"] <= 375  # type: ignore[index]
    shot(page, "app_sample_phone_tr.png")
    page.context.close()
