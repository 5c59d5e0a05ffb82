"""Dependencies the routes share."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import Depends, Request
from fastapi.responses import RedirectResponse

from services.landing.billing_client import BillingClient
from services.landing.planner_client import PlannerClient
from services.landing.web import Viewer, viewer_of


def billing_of(request: Request) -> BillingClient:
    client: BillingClient = request.app.state.billing
    return client


Billing = Annotated[BillingClient, Depends(billing_of)]
MaybeViewer = Annotated[Viewer | None, Depends(viewer_of)]


def see_other(path: str) -> RedirectResponse:
    return RedirectResponse(path, status_code=303, headers={"cache-control": "no-store"})


def to_signin(request: Request) -> RedirectResponse:
    """Sign in first, then come back here (a GET page; a form post cannot be replayed)."""
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    if request.method != "GET":
        here = "/"
    return see_other(f"/signin?next={quote(here, safe='')}")


def planner_of(request: Request) -> PlannerClient:
    client: PlannerClient = request.app.state.planner
    return client


Planner = Annotated[PlannerClient, Depends(planner_of)]
