"""Test cards and the card form: what the sandbox's pretend bank says about a card.

The numbers are Stripe's test cards, so people already know them. Any other
number that passes the Luhn check is approved and renews normally, like
Stripe's generic test cards. The full number and the CVC live only in the
request being served: they are never logged or stored, only the last four
digits and the brand.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from services.common.error_codes import ErrorCode
from services.sandbox_provider.models import CardBehavior


@dataclass(frozen=True, slots=True)
class SandboxCard:
    number: str
    en: str
    tr: str
    error_code: str | None = None  # the first charge fails with this code
    challenge: bool = False  # 3-D Secure before the charge
    renewals_fail: bool = False

    @property
    def behavior(self) -> CardBehavior:
        return CardBehavior.RENEWALS_FAIL if self.renewals_fail else CardBehavior.CHARGES_SUCCEED

    @property
    def spaced(self) -> str:
        return " ".join(self.number[i : i + 4] for i in range(0, len(self.number), 4))


TEST_CARDS: tuple[SandboxCard, ...] = (
    SandboxCard("4242424242424242", "Succeeds", "Başarılı"),
    SandboxCard("4000000000000002", "Declined", "Reddedilir", error_code=ErrorCode.CARD_DECLINED),
    SandboxCard(
        "4000000000009995", "Insufficient funds", "Yetersiz bakiye", ErrorCode.INSUFFICIENT_FUNDS
    ),
    SandboxCard("4000000000000069", "Expired card", "Süresi dolmuş kart", ErrorCode.EXPIRED_CARD),
    SandboxCard("4000000000000127", "Incorrect CVC", "Hatalı CVC", ErrorCode.INCORRECT_CVC),
    SandboxCard("4000000000000119", "Processing error", "İşlem hatası", ErrorCode.PROCESSING_ERROR),
    SandboxCard(
        "4000002760003184",
        "3-D Secure challenge",
        "3-D Secure doğrulaması",
        challenge=True,
    ),
    SandboxCard(
        "4000000000000341",
        "First payment succeeds, renewals fail",
        "İlk ödeme başarılı, yenilemeler başarısız",
        renewals_fail=True,
    ),
)
_BY_NUMBER = {card.number: card for card in TEST_CARDS}
_GENERIC = SandboxCard("", "Any other valid number: succeeds", "Diğer geçerli numaralar: başarılı")


def card_for(number: str) -> SandboxCard:
    return _BY_NUMBER.get(number, _GENERIC)


def luhn_ok(digits: str) -> bool:
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char)
        if index % 2 == 1:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def brand_of(digits: str) -> str:
    if digits.startswith("4"):
        return "visa"
    if digits[:2] in ("34", "37"):
        return "amex"
    if 51 <= int(digits[:2]) <= 55 or 2221 <= int(digits[:4]) <= 2720:
        return "mastercard"
    if digits.startswith("9792"):
        return "troy"
    return "unknown"


@dataclass(frozen=True, slots=True)
class EnteredCard:
    """A card as typed on the form, checked for shape. Holds the number only in memory."""

    digits: str
    name: str

    @property
    def last4(self) -> str:
        return self.digits[-4:]

    @property
    def brand(self) -> str:
        return brand_of(self.digits)

    @property
    def test_card(self) -> SandboxCard:
        return card_for(self.digits)


_EXPIRY = re.compile(r"^\s*(\d{1,2})\s*/\s*(\d{2}|\d{4})\s*$")
_SEPARATORS = re.compile(r"[\s-]")


def read_card_form(
    card_number: str, expiry: str, cvc: str, name: str, *, today: date
) -> tuple[EnteredCard | None, list[str]]:
    """The card, or the keys of every problem with the form (see ``messages``)."""
    problems: list[str] = []
    digits = _SEPARATORS.sub("", card_number)
    if not (digits.isascii() and digits.isdigit() and 12 <= len(digits) <= 19 and luhn_ok(digits)):
        problems.append("card_number_invalid")
    match = _EXPIRY.match(expiry)
    if match is None or not 1 <= int(match.group(1)) <= 12:
        problems.append("expiry_invalid")
    else:
        month, year = int(match.group(1)), int(match.group(2))
        year = year + 2000 if year < 100 else year
        # A card is good through the last day of its expiry month.
        if (year, month) < (today.year, today.month):
            problems.append("expiry_past")
    cvc = cvc.strip()
    if not (cvc.isascii() and cvc.isdigit() and 3 <= len(cvc) <= 4):
        problems.append("cvc_invalid")
    name = name.strip()
    if not name or len(name) > 100:
        problems.append("name_missing")
    if problems:
        return None, problems
    return EnteredCard(digits=digits, name=name), []
