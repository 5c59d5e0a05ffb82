"""The planner's own tables: what it last knew of each account's access, the billing
events it has taken in, saved plans and the compile leases behind maxConcurrentPlans."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from services.common.db import new_metadata
from services.common.types import UTCDateTime, utcnow


class Base(DeclarativeBase):
    metadata = new_metadata()


class KnownAccess(Base):
    """An account's subscription as last learned from a billing read or event.

    Shared by every planner replica, so an event taken in by one is seen by all.
    ``subscription_id`` is None when billing said the account has none.
    """

    __tablename__ = "planner_known_access"

    account_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    subscription_id: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str | None] = mapped_column(String(40))
    plan_id: Mapped[str | None] = mapped_column(String(64))
    # billing_api's updatedAt of that subscription: the order of newer-wins.
    subscription_updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    learned_at: Mapped[datetime] = mapped_column(UTCDateTime())
    learned_from: Mapped[str] = mapped_column(String(10))  # "read" | "event"


class BillingEventReceipt(Base):
    """One row per ``webhook-id`` taken in; its primary key makes a redelivery a no-op."""

    __tablename__ = "planner_billing_events"

    webhook_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    event_type: Mapped[str] = mapped_column(String(100))
    account_id: Mapped[str | None] = mapped_column(String(64))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class SavedPlan(Base):
    __tablename__ = "planner_saved_plans"
    __table_args__ = (Index("ix_planner_saved_plans_account", "account_id", "updated_at"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    account_id: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    document: Mapped[str] = mapped_column(Text)  # the plan document as sent
    task_count: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class CompileLease(Base):
    """Slot ``slot`` of an account's maxConcurrentPlans, held until ``expires_at``.

    A slot row is taken by an insert, or by an update of an expired one, in one
    statement, so two planner processes can never both hold the same slot.
    """

    __tablename__ = "planner_compile_leases"

    account_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    slot: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    holder: Mapped[str] = mapped_column(String(40))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
