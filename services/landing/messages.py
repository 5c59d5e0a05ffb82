"""Everything the landing site says, in Turkish and English: one catalogue.

Page texts live in ``TEXT``. What an error code means to a user is not repeated
here: ``error_message`` reads it from the one registry (services/common/error_codes.py),
so the landing site says exactly what billing_api's answers say. ``ERROR_HINTS``
adds, for a few codes, what the user can do next.
"""

from __future__ import annotations

from typing import Literal

from services.common.error_codes import ErrorCode, spec_for
from services.landing.messages_app import APP_TEXT

Locale = Literal["tr", "en"]
LOCALES: tuple[Locale, ...] = ("tr", "en")

TEXT: dict[Locale, dict[str, str]] = {
    "en": {
        "site": "gw_stack Planner",
        "skip": "Skip to content",
        "nav_pricing": "Pricing",
        "nav_account": "Account",
        "nav_signin": "Sign in",
        "signout": "Sign out",
        "signed_in_as": "Signed in as {who}",
        "language": "Language",
        "pricing_title": "Plans and pricing",
        "pricing_lead": "Plan projects for free. Upgrade when you want to save and export them.",
        "per_month": "per month",
        "per_year": "per year",
        "free_forever": "Free forever",
        "trial_days": "{days}-day free trial",
        "no_trial": "No trial; billed from today",
        "choose_plan": "Choose {plan}",
        "current_free": "You start here",
        "unlocks": "What you get",
        "unlock_save": "Save plans",
        "unlock_export": "Export to calendar (iCalendar) and CSV",
        "unlock_concurrent": "{n} plan(s) compiling at once",
        "unlock_tasks": "Up to {n} tasks per plan",
        "unlocks_unavailable": "Feature details are not available right now.",
        "yes": "Included",
        "no": "Not included",
        "signin_title": "Sign in",
        "signin_lead": "Development sign-in: enter any email address; no password.",
        "signin_email": "Email address",
        "signin_submit": "Sign in",
        "signin_email_invalid": "Enter a valid email address.",
        "signin_disabled": "Sign-in is handled by your company's identity provider.",
        "signin_required": "Please sign in to choose a plan.",
        "redirect_title": "Redirecting you to the secure payment page",
        "redirect_portal_title": "Redirecting you to the secure card page",
        "redirect_body": "If nothing happens in a few seconds, use the link below.",
        "redirect_link": "Continue to the secure page",
        "result_success_title": "Payment result",
        "result_cancel_title": "Payment result",
        "result_pending": "We are waiting for the payment provider to confirm your payment…",
        "result_pending_hint": "This page updates by itself.",
        "result_succeeded": "Payment received. Your {plan} subscription: {status}.",
        "result_succeeded_plain": "Payment received. Thank you!",
        "result_try_another_card": "Try another card",
        "result_try_again": "Try again",
        "result_go_account": "Go to your account",
        "result_back_pricing": "Back to plans",
        "result_refresh": "Check again",
        "account_title": "Your account",
        "account_plan": "Plan",
        "account_status": "Status",
        "account_period_end": "Current period ends",
        "account_trial_end": "Trial ends",
        "account_renews": "Renews automatically",
        "account_ends": "Ends on {date}; it will not renew",
        "account_free": "You are on the Free plan.",
        "account_see_plans": "See paid plans",
        "account_cancel": "Cancel at period end",
        "account_resume": "Keep my subscription",
        "account_update_card": "Update card",
        "account_card_hint": "Your card is entered on the payment provider's page, never here.",
        "account_canceled_notice": "Your subscription will end on {date}.",
        "account_resumed_notice": "Your subscription will renew as usual.",
        "account_portal_notice": (
            "Thank you. If you changed your card, the status below updates within a few seconds."
        ),
        "status_trialing": "In free trial",
        "status_active": "Active",
        "status_incomplete": "Waiting for the first payment",
        "status_incomplete_expired": "First payment never completed",
        "status_past_due": "Payment overdue: please update your card",
        "status_unpaid": "Unpaid: paid features are paused until you pay",
        "status_canceled": "Canceled",
        "status_paused": "Paused",
        "status_unknown": "Unknown",
        "error_title": "Something went wrong",
        "error_code": "Error code",
        "back_home": "Back to the home page",
        "nothing_lost": "Nothing was charged and nothing was lost.",
        "retry_later": "Please try again in a moment.",
        "smaller_request": "Upload a smaller file, or split the plan into smaller ones.",
    },
    "tr": {
        "site": "gw_stack Planlayıcı",
        "skip": "İçeriğe geç",
        "nav_pricing": "Fiyatlar",
        "nav_account": "Hesabım",
        "nav_signin": "Giriş yap",
        "signout": "Çıkış yap",
        "signed_in_as": "{who} olarak giriş yapıldı",
        "language": "Dil",
        "pricing_title": "Paketler ve fiyatlar",
        "pricing_lead": (
            "Projelerinizi ücretsiz planlayın. Kaydetmek ve dışa aktarmak için yükseltin."
        ),
        "per_month": "aylık",
        "per_year": "yıllık",
        "free_forever": "Her zaman ücretsiz",
        "trial_days": "{days} gün ücretsiz deneme",
        "no_trial": "Deneme yok; ödeme bugünden başlar",
        "choose_plan": "{plan} paketini seç",
        "current_free": "Buradan başlarsınız",
        "unlocks": "Neler dahil",
        "unlock_save": "Planları kaydetme",
        "unlock_export": "Takvime (iCalendar) ve CSV'ye aktarma",
        "unlock_concurrent": "Aynı anda {n} plan derleme",
        "unlock_tasks": "Plan başına en fazla {n} görev",
        "unlocks_unavailable": "Özellik ayrıntıları şu anda gösterilemiyor.",
        "yes": "Dahil",
        "no": "Dahil değil",
        "signin_title": "Giriş yap",
        "signin_lead": "Geliştirme girişi: herhangi bir e-posta adresi girin; şifre gerekmez.",
        "signin_email": "E-posta adresi",
        "signin_submit": "Giriş yap",
        "signin_email_invalid": "Geçerli bir e-posta adresi girin.",
        "signin_disabled": "Giriş, şirketinizin kimlik sağlayıcısı üzerinden yapılır.",
        "signin_required": "Paket seçmek için lütfen giriş yapın.",
        "redirect_title": "Ödeme sayfasına yönlendiriliyorsunuz",
        "redirect_portal_title": "Güvenli kart sayfasına yönlendiriliyorsunuz",
        "redirect_body": "Birkaç saniye içinde bir şey olmazsa aşağıdaki bağlantıyı kullanın.",
        "redirect_link": "Güvenli sayfaya devam et",
        "result_success_title": "Ödeme sonucu",
        "result_cancel_title": "Ödeme sonucu",
        "result_pending": "Ödeme sağlayıcısının ödemenizi onaylamasını bekliyoruz…",
        "result_pending_hint": "Bu sayfa kendiliğinden güncellenir.",
        "result_succeeded": "Ödeme alındı. {plan} aboneliğiniz: {status}.",
        "result_succeeded_plain": "Ödeme alındı. Teşekkürler!",
        "result_try_another_card": "Başka bir kart dene",
        "result_try_again": "Tekrar dene",
        "result_go_account": "Hesabıma git",
        "result_back_pricing": "Paketlere dön",
        "result_refresh": "Yeniden kontrol et",
        "account_title": "Hesabınız",
        "account_plan": "Paket",
        "account_status": "Durum",
        "account_period_end": "Dönem bitişi",
        "account_trial_end": "Deneme bitişi",
        "account_renews": "Otomatik olarak yenilenir",
        "account_ends": "{date} tarihinde sona erer; yenilenmeyecek",
        "account_free": "Ücretsiz paketi kullanıyorsunuz.",
        "account_see_plans": "Ücretli paketleri gör",
        "account_cancel": "Dönem sonunda iptal et",
        "account_resume": "Aboneliğim devam etsin",
        "account_update_card": "Kartı güncelle",
        "account_card_hint": "Kartınızı burada değil, ödeme sağlayıcısının sayfasında girersiniz.",
        "account_canceled_notice": "Aboneliğiniz {date} tarihinde sona erecek.",
        "account_resumed_notice": "Aboneliğiniz her zamanki gibi yenilenecek.",
        "account_portal_notice": (
            "Teşekkürler. Kartınızı değiştirdiyseniz aşağıdaki durum birkaç saniye içinde "
            "güncellenir."
        ),
        "status_trialing": "Ücretsiz denemede",
        "status_active": "Etkin",
        "status_incomplete": "İlk ödeme bekleniyor",
        "status_incomplete_expired": "İlk ödeme tamamlanmadı",
        "status_past_due": "Ödeme gecikti: lütfen kartınızı güncelleyin",
        "status_unpaid": "Ödenmedi: ödeme yapılana kadar ücretli özellikler durduruldu",
        "status_canceled": "İptal edildi",
        "status_paused": "Duraklatıldı",
        "status_unknown": "Bilinmiyor",
        "error_title": "Bir sorun oluştu",
        "error_code": "Hata kodu",
        "back_home": "Ana sayfaya dön",
        "nothing_lost": "Sizden ücret alınmadı ve hiçbir şey kaybolmadı.",
        "retry_later": "Lütfen biraz sonra tekrar deneyin.",
        "smaller_request": "Daha küçük bir dosya yükleyin ya da planı daha küçük planlara bölün.",
    },
}

for _locale in LOCALES:
    TEXT[_locale].update(APP_TEXT[_locale])

SUBSCRIPTION_STATUSES = (
    "trialing",
    "active",
    "incomplete",
    "incomplete_expired",
    "past_due",
    "unpaid",
    "canceled",
    "paused",
)

# What the user can do next, for codes whose registry message does not say it.
ERROR_HINTS: dict[str, str] = {
    "PROVIDER_UNAVAILABLE": "nothing_lost",
    "SERVICE_UNAVAILABLE": "nothing_lost",
    "IDEMPOTENCY_KEY_IN_PROGRESS": "retry_later",
    "RATE_LIMITED": "nothing_lost",
    "PAYLOAD_TOO_LARGE": "smaller_request",
}


def texts(locale: str) -> dict[str, str]:
    return TEXT["tr" if locale == "tr" else "en"]


def error_message(code: str, locale: str) -> str:
    """The registry's message for ``code``; an unknown code reads as an internal error."""
    try:
        known = ErrorCode(code)
    except ValueError:
        known = ErrorCode.INTERNAL_ERROR
    return spec_for(known).message(locale)


def error_hint(code: str, locale: str) -> str | None:
    key = ERROR_HINTS.get(code)
    return texts(locale)[key] if key else None


def status_words(status: str | None, locale: str) -> str:
    """A subscription status in words, for all eight of Stripe's statuses."""
    key = f"status_{status}" if status in SUBSCRIPTION_STATUSES else "status_unknown"
    return texts(locale)[key]
