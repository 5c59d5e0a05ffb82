"""The ``gwstack`` command: run, migrate and check the stack."""

from __future__ import annotations

import asyncio
import importlib.util
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import httpx
import typer
import uvicorn
from pydantic import ValidationError

from services.common import server
from services.common import settings as settings_module
from services.common.settings import Settings

if TYPE_CHECKING:
    from gwstack.up import Child

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
        # httptools with the request head bounded (a 431 in our envelope).
        http=server.PROTOCOL,
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
        done = asyncio.run(upgrade(service, getattr(settings, url_key)))
        typer.echo(done.describe())


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


# The name each service reports in its /health, and where the configuration puts it.
SITE_CHECKS: dict[str, tuple[str, str]] = {
    "billing-api": ("billing_api", "billing_api_base_url"),
    "planner": ("planner", "planner_base_url"),
    "landing": ("landing", "landing_base_url"),
    "sandbox": ("sandbox_provider", "payment_provider_endpoint"),
}


@app.command("site-check")
def site_check(
    billing_url: Annotated[
        str | None, typer.Option(help="billing_api's base URL (default: BILLING_API_BASE_URL)")
    ] = None,
    planner_url: Annotated[
        str | None, typer.Option(help="The planner's base URL (default: PLANNER_BASE_URL)")
    ] = None,
    landing_url: Annotated[
        str | None, typer.Option(help="landing's base URL (default: LANDING_BASE_URL)")
    ] = None,
    sandbox_url: Annotated[
        str | None,
        typer.Option(help="The sandbox's base URL (default: PAYMENT_PROVIDER_ENDPOINT)"),
    ] = None,
    only: Annotated[
        list[str] | None,
        typer.Option(
            "--only",
            help="Check just this service (repeatable): billing-api, planner, landing, sandbox.",
        ),
    ] = None,
) -> None:
    """The release gate: GET /health of every service the configuration names.

    By default that is billing_api, the planner and landing, and the sandbox when
    PAYMENT_PROVIDER=stub. A service passes with HTTP 200, status "ok" and its own
    name in "service". One line per service; exit 1 if any fails.
    """
    from gwstack.site_check import Target, run_checks

    settings = get_settings()
    given = {
        "billing-api": billing_url,
        "planner": planner_url,
        "landing": landing_url,
        "sandbox": sandbox_url,
    }
    names = only or [
        name for name in SITE_CHECKS if name != "sandbox" or settings.payment_provider == "stub"
    ]
    unknown = [name for name in names if name not in SITE_CHECKS]
    if unknown:
        raise typer.BadParameter(f"unknown service {unknown[0]!r}; one of {', '.join(SITE_CHECKS)}")
    targets = [
        Target(SITE_CHECKS[name][0], given[name] or getattr(settings, SITE_CHECKS[name][1]))
        for name in names
    ]
    results = run_checks(targets)
    for result in results:
        typer.echo(result.line(), err=not result.ok)
    failed = sum(not result.ok for result in results)
    if failed:
        typer.echo(f"{failed} of {len(results)} services failed", err=True)
        raise typer.Exit(1)
    typer.echo(f"all {len(results)} services healthy")


@sandbox_app.command("advance")
def sandbox_advance(days: Annotated[float, typer.Option(help="Days to move the clock.")]) -> None:
    """Move the sandbox's test clock forward, running renewals, trial ends and dunning."""
    from gwstack.sandbox_report import describe_advance

    settings = get_settings()
    key = settings.payment_provider_api_key.get_secret_value()
    with httpx.Client(
        base_url=settings.payment_provider_endpoint,
        headers={"Authorization": f"Bearer {key}"},
        timeout=60,
    ) as sandbox:
        try:
            # The newest event before the move: what comes after it is what the move caused.
            newest = sandbox.get("/v1/events", params={"limit": 1}).json()["data"]
            response = sandbox.post("/v1/test_clock/advance", json={"days": days})
            if response.status_code >= 400:
                typer.echo(f"the sandbox refused: {response.text}", err=True)
                raise typer.Exit(1)
            events = sandbox.get("/v1/events", params={"limit": 500}).json()["data"]
        except httpx.HTTPError as exc:
            typer.echo(f"the sandbox at {settings.payment_provider_endpoint} is not reachable: "
                       f"{type(exc).__name__}", err=True)  # fmt: skip
            raise typer.Exit(1) from None
    seen = newest[0]["id"] if newest else None
    caused = []
    for event in events:  # newest first
        if event["id"] == seen:
            break
        caused.append(event)
    for line in describe_advance(response.json(), list(reversed(caused)), days=days):
        typer.echo(line)


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


@billing_app.command("reconcile")
def billing_reconcile(
    show_all: Annotated[
        bool, typer.Option("--all", help="Also list what was checked and found unchanged.")
    ] = False,
) -> None:
    """Ask the provider about pending checkouts, sessions billing_api never recorded and
    subscriptions that have not ended, and apply what it says (the pass every replica
    runs every RECONCILE_INTERVAL_SECONDS). One line per change, then the counts; exit 1
    if the provider failed, after applying what it did answer."""
    from services.billing_api.context import opened
    from services.billing_api.reconcile import Report, reconcile

    async def run() -> Report:
        async with opened(get_settings()) as context:
            return await reconcile(context)

    report = asyncio.run(run())
    for item in report.items if show_all else report.changes:
        typer.echo(item.line())
    if not report.items:
        typer.echo(
            "nothing to reconcile: no pending attempt, unrecorded session or living subscription"
        )
    typer.echo(report.summary())
    if report.stopped is not None:
        typer.echo(f"stopped early: {report.stopped}", err=True)
    if not report.ok:
        typer.echo("the provider did not answer everything; run it again later", err=True)
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
def up(
    timeout: Annotated[
        float, typer.Option(help="Seconds to wait for every service to become healthy.")
    ] = 90,
) -> None:
    """Migrate, start every service of this version and wait until each /health is ok;
    print the URL to open. Ctrl-C stops them all. Exits 1 naming the service that does
    not start, with its last log lines."""
    from gwstack.up import LOG_DIR, Child, StartFailed, running, supervise, wait_until_healthy

    settings = get_settings()
    db_upgrade()
    children = [
        Child(
            name,
            getattr(settings, SERVICES[name][1]),
            LOG_DIR / f"{name}.log",
            SITE_CHECKS[name][0],
        )
        for name in services_to_start(settings)
    ]
    typer.echo(f"starting {', '.join(c.name for c in children)} (logs in {LOG_DIR}/)")
    with running(children):
        try:
            wait_until_healthy(children, timeout=timeout, echo=typer.echo)
        except StartFailed as failed:
            typer.echo(f"\n{failed.child.name} {failed.reason}. Its last log lines:", err=True)
            for line in failed.child.last_log_lines():
                typer.echo(f"  | {line}", err=True)
            typer.echo("stopping the other services.", err=True)
            raise typer.Exit(1) from None
        except KeyboardInterrupt:
            typer.echo("\nstopping...")
            return
        _print_running(settings, children)
        code = supervise(children, typer.echo)
    if code:
        raise typer.Exit(code)


def _print_running(settings: Settings, children: list[Child]) -> None:
    by_name = {child.name: child for child in children}
    typer.echo("\ngw_stack is running.")
    if "landing" in by_name:
        typer.echo(f"\n  open this:  {by_name['landing'].url}\n")
    for child in children:
        extra = "  (Swagger UI: /docs, ReDoc: /redoc)" if child.name != "landing" else ""
        typer.echo(f"  {child.name:<12} {child.url}{extra}")
    typer.echo("\nPress Ctrl-C to stop.")


if __name__ == "__main__":
    app()
