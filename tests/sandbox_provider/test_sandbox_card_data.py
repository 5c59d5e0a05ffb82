"""Card numbers and CVCs never reach the database or the logs."""

from __future__ import annotations

import io
import sys

import pytest

from tests.sandbox_provider.support import (
    AppFactory,
    database_text,
    form_with,
    parse_page,
    path_of,
    running,
)

CARDS = ("4242424242424242", "4000000000000002", "4000002760003184", "5555555555554444")
CVC = "987"


def spaced(number: str) -> str:
    return " ".join(number[i : i + 4] for i in range(0, 16, 4))


async def test_no_card_number_in_the_database_or_logs(
    make_app: AppFactory, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The app's logging writes to whatever stderr is when it starts.
    logs = io.StringIO()
    monkeypatch.setattr(sys, "stderr", logs)
    async with running(make_app()) as sandbox:
        for number in CARDS:
            session = await sandbox.create_session()
            # A mistake first (expired), then the real attempt, spaced like people type it.
            await sandbox.pay(session, spaced(number), expiry="01/20", cvc=CVC)
            response = await sandbox.pay(session, spaced(number), cvc=CVC)
            if response.headers["location"].endswith("/3ds"):
                page = parse_page((await sandbox.http.get(response.headers["location"])).text)
                form = form_with(page, "3ds-approve")
                await sandbox.submit(form["action"], form["fields"])
            await sandbox.http.get(path_of(session["url"]))
        await sandbox.flush()
        await sandbox.advance(days=40)

    stored = await database_text(database_url)
    logged = logs.getvalue()
    assert "checkout payment" in logged  # the logs were captured
    assert b"4242" in stored  # last4 is kept, and the dump is readable
    for number in CARDS:
        for typed in (number, spaced(number)):
            assert typed.encode() not in stored, typed
            assert typed not in logged, typed
    assert f'"{CVC}"'.encode() not in stored
