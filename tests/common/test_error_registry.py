from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from services.common.error_codes import REGISTRY, ErrorCode, known_code
from services.common.error_docs import render
from services.planner.engine import ProblemCode

DESIGN_CODES = {
    "VALIDATION_ERROR", "UNAUTHENTICATED", "NOT_FOUND", "SUBSCRIPTION_NOT_FOUND", "PLAN_NOT_FOUND",
    "PAYMENT_ATTEMPT_NOT_FOUND", "ALREADY_SUBSCRIBED", "IDEMPOTENCY_KEY_REUSED",
    "IDEMPOTENCY_KEY_IN_PROGRESS", "REDIRECT_URL_NOT_ALLOWED", "PAYLOAD_TOO_LARGE", "RATE_LIMITED",
    "PROVIDER_UNAVAILABLE", "WEBHOOK_SIGNATURE_INVALID", "WEBHOOK_PAYLOAD_INVALID", "CARD_DECLINED",
    "INSUFFICIENT_FUNDS", "EXPIRED_CARD", "INCORRECT_CVC", "PROCESSING_ERROR",
    "AUTHENTICATION_FAILED", "CHECKOUT_EXPIRED", "CHECKOUT_CANCELED", "INTERNAL_ERROR",
    "FEATURE_NOT_AVAILABLE", "PLAN_TOO_LARGE", "PLAN_CONCURRENCY_LIMIT",
}  # fmt: skip


def test_every_design_code_is_registered() -> None:
    assert set(REGISTRY) >= DESIGN_CODES


def test_every_code_has_exactly_one_spec() -> None:
    assert list(REGISTRY) == [spec.code for spec in REGISTRY.values()]
    assert set(REGISTRY) == set(ErrorCode)


def test_the_planner_problem_codes_are_the_registry_plan_codes() -> None:
    # PLAN_INVALID and PLAN_INVALID_JSON are the route's envelope, not one problem in a document.
    plan_codes = {code for code, spec in REGISTRY.items() if spec.area == "plan"}
    envelopes = {ErrorCode.PLAN_INVALID, ErrorCode.PLAN_INVALID_JSON}
    assert {str(code) for code in ProblemCode} == {str(code) for code in plan_codes - envelopes}


def test_an_unknown_stored_code_reads_as_the_default() -> None:
    assert (
        known_code("CARD_DECLINED", default=ErrorCode.PROCESSING_ERROR) is ErrorCode.CARD_DECLINED
    )
    assert (
        known_code("NO_SUCH_CODE", default=ErrorCode.PROCESSING_ERROR) is ErrorCode.PROCESSING_ERROR
    )
    assert known_code(None, default=ErrorCode.CHECKOUT_EXPIRED) is ErrorCode.CHECKOUT_EXPIRED


def test_every_code_has_both_languages() -> None:
    for spec in REGISTRY.values():
        assert spec.en.strip()
        assert spec.tr.strip()
        assert spec.en != spec.tr, spec.code


def test_generated_doc_matches_the_registry() -> None:
    assert Path("docs/payment_error_codes.md").read_text("utf-8") == render()


def test_docs_check_command_fails_on_drift(tmp_path: Path) -> None:
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "payment_error_codes.md").write_text("stale")
    result = subprocess.run(
        [sys.executable, "-m", "gwstack", "docs", "error-codes", "--check"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
        env={"PYTHONPATH": str(Path.cwd()), "GW_ENV_FILE": "/dev/null"},
    )
    assert result.returncode == 1
    assert "out of date" in result.stderr
