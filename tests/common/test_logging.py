from __future__ import annotations

import json
import logging

import pytest
import structlog

from services.common.logging import configure_logging, redact


@pytest.mark.parametrize(
    "leak",
    [
        "4242 4242 4242 4242",
        "4000-0000-0000-0002",
        "Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhY2NfYSJ9.c2ln",
        "whsec_ZGV2LWluc2VjdXJlLXdlYmhvb2stc2VjcmV0LTAx",
        "sk_test_51Habcdef",
    ],
)
def test_secrets_in_values_are_redacted(leak: str) -> None:
    assert leak not in json.dumps(redact({"message": f"got {leak} from client"}))


def test_secret_keys_are_redacted_whatever_the_value() -> None:
    cleaned = redact({"api_key": "abc", "cardNumber": "1", "nested": {"password": "p"}, "ok": 1})
    assert cleaned == {
        "api_key": "[REDACTED]",
        "cardNumber": "[REDACTED]",
        "nested": {"password": "[REDACTED]"},
        "ok": 1,
    }


def test_numbers_that_are_not_cards_stay() -> None:
    assert redact("order 1234567890123") == "order 1234567890123"


def test_log_lines_are_json_and_redacted(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("test_service")
    structlog.get_logger("t").info("charge", card="4242424242424242", note="pan 4242424242424242")
    logging.getLogger("lib").warning("token Bearer abc.def.ghi leaked?")
    lines = [json.loads(line) for line in capsys.readouterr().err.strip().splitlines()]
    assert "4242424242424242" not in json.dumps(lines)
    assert "abc.def.ghi" not in json.dumps(lines)
    assert lines[0]["event"] == "charge"
    assert lines[0]["service"] == "test_service"
    structlog.reset_defaults()
