"""What ``gwstack sandbox advance`` prints: the sandbox's new date and, in time order,
what happened on the way there (payments, failures, status changes, expiries),
read from the events the sandbox sent."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

Event = Mapping[str, Any]


def _when(unix_seconds: int) -> str:
    return datetime.fromtimestamp(unix_seconds, UTC).strftime("%Y-%m-%d %H:%M UTC")


def _money(minor: int, currency: str) -> str:
    return f"{minor / 100:.2f} {currency.upper()}"


def describe_event(event: Event) -> tuple[str, str]:
    """(kind, line) for one event; kind is what the summary counts."""
    obj: Mapping[str, Any] = event.get("data", {}).get("object", {})
    kind = event.get("type", "?")
    when = _when(int(event.get("created", 0)))
    if kind == "invoice.paid":
        renewal = obj.get("billing_reason") == "subscription_cycle"
        what = "renewal paid" if renewal else "invoice paid"
        amount = _money(int(obj.get("amount_due", 0)), str(obj.get("currency", "")))
        return what, f"{when}  {what:<22} {obj.get('subscription')}  {amount}"
    if kind == "invoice.payment_failed":
        what = "payment failed"
        attempt = obj.get("attempt_count")
        return what, f"{when}  {what:<22} {obj.get('subscription')}  (attempt {attempt})"
    if kind in ("customer.subscription.updated", "customer.subscription.created"):
        status = obj.get("status")
        what = f"subscription {status}"
        note = "  (cancels at period end)" if obj.get("cancel_at_period_end") else ""
        return what, f"{when}  {what:<22} {obj.get('id')}{note}"
    if kind == "customer.subscription.deleted":
        what = "subscription ended"
        return what, f"{when}  {what:<22} {obj.get('id')}  (status {obj.get('status')})"
    if kind == "checkout.session.expired":
        what = "checkout expired"
        return what, f"{when}  {what:<22} {obj.get('id')}"
    return kind, f"{when}  {kind:<22} {obj.get('id')}"


def describe_advance(
    clock: Mapping[str, Any], events: Sequence[Event], *, days: float
) -> list[str]:
    """The report: ``clock`` is the advance's answer, ``events`` those it caused,
    oldest first."""
    ahead = int(clock.get("offsetSeconds", 0)) / 86400
    lines = [
        f"sandbox clock moved {days:g} days: now {_when(int(clock['now']))} "
        f"({ahead:.1f} days ahead of real time)"
    ]
    if not events:
        lines.append("nothing was due in between.")
        return lines
    described = [describe_event(event) for event in events]
    counts = Counter(kind for kind, _line in described)
    lines.append("what happened: " + ", ".join(f"{n} × {kind}" for kind, n in counts.items()))
    lines.extend(f"  {line}" for _kind, line in described)
    return lines
