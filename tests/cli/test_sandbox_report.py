from __future__ import annotations

from gwstack.sandbox_report import describe_advance

DAY = 86400
T = 1_800_000_000


def event(kind: str, at: int, **obj: object) -> dict[str, object]:
    return {"id": f"evt_{at}", "type": kind, "created": at, "data": {"object": obj}}


def test_the_new_date_and_what_happened_in_time_order() -> None:
    lines = describe_advance(
        {"now": T + 31 * DAY, "offsetSeconds": 31 * DAY, "processed": 3},
        [
            event("invoice.paid", T + 30 * DAY, subscription="sub_1",
                  billing_reason="subscription_cycle", amount_due=29900, currency="try"),
            event("invoice.payment_failed", T + 30 * DAY, subscription="sub_2", attempt_count=1),
            event("customer.subscription.updated", T + 30 * DAY, id="sub_2", status="past_due"),
        ],
        days=31,
    )  # fmt: skip
    assert lines[0].startswith("sandbox clock moved 31 days: now 2027-")
    assert "31.0 days ahead of real time" in lines[0]
    assert "1 × renewal paid" in lines[1]
    assert "1 × payment failed" in lines[1]
    assert "renewal paid" in lines[2]
    assert "sub_1" in lines[2]
    assert "299.00 TRY" in lines[2]
    assert "payment failed" in lines[3]
    assert "(attempt 1)" in lines[3]
    assert "subscription past_due" in lines[4]


def test_nothing_due_says_so() -> None:
    lines = describe_advance({"now": T, "offsetSeconds": DAY}, [], days=1)
    assert lines[1] == "nothing was due in between."
