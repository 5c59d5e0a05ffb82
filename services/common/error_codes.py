"""The one registry of error codes.

Every error any gw_stack service answers with, and every ``error`` of a failed
payment attempt, has its code here with its HTTP status and the user-facing
message in English and Turkish. ``docs/payment_error_codes.md`` is generated
from this table (``gwstack docs error-codes``) and a test keeps the two equal.
Codes are public contract: add new ones, never rename these.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Area = Literal["common", "billing", "payment", "webhook", "planner", "plan"]


@dataclass(frozen=True, slots=True)
class ErrorSpec:
    code: str
    http_status: int | None  # None: not an HTTP answer, only a payment attempt's `error`
    area: Area
    en: str
    tr: str

    def message(self, locale: str | None) -> str:
        return self.tr if locale == "tr" else self.en


_SPECS: tuple[ErrorSpec, ...] = (
    # -- any service ---------------------------------------------------------
    ErrorSpec(
        "VALIDATION_ERROR",
        422,
        "common",
        "Some fields are missing or have the wrong type.",
        "Bazı alanlar eksik ya da hatalı türde.",
    ),
    ErrorSpec(
        "INVALID_JSON",
        400,
        "common",
        "The request body is not valid JSON.",
        "İstek gövdesi geçerli bir JSON değil.",
    ),
    ErrorSpec(
        "UNAUTHENTICATED", 401, "common", "Please sign in again.", "Lütfen yeniden giriş yapın."
    ),
    ErrorSpec(
        "NOT_FOUND",
        404,
        "common",
        "We could not find what you asked for.",
        "Aradığınız kaydı bulamadık.",
    ),
    ErrorSpec(
        "METHOD_NOT_ALLOWED",
        405,
        "common",
        "This address does not accept that kind of request.",
        "Bu adres bu tür bir isteği kabul etmiyor.",
    ),
    ErrorSpec("PAYLOAD_TOO_LARGE", 413, "common", "The request is too large.", "İstek çok büyük."),
    ErrorSpec(
        "UNSUPPORTED_MEDIA_TYPE",
        415,
        "common",
        "Send the request body as JSON.",
        "İstek gövdesini JSON olarak gönderin.",
    ),
    ErrorSpec(
        "RATE_LIMITED",
        429,
        "common",
        "Too many requests. Please wait a moment and try again.",
        "Çok fazla istek gönderildi. Lütfen biraz bekleyip tekrar deneyin.",
    ),
    ErrorSpec(
        "INTERNAL_ERROR",
        500,
        "common",
        "Something went wrong on our side. Please try again.",
        "Bizden kaynaklı bir sorun oluştu. Lütfen tekrar deneyin.",
    ),
    ErrorSpec(
        "SERVICE_UNAVAILABLE",
        503,
        "common",
        "The service is temporarily unavailable. Please try again shortly.",
        "Hizmet geçici olarak kullanılamıyor. Lütfen kısa süre sonra tekrar deneyin.",
    ),
    # -- billing_api -----------------------------------------------------------
    ErrorSpec(
        "SUBSCRIPTION_NOT_FOUND",
        404,
        "billing",
        "You do not have a subscription yet.",
        "Henüz bir aboneliğiniz yok.",
    ),
    ErrorSpec("PLAN_NOT_FOUND", 404, "billing", "That plan does not exist.", "Böyle bir plan yok."),
    ErrorSpec(
        "PAYMENT_ATTEMPT_NOT_FOUND",
        404,
        "billing",
        "We could not find that payment.",
        "Bu ödemeyi bulamadık.",
    ),
    ErrorSpec(
        "ALREADY_SUBSCRIBED",
        409,
        "billing",
        "You already have an active subscription.",
        "Zaten etkin bir aboneliğiniz var.",
    ),
    ErrorSpec(
        "PLAN_NOT_PURCHASABLE",
        422,
        "billing",
        "That plan cannot be bought; it is free.",
        "Bu plan satın alınamaz; ücretsizdir.",
    ),
    ErrorSpec(
        "IDEMPOTENCY_KEY_REUSED",
        409,
        "billing",
        "This request key was already used for a different request.",
        "Bu istek anahtarı farklı bir istek için zaten kullanıldı.",
    ),
    ErrorSpec(
        "IDEMPOTENCY_KEY_IN_PROGRESS",
        409,
        "billing",
        "The same request is still being processed. Please try again in a moment.",
        "Aynı istek hâlâ işleniyor. Lütfen biraz sonra tekrar deneyin.",
    ),
    ErrorSpec(
        "IDEMPOTENCY_KEY_INVALID",
        422,
        "billing",
        "The Idempotency-Key header must be 1 to 255 visible characters.",
        "Idempotency-Key başlığı 1 ile 255 arasında görünür karakter olmalı.",
    ),
    ErrorSpec(
        "REDIRECT_URL_NOT_ALLOWED",
        422,
        "billing",
        "The return address is not allowed.",
        "Dönüş adresine izin verilmiyor.",
    ),
    ErrorSpec(
        "SUBSCRIPTION_NOT_CANCELABLE",
        409,
        "billing",
        "This subscription cannot be changed in its current state.",
        "Bu abonelik mevcut durumunda değiştirilemez.",
    ),
    ErrorSpec(
        "PROVIDER_UNAVAILABLE",
        503,
        "billing",
        "The payment service is not reachable right now. Please try again shortly.",
        "Ödeme hizmetine şu anda ulaşılamıyor. Lütfen kısa süre sonra tekrar deneyin.",
    ),
    # -- a payment attempt's `error` ------------------------------------------
    ErrorSpec(
        "CARD_DECLINED",
        None,
        "payment",
        "Your card was declined. Please try another card.",
        "Kartınız reddedildi. Lütfen başka bir kart deneyin.",
    ),
    ErrorSpec(
        "INSUFFICIENT_FUNDS",
        None,
        "payment",
        "Your card has insufficient funds.",
        "Kartınızın bakiyesi yetersiz.",
    ),
    ErrorSpec(
        "EXPIRED_CARD", None, "payment", "Your card has expired.", "Kartınızın süresi dolmuş."
    ),
    ErrorSpec(
        "INCORRECT_CVC",
        None,
        "payment",
        "The card's security code is incorrect.",
        "Kartın güvenlik kodu hatalı.",
    ),
    ErrorSpec(
        "PROCESSING_ERROR",
        None,
        "payment",
        "The payment could not be processed. Please try again.",
        "Ödeme işlenemedi. Lütfen tekrar deneyin.",
    ),
    ErrorSpec(
        "AUTHENTICATION_FAILED",
        None,
        "payment",
        "Your bank could not verify the payment.",
        "Bankanız ödemeyi doğrulayamadı.",
    ),
    ErrorSpec(
        "CHECKOUT_EXPIRED",
        None,
        "payment",
        "The payment page expired before the payment was made.",
        "Ödeme yapılmadan ödeme sayfasının süresi doldu.",
    ),
    ErrorSpec(
        "CHECKOUT_CANCELED",
        None,
        "payment",
        "You canceled the payment. You were not charged.",
        "Ödemeyi iptal ettiniz. Sizden ücret alınmadı.",
    ),
    # -- webhooks --------------------------------------------------------------
    ErrorSpec(
        "WEBHOOK_SIGNATURE_INVALID",
        400,
        "webhook",
        "The webhook signature is missing, wrong or too old.",
        "Webhook imzası eksik, hatalı ya da çok eski.",
    ),
    ErrorSpec(
        "WEBHOOK_PAYLOAD_INVALID",
        400,
        "webhook",
        "The webhook is signed but its content cannot be read.",
        "Webhook imzalı ancak içeriği okunamıyor.",
    ),
    ErrorSpec(
        "PROVIDER_NOT_CONFIGURED",
        404,
        "webhook",
        "No payment provider of that name is configured.",
        "Bu adla yapılandırılmış bir ödeme sağlayıcısı yok.",
    ),
    # -- planner ---------------------------------------------------------------
    ErrorSpec(
        "FEATURE_NOT_AVAILABLE",
        403,
        "planner",
        "This feature is part of the paid plan.",
        "Bu özellik ücretli plana dahildir.",
    ),
    ErrorSpec(
        "PLAN_CONCURRENCY_LIMIT",
        429,
        "planner",
        "You are already compiling as many plans as your tier allows.",
        "Paketinizin izin verdiği kadar planı zaten derliyorsunuz.",
    ),
    ErrorSpec(
        "SAVED_PLAN_NOT_FOUND",
        404,
        "planner",
        "We could not find that saved plan.",
        "Bu kayıtlı planı bulamadık.",
    ),
    # -- plan documents (planner validation) -----------------------------------
    ErrorSpec(
        "PLAN_INVALID",
        422,
        "plan",
        "The plan has problems; see the list of errors.",
        "Planda sorunlar var; hata listesine bakın.",
    ),
    ErrorSpec(
        "PLAN_INVALID_JSON",
        400,
        "plan",
        "The plan is not valid JSON.",
        "Plan geçerli bir JSON değil.",
    ),
    ErrorSpec(
        "PLAN_TOO_LARGE",
        413,
        "plan",
        "The plan has more tasks than your tier allows.",
        "Planda paketinizin izin verdiğinden fazla görev var.",
    ),
    ErrorSpec(
        "PLAN_SCHEMA_VERSION_UNSUPPORTED",
        422,
        "plan",
        "This plan format version is not supported.",
        "Bu plan biçimi sürümü desteklenmiyor.",
    ),
    ErrorSpec(
        "PLAN_FIELD_REQUIRED",
        422,
        "plan",
        "A required field is missing.",
        "Zorunlu bir alan eksik.",
    ),
    ErrorSpec(
        "PLAN_FIELD_TYPE",
        422,
        "plan",
        "A field has the wrong type or format.",
        "Bir alanın türü ya da biçimi hatalı.",
    ),
    ErrorSpec(
        "PLAN_FIELD_UNKNOWN",
        422,
        "plan",
        "The plan contains a field we do not know.",
        "Planda tanınmayan bir alan var.",
    ),
    ErrorSpec(
        "PLAN_DUPLICATE_ID",
        422,
        "plan",
        "Two items share the same id.",
        "İki öğe aynı kimliği taşıyor.",
    ),
    ErrorSpec(
        "PLAN_UNKNOWN_DEPENDENCY",
        422,
        "plan",
        "A task depends on a task that does not exist.",
        "Bir görev, var olmayan bir göreve bağlı.",
    ),
    ErrorSpec(
        "PLAN_SELF_DEPENDENCY",
        422,
        "plan",
        "A task cannot depend on itself.",
        "Bir görev kendisine bağlı olamaz.",
    ),
    ErrorSpec(
        "PLAN_CYCLE",
        422,
        "plan",
        "Some tasks depend on each other in a loop.",
        "Bazı görevler birbirine döngü halinde bağlı.",
    ),
    ErrorSpec(
        "PLAN_NEGATIVE_DURATION",
        422,
        "plan",
        "A duration cannot be negative.",
        "Süre negatif olamaz.",
    ),
    ErrorSpec(
        "PLAN_MILESTONE_DURATION",
        422,
        "plan",
        "A milestone must have a duration of zero.",
        "Bir kilometre taşının süresi sıfır olmalı.",
    ),
    ErrorSpec(
        "PLAN_INVALID_DATE",
        422,
        "plan",
        "A date is not a valid YYYY-MM-DD date.",
        "Bir tarih geçerli bir YYYY-AA-GG tarihi değil.",
    ),
    ErrorSpec(
        "PLAN_UNKNOWN_TIMEZONE",
        422,
        "plan",
        "The time zone is not known.",
        "Saat dilimi tanınmıyor.",
    ),
    ErrorSpec(
        "PLAN_UNKNOWN_CALENDAR",
        422,
        "plan",
        "A calendar that does not exist is referenced.",
        "Var olmayan bir takvime başvuruluyor.",
    ),
    ErrorSpec(
        "PLAN_UNKNOWN_RESOURCE",
        422,
        "plan",
        "A resource that does not exist is assigned.",
        "Var olmayan bir kaynak atanmış.",
    ),
    ErrorSpec(
        "PLAN_UNKNOWN_PARENT",
        422,
        "plan",
        "A task's parent does not exist.",
        "Bir görevin üst görevi yok.",
    ),
    ErrorSpec(
        "PLAN_EMPTY_WORKWEEK",
        422,
        "plan",
        "A calendar needs at least one working day a week.",
        "Bir takvimde haftada en az bir çalışma günü olmalı.",
    ),
    ErrorSpec(
        "PLAN_LAG_OUT_OF_RANGE",
        422,
        "plan",
        "A dependency lag is out of the allowed range.",
        "Bir bağımlılık gecikmesi izin verilen aralığın dışında.",
    ),
    ErrorSpec(
        "PLAN_HORIZON_EXCEEDED",
        422,
        "plan",
        "The schedule runs past the furthest date we can plan.",
        "Takvim planlayabildiğimiz en ileri tarihi aşıyor.",
    ),
)

REGISTRY: dict[str, ErrorSpec] = {spec.code: spec for spec in _SPECS}


def spec_for(code: str) -> ErrorSpec:
    """The registered spec; an unregistered code is a bug, not a client error."""
    return REGISTRY[code]
