"""gwstack billing inbox --failed / replay / reconcile: the operator's billing tools."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from gwstack.cli import app
from services.billing_api.models import InboxStatus, WebhookInboxEvent
from services.common import settings as settings_module
from services.common.db import create_engine, sessionmaker_for
from services.common.migrate import upgrade
from tests.billing_api.fakes import FakeProvider
from tests.billing_api.sandbox_events import envelope, subscription_object


async def _store_failed(url: str, event: dict[str, object]) -> None:
    await upgrade("billing_api", url)
    engine = create_engine(url)
    async with sessionmaker_for(engine)() as session, session.begin():
        session.add(
            WebhookInboxEvent(
                provider="stub",
                event_id=event["id"],
                event_type=event["type"],
                payload=json.dumps(event),
                status=InboxStatus.FAILED,
                attempts=1,
                last_error="DataError: value too long",
            )
        )
    await engine.dispose()


async def _status(url: str, event_id: object) -> str | None:
    engine = create_engine(url)
    async with sessionmaker_for(engine)() as session:
        status = await session.scalar(
            select(WebhookInboxEvent.status).where(WebhookInboxEvent.event_id == event_id)
        )
    await engine.dispose()
    return status


def test_failed_events_are_listed_and_replayed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # In-process (CliRunner), as a subprocess per command costs seconds of imports.
    url = f"sqlite+aiosqlite:///{tmp_path}/billing.db"
    monkeypatch.setenv("BILLING_DATABASE_URL", url)
    settings_module.get_settings.cache_clear()
    event = json.loads(
        envelope(
            "customer.subscription.created",
            subscription_object("sub_cli", "active", updated_ms=1),
        )
    )
    asyncio.run(_store_failed(url, event))
    runner = CliRunner()
    try:
        listed = runner.invoke(app, ["billing", "inbox", "--failed"])
        assert listed.exit_code == 0, listed.output
        assert event["id"] in listed.output
        assert "value too long" in listed.output

        replayed = runner.invoke(app, ["billing", "replay", event["id"]])
        assert replayed.exit_code == 0, replayed.output
        assert "applied" in replayed.output
        assert asyncio.run(_status(url, event["id"])) == InboxStatus.APPLIED
        assert "no failed events" in runner.invoke(app, ["billing", "inbox", "--failed"]).output
        assert runner.invoke(app, ["billing", "replay", event["id"]]).exit_code == 2
    finally:
        settings_module.get_settings.cache_clear()


class TestReconcile:
    """``gwstack billing reconcile`` with billing_api's provider replaced by the fake one."""

    @pytest.fixture
    def fake(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> Iterator[tuple[str, FakeProvider]]:
        url = f"sqlite+aiosqlite:///{tmp_path}/billing.db"
        asyncio.run(upgrade("billing_api", url))
        monkeypatch.setenv("BILLING_DATABASE_URL", url)
        monkeypatch.setenv("BILLING_EVENTS_SUBSCRIBERS", "http://planner.test/events")
        provider = FakeProvider()
        monkeypatch.setattr("services.billing_api.providers.provider_for", lambda *a, **k: provider)
        settings_module.get_settings.cache_clear()
        yield url, provider
        settings_module.get_settings.cache_clear()

    def test_it_says_what_it_did_in_words(self, fake: tuple[str, FakeProvider]) -> None:
        url, provider = fake
        attempt_id = asyncio.run(_started(url, provider))
        provider.pay(provider.session_of(attempt_id))

        result = CliRunner().invoke(app, ["billing", "reconcile"])

        assert result.exit_code == 0, result.output
        lines = result.output.splitlines()
        assert f"attempt {attempt_id}: settled: pending -> succeeded" in lines
        assert lines[-1].startswith("1 pending attempt checked (1 settled); ")
        again = CliRunner().invoke(app, ["billing", "reconcile", "--all"]).output.splitlines()
        assert any(line.startswith("subscription sub_") for line in again)
        assert any(line.endswith(": unchanged: active, as recorded") for line in again)

    def test_nothing_to_do_is_said_too(self, fake: tuple[str, FakeProvider]) -> None:
        result = CliRunner().invoke(app, ["billing", "reconcile"])

        assert result.exit_code == 0, result.output
        assert "nothing to reconcile" in result.output

    def test_a_provider_that_is_down_exits_1_and_changes_nothing(
        self, fake: tuple[str, FakeProvider]
    ) -> None:
        url, provider = fake
        attempt_id = asyncio.run(_started(url, provider))
        provider.pay(provider.session_of(attempt_id))
        provider.down = True

        result = CliRunner().invoke(app, ["billing", "reconcile"])

        assert result.exit_code == 1
        assert f"attempt {attempt_id}: failed: provider unavailable: fake provider is down" in (
            result.output
        )
        assert "run it again later" in result.output
        assert asyncio.run(_attempt_status(url, attempt_id)) == "pending"


async def _started(url: str, provider: FakeProvider) -> str:
    from services.billing_api.catalog import load_catalog
    from services.billing_api.checkout import start_checkout
    from services.billing_api.context import BillingContext
    from services.billing_api.schemas import CheckoutStartIn
    from services.common.db import create_read_engine
    from tests.billing_api.support import checkout_body, make_settings

    settings = make_settings(url)
    engine, read_engine = create_engine(url), create_read_engine(url)
    context = BillingContext(
        settings=settings,
        catalog=load_catalog(settings.plans_catalog_path),
        provider=provider,
        sessions=sessionmaker_for(engine),
        reads=sessionmaker_for(read_engine),
    )
    body = CheckoutStartIn.model_validate(checkout_body())
    answer = await start_checkout(context, "acc_cli", body, None)
    await engine.dispose()
    await read_engine.dispose()
    attempt_id: str = answer.body["paymentAttemptId"]
    return attempt_id


async def _attempt_status(url: str, attempt_id: str) -> str | None:
    from services.billing_api.models import PaymentAttempt

    engine = create_engine(url)
    async with sessionmaker_for(engine)() as session:
        status = await session.scalar(
            select(PaymentAttempt.status).where(PaymentAttempt.id == attempt_id)
        )
    await engine.dispose()
    return status
