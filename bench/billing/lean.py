"""The lean reference: billing_api's read in about 40 lines (PyJWT, one SQLAlchemy Core select).

No middleware, no logging, no ORM; a pooled connection per request. Not a
product: the yardstick billing_api's ``GET /api/billing/subscription`` must meet.
"""

from __future__ import annotations

import os
from datetime import datetime
from typing import Annotated, Any

import jwt
from fastapi import FastAPI, Header, HTTPException
from sqlalchemy import bindparam, case, select
from sqlalchemy.ext.asyncio import create_async_engine

from services.billing_api.models import Subscription

table = Subscription.__table__
engine = create_async_engine(os.environ["BILLING_DATABASE_URL"])
SECRET = os.environ["AUTH_JWT_SECRET"]
current_first = case((table.c.status.in_(["active", "trialing"]), 0), else_=1)
QUERY = (
    select(table)
    .where(table.c.account_id == bindparam("account"))
    .order_by(current_first, table.c.created_at.desc(), table.c.id.desc())
    .limit(1)
)
FIELDS = ("id", "account_id", "plan_id", "status", "current_period_start", "current_period_end",
          "cancel_at_period_end", "trial_end", "provider", "updated_at")  # fmt: skip
app = FastAPI()


def _wire(name: str, value: Any) -> tuple[str, Any]:
    head, *rest = name.split("_")
    if isinstance(value, datetime):
        value = value.isoformat().replace("+00:00", "Z")
    return head + "".join(part.title() for part in rest), value


@app.get("/api/billing/subscription")
async def subscription(authorization: Annotated[str, Header()]) -> dict[str, Any]:
    try:
        token = authorization.removeprefix("Bearer ")
        claims = jwt.decode(token, SECRET, algorithms=["HS256"], issuer="gw_stack",
                            options={"require": ["sub", "exp", "iss"]})  # fmt: skip
    except jwt.PyJWTError as exc:
        raise HTTPException(401) from exc
    async with engine.connect() as connection:
        row = (await connection.execute(QUERY, {"account": claims["sub"]})).first()
    if row is None:
        raise HTTPException(404)
    return {"subscription": dict(_wire(name, getattr(row, name)) for name in FIELDS)}
