"""The ``gwstack`` command: run, migrate and check the stack."""

from __future__ import annotations

import asyncio
import importlib.util
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Annotated

import httpx
import typer
import uvicorn
from pydantic import ValidationError

from services.common import server
from services.common import settings as settings_module
from services.common.settings import Settings

app = typer.Typer(help="gw_stack: billing, feature gating and the planner.", no_args_is_help=True)
db_app = typer.Typer(help="Database migrations.", no_args_is_help=True)
docs_app = typer.Typer(help="Generated documentation.", no_args_is_help=True)
sandbox_app = typer.Typer(help="The local sandbox payment provider.", no_args_is_help=True)
billing_app = typer.Typer(help="billing_api's operator tools.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(billing_app, name="billing")
app.add_typer(docs_app, name="docs")
app.add_typer(sandbox_app, name="sandbox")

# name -> (app factory, the settings attribute holding its base URL)
SERVICES: dict[str, tuple[str, str]] = {
    "sandbox": ("services.sandbox_provider.app:create_app", "payment_provider_endpoint"),
    "billing-api": ("services.billing_api.app:create_app", "billing_api_base_url"),
    "planner": ("services.planner.app:create_app", "planner_base_url"),
    "landing": ("services.landing.app:create_app", "landing_base_url"),
}
MIGRATED: dict[str, str] = {
    "billing_api": "billing_database_url",
    "sandbox_provider": "sandbox_database_url",
    "planner": "planner_database_url",
}
ERROR_CODES_DOC = Path("docs/payment_error_codes.md")


def get_settings() -> Settings:
    """The settings, or a clear line naming what is wrong with them (and exit 2)."""
    try:
        return settings_module.get_settings()
    except ValidationError as exc:
        for error in exc.errors():
            where = ".".join(str(part) for part in error["loc"]) or "configuration"
            typer.echo(f"configuration error: {where}: {error['msg']}", err=True)
        raise typer.Exit(2) from None


def _available(factory: str) -> bool:
    module = factory.split(":", 1)[0]
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:  # its package is not there at all
        return False


def _port_of(url: str) -> int:
    return httpx.URL(url).port or 80


@app.command()
def serve(
    service: Annotated[str, typer.Argument(help="billing-api, planner, landing or sandbox")],
    host: str = "127.0.0.1",
    port: Annotated[int | None, typer.Option(help="Default: the port of its base URL.")] = None,
    workers: int = 1,
) -> None:
    """Run one service in the foreground."""
    if service not in SERVICES:
        raise typer.BadParameter(f"unknown service {service!r}; one of {', '.join(SERVICES)}")
    factory, url_key = SERVICES[service]
    if not _available(factory):
        typer.echo(f"{service} is not part of this version yet", err=True)
        raise typer.Exit(2)
    settings = get_settings()
    if service == "sandbox" and settings.gw_env == "production":
        typer.echo("the sandbox provider takes fake cards; it does not run in production", err=True)
        raise typer.Exit(2)
    uvicorn.run(
        factory,
        factory=True,
        host=host,
        port=port or _port_of(getattr(settings, url_key)),
        workers=workers,
        log_config=None,
        access_log=False,
        proxy_headers=False,
        # h11, not httptools: it bounds the request head (a 431 in our envelope).
        http=server.PROTOCOL,
        h11_max_incomplete_event_size=server.MAX_HEADER_BYTES,
    )


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply the migrations of every service's database."""
    from services.common.migrate import upgrade

    settings = get_settings()
    for service, url_key in MIGRATED.items():
        if not (
            Path(__file__).resolve().parent.parent / "services" / service / "migrations"
        ).is_dir():
            continue
        asyncio.run(upgrade(service, getattr(settings, url_key)))
        typer.echo(f"{service}: up to date")


@app.command()
def token(
    account_id: str, ttl: Annotated[int, typer.Option(help="Lifetime in seconds.")] = 3600
) -> None:
    """Print a development user token for ACCOUNT_ID (e.g. acc_demo)."""
    from services.common.auth import mint_token

    settings = get_settings()
    if settings.gw_env == "production":
        typer.echo("refusing to mint tokens in production", err=True)
        raise typer.Exit(2)
    try:
        typer.echo(mint_token(account_id, settings, ttl=ttl))
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc


@app.command("site-check")
def site_check(
    billing_url: Annotated[str | None, typer.Option()] = None,
    planner_url: Annotated[str | None, typer.Option()] = None,
    landing_url: Annotated[str | None, typer.Option()] = None,
) -> None:
    """Check /health of each service; exit non-zero with one line per failing check."""
    from gwstack.site_check import run_checks

    settings = get_settings()
    failures = run_checks(
        billing_url=billing_url or settings.billing_api_base_url,
        planner_url=planner_url,
        landing_url=landing_url,
    )
    for line in failures:
        typer.echo(f"FAIL {line}", err=True)
    if failures:
        raise typer.Exit(1)
    typer.echo("all checks passed")


@sandbox_app.command("advance")
def sandbox_advance(days: Annotated[float, typer.Option(help="Days to move the clock.")]) -> None:
    """Move the sandbox's test clock forward, running renewals, trial ends and dunning."""
    settings = get_settings()
    response = httpx.post(
        f"{settings.payment_provider_endpoint}/v1/test_clock/advance",
        json={"days": days},
        headers={"Authorization": f"Bearer {settings.payment_provider_api_key.get_secret_value()}"},
        timeout=60,
    )
    typer.echo(response.text)
    if response.status_code >= 400:
        raise typer.Exit(1)


@billing_app.command("inbox")
def billing_inbox(
    failed: Annotated[bool, typer.Option("--failed", help="List the dead letters.")] = False,
    limit: Annotated[int, typer.Option(help="At most this many, newest first.")] = 100,
) -> None:
    """List provider events that could not be applied (dead letters) with the reason."""
    from services.billing_api.context import opened
    from services.billing_api.webhooks import failed_events

    if not failed:
        raise typer.BadParameter("only --failed is listed for now", param_hint="--failed")

    async def listing() -> list[str]:
        async with opened(get_settings()) as context:
            rows = await failed_events(context, limit=limit)
        return [
            f"{row.event_id}\t{row.event_type}\t{row.received_at.isoformat()}\t"
            f"attempts={row.attempts}\t{row.last_error or ''}"
            for row in rows
        ]

    lines = asyncio.run(listing())
    for line in lines:
        typer.echo(line)
    if not lines:
        typer.echo("no failed events")


@billing_app.command("replay")
def billing_replay(event_id: str) -> None:
    """Apply a failed provider event again (after a fix); exit 1 if it fails again."""
    from services.billing_api.context import opened
    from services.billing_api.models import InboxStatus
    from services.billing_api.webhooks import replay

    async def run() -> InboxStatus | None:
        async with opened(get_settings()) as context:
            return await replay(context, event_id)

    status = asyncio.run(run())
    if status is None:
        typer.echo(f"no failed event {event_id}", err=True)
        raise typer.Exit(2)
    typer.echo(f"{event_id}: {status}")
    if status not in (InboxStatus.APPLIED, InboxStatus.IGNORED):
        raise typer.Exit(1)


@docs_app.command("error-codes")
def docs_error_codes(
    check: Annotated[bool, typer.Option(help="Fail if the file is out of date.")] = False,
) -> None:
    """(Re)generate docs/payment_error_codes.md from the error registry."""
    from services.common.error_docs import render

    wanted = render()
    if check:
        current = ERROR_CODES_DOC.read_text("utf-8") if ERROR_CODES_DOC.exists() else ""
        if current != wanted:
            typer.echo(
                f"{ERROR_CODES_DOC} is out of date: run `gwstack docs error-codes`", err=True
            )
            raise typer.Exit(1)
        typer.echo(f"{ERROR_CODES_DOC} is up to date")
        return
    ERROR_CODES_DOC.parent.mkdir(parents=True, exist_ok=True)
    ERROR_CODES_DOC.write_text(wanted, "utf-8")
    typer.echo(f"wrote {ERROR_CODES_DOC}")


def services_to_start(settings: Settings) -> list[str]:
    """The services `up` starts: those of this version, and the sandbox only when it is
    the payment provider (with Stripe, billing_api talks to Stripe instead)."""
    return [
        name
        for name, (factory, _url_key) in SERVICES.items()
        if _available(factory) and (name != "sandbox" or settings.payment_provider == "stub")
    ]


@app.command()
def up() -> None:
    """Migrate, then start every service of this version; Ctrl-C stops them all."""
    settings = get_settings()
    db_upgrade()
    processes: list[tuple[str, subprocess.Popen[bytes]]] = []
    try:
        for name in services_to_start(settings):
            command = [sys.executable, "-m", "gwstack", "serve", name]
            processes.append((name, subprocess.Popen(command, env=os.environ.copy())))  # noqa: S603
        _wait_healthy(settings, [name for name, _ in processes])
        typer.echo("\ngw_stack is running:")
        for name, _ in processes:
            url = getattr(settings, SERVICES[name][1])
            extra = "  (Swagger UI: /docs)" if name in ("billing-api", "planner") else ""
            typer.echo(f"  {name:<12} {url}{extra}")
        typer.echo("\nPress Ctrl-C to stop.")
    except BaseException:
        _stop_all(processes)  # never leave orphans behind a failed start
        raise
    _supervise(processes)


def _wait_healthy(settings: Settings, names: list[str], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    for name in names:
        url = getattr(settings, SERVICES[name][1]) + "/health"
        while time.monotonic() < deadline:
            try:
                if httpx.get(url, timeout=1).status_code < 500:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        else:
            typer.echo(f"warning: {name} did not answer {url} within {timeout:.0f}s", err=True)


def _stop_all(processes: list[tuple[str, subprocess.Popen[bytes]]]) -> None:
    for _name, process in processes:
        if process.poll() is None:
            process.terminate()
    for _name, process in processes:
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


def _supervise(processes: list[tuple[str, subprocess.Popen[bytes]]]) -> None:
    def stop(*_signal: object) -> None:
        _stop_all(processes)
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, stop)
    try:
        while True:
            for name, process in processes:
                if process.poll() is not None:
                    typer.echo(f"{name} exited with {process.returncode}; stopping", err=True)
                    stop()
            time.sleep(0.5)
    except KeyboardInterrupt:
        stop()


if __name__ == "__main__":
    app()
