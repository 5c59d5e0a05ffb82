"""gwstack billing inbox --failed / replay: the operator's view of dead letters."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from gwstack.cli import app
from services.billing_api.models import InboxStatus, WebhookInboxEvent
from services.common import settings as settings_module
from services.common.db import create_engine, sessionmaker_for
from services.common.migrate import upgrade
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
