"""What the hosted pages say, in Turkish and English, and how they show money."""

from __future__ import annotations

from typing import Any

ZERO_DECIMAL = frozenset({"JPY", "KRW", "VND", "CLP", "ISK", "HUF"})
_SYMBOLS = {"TRY": "₺", "USD": "$", "EUR": "€", "GBP": "£"}


def format_amount(amount: int, currency: str, locale: str) -> str:
    """``₺1.299,00`` in Turkish, ``TRY 1,299.00`` in English (amount in minor units)."""
    code = currency.upper()
    digits = 0 if code in ZERO_DECIMAL else 2
    text = f"{amount / 10**digits:,.{digits}f}"
    if locale == "tr":
        text = text.replace(",", "\0").replace(".", ",").replace("\0", ".")
        symbol = _SYMBOLS.get(code)
        return f"{symbol}{text}" if symbol else f"{text} {code}"
    return f"{code} {text}"


TEXT: dict[str, dict[str, str]] = {
    "en": {
        "title": "Payment",
        "sandbox": "Sandbox — no real money moves",
        "per_month": "per month",
        "per_year": "per year",
        "trial": "{days}-day free trial; first charge on {date}",
        "card_number": "Card number",
        "expiry": "Expiry (MM/YY)",
        "cvc": "CVC",
        "name": "Name on card",
        "pay": "Pay {amount}",
        "start_trial": "Start trial",
        "cancel": "Cancel and go back",
        "test_cards": "Test cards",
        "test_cards_hint": (
            "Use any future expiry, any 3-digit CVC and any name. "
            "Any other valid card number succeeds."
        ),
        "card_number_invalid": "Enter a valid card number.",
        "expiry_invalid": "Enter the expiry date as MM/YY.",
        "expiry_past": "This card's expiry date has passed.",
        "cvc_invalid": "Enter the 3 or 4 digit security code.",
        "name_missing": "Enter the name on the card.",
        "paid_title": "This payment is complete",
        "paid_body": "The payment was already made. You will not be charged again.",
        "ended_title": "This payment page is closed",
        "failed_body": "The payment did not go through: {reason}",
        "canceled_body": "The payment was canceled. You were not charged.",
        "expired_body": "This payment page expired. You were not charged.",
        "continue": "Continue",
        "not_found_title": "Payment page not found",
        "not_found_body": "This payment link is not valid.",
        "forbidden_title": "This form is out of date",
        "forbidden_body": "Please open the payment page again.",
        "back_to_payment": "Back to the payment page",
        "threeds_title": "Confirm your payment",
        "threeds_body": "Your bank asks you to confirm this payment of {amount}.",
        "threeds_approve": "Approve",
        "threeds_fail": "Fail",
        "portal_title": "Update your card",
        "portal_current": "Card on file: {brand} •••• {last4}",
        "portal_overdue": (
            "Your last payment of {amount} did not go through. Saving a new card pays it now."
        ),
        "portal_save": "Save card",
        "portal_back": "Back without changes",
        "portal_declined": "This card was not saved: {reason}",
        "portal_still_overdue_title": "Card saved, payment still due",
        "portal_still_overdue_body": (
            "The new card was saved, but charging it for the overdue payment failed. "
            "Please try another card."
        ),
        "portal_not_found_title": "Card page not found",
        "portal_not_found_body": "This link is not valid or has expired.",
    },
    "tr": {
        "title": "Ödeme",
        "sandbox": "Test ortamı — gerçek para aktarılmaz",
        "per_month": "aylık",
        "per_year": "yıllık",
        "trial": "{days} gün ücretsiz deneme; ilk ödeme {date}",
        "card_number": "Kart numarası",
        "expiry": "Son kullanma (AA/YY)",
        "cvc": "CVC",
        "name": "Kart üzerindeki isim",
        "pay": "{amount} öde",
        "start_trial": "Denemeyi başlat",
        "cancel": "Vazgeç ve geri dön",
        "test_cards": "Test kartları",
        "test_cards_hint": (
            "İleri bir son kullanma tarihi, herhangi 3 haneli CVC ve isim girin. "
            "Diğer geçerli kart numaraları da başarılı olur."
        ),
        "card_number_invalid": "Geçerli bir kart numarası girin.",
        "expiry_invalid": "Son kullanma tarihini AA/YY olarak girin.",
        "expiry_past": "Bu kartın son kullanma tarihi geçmiş.",
        "cvc_invalid": "3 ya da 4 haneli güvenlik kodunu girin.",
        "name_missing": "Kart üzerindeki ismi girin.",
        "paid_title": "Bu ödeme tamamlandı",
        "paid_body": "Ödeme zaten yapıldı. Sizden tekrar ücret alınmayacak.",
        "ended_title": "Bu ödeme sayfası kapandı",
        "failed_body": "Ödeme gerçekleşmedi: {reason}",
        "canceled_body": "Ödeme iptal edildi. Sizden ücret alınmadı.",
        "expired_body": "Bu ödeme sayfasının süresi doldu. Sizden ücret alınmadı.",
        "continue": "Devam et",
        "not_found_title": "Ödeme sayfası bulunamadı",
        "not_found_body": "Bu ödeme bağlantısı geçerli değil.",
        "forbidden_title": "Bu formun süresi geçti",
        "forbidden_body": "Lütfen ödeme sayfasını yeniden açın.",
        "back_to_payment": "Ödeme sayfasına dön",
        "threeds_title": "Ödemenizi onaylayın",
        "threeds_body": "Bankanız {amount} tutarındaki bu ödemeyi onaylamanızı istiyor.",
        "threeds_approve": "Onayla",
        "threeds_fail": "Başarısız",
        "portal_title": "Kartınızı güncelleyin",
        "portal_current": "Kayıtlı kart: {brand} •••• {last4}",
        "portal_overdue": (
            "{amount} tutarındaki son ödemeniz gerçekleşmedi. "
            "Yeni bir kart kaydettiğinizde hemen ödenir."
        ),
        "portal_save": "Kartı kaydet",
        "portal_back": "Değiştirmeden geri dön",
        "portal_declined": "Bu kart kaydedilmedi: {reason}",
        "portal_still_overdue_title": "Kart kaydedildi, ödeme hâlâ bekliyor",
        "portal_still_overdue_body": (
            "Yeni kart kaydedildi ancak gecikmiş ödeme bu karttan alınamadı. "
            "Lütfen başka bir kart deneyin."
        ),
        "portal_not_found_title": "Kart sayfası bulunamadı",
        "portal_not_found_body": "Bu bağlantı geçerli değil ya da süresi dolmuş.",
    },
}


def texts(locale: str) -> dict[str, Any]:
    return TEXT["tr" if locale == "tr" else "en"]
