"""The card form's checks and the page's money formatting."""

from __future__ import annotations

from datetime import date

import pytest

from services.sandbox_provider.cards import TEST_CARDS, brand_of, card_for, luhn_ok, read_card_form
from services.sandbox_provider.models import CardBehavior
from services.sandbox_provider.pages import TEXT, format_amount

TODAY = date(2027, 6, 15)


class TestTestCards:
    def test_every_test_card_passes_luhn(self) -> None:
        assert all(luhn_ok(card.number) for card in TEST_CARDS)

    def test_behaviours(self) -> None:
        assert card_for("4242424242424242").error_code is None
        assert card_for("4000000000000002").error_code == "CARD_DECLINED"
        assert card_for("4000002760003184").challenge
        assert card_for("4000000000000341").behavior is CardBehavior.RENEWALS_FAIL
        generic = card_for("5555555555554444")
        assert (generic.error_code, generic.challenge) == (None, False)
        assert generic.behavior is CardBehavior.CHARGES_SUCCEED

    @pytest.mark.parametrize(
        ("number", "brand"),
        [
            ("4242424242424242", "visa"),
            ("5555555555554444", "mastercard"),
            ("2223003122003222", "mastercard"),
            ("378282246310005", "amex"),
            ("9792030000000000", "troy"),
            ("6011111111111117", "unknown"),
        ],
    )
    def test_brand(self, number: str, brand: str) -> None:
        assert brand_of(number) == brand


class TestReadCardForm:
    def test_accepts_spaces_dashes_and_four_digit_years(self) -> None:
        card, problems = read_card_form(
            "4242 4242-4242 4242", " 06 / 2027 ", "1234", " Ada ", today=TODAY
        )

        assert problems == []
        assert card is not None
        assert (card.last4, card.brand, card.name) == ("4242", "visa", "Ada")

    def test_this_month_is_not_past(self) -> None:
        assert read_card_form("4242424242424242", "06/27", "123", "A", today=TODAY)[1] == []
        assert read_card_form("4242424242424242", "05/27", "123", "A", today=TODAY)[1] == [
            "expiry_past"
        ]

    def test_reports_every_problem(self) -> None:
        card, problems = read_card_form("4242", "99/99", "1", "", today=TODAY)

        assert card is None
        assert problems == ["card_number_invalid", "expiry_invalid", "cvc_invalid", "name_missing"]

    def test_refuses_non_ascii_digits(self) -> None:
        assert read_card_form("٤٢٤٢٤٢٤٢٤٢٤٢٤٢٤٢", "06/27", "123", "A", today=TODAY)[1] == [
            "card_number_invalid"
        ]


class TestFormatAmount:
    @pytest.mark.parametrize(
        ("amount", "currency", "locale", "shown"),
        [
            (29900, "TRY", "tr", "₺299,00"),
            (29900, "TRY", "en", "TRY 299.00"),
            (299000, "TRY", "tr", "₺2.990,00"),
            (299000, "TRY", "en", "TRY 2,990.00"),
            (1999, "usd", "tr", "$19,99"),
            (1999, "CHF", "tr", "19,99 CHF"),
            (500, "JPY", "en", "JPY 500"),
        ],
    )
    def test_formats(self, amount: int, currency: str, locale: str, shown: str) -> None:
        assert format_amount(amount, currency, locale) == shown

    def test_both_languages_have_every_text(self) -> None:
        assert set(TEXT["en"]) == set(TEXT["tr"])
