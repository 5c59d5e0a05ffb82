"""The one registry of error codes.

Every error any gw_stack service answers with, and every ``error`` of a failed
payment attempt, has its code here with its HTTP status and the user-facing
message in English and Turkish. ``docs/payment_error_codes.md`` is generated
from this table (``gwstack docs error-codes``) and a test keeps the two equal.
Codes are public contract: add new ones, never rename these. A new code is a
member of ``ErrorCode`` plus its ``ErrorSpec`` below; raising and answering take
``ErrorCode`` members, so a mistyped code fails mypy instead of becoming a 500.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Literal

Area = Literal["common", "billing", "payment", "webhook", "planner", "plan", "plan_csv"]


class ErrorCode(StrEnum):
    """Every registered code; ``AppError(ErrorCode.X)`` makes a typo a type error."""

    VALIDATION_ERROR = "VALIDATION_ERROR"
    INVALID_JSON = "INVALID_JSON"
    UNAUTHENTICATED = "UNAUTHENTICATED"
    NOT_FOUND = "NOT_FOUND"
    METHOD_NOT_ALLOWED = "METHOD_NOT_ALLOWED"
    FORM_EXPIRED = "FORM_EXPIRED"
    PAYLOAD_TOO_LARGE = "PAYLOAD_TOO_LARGE"
    REQUEST_HEADERS_TOO_LARGE = "REQUEST_HEADERS_TOO_LARGE"
    MALFORMED_REQUEST = "MALFORMED_REQUEST"
    UNSUPPORTED_MEDIA_TYPE = "UNSUPPORTED_MEDIA_TYPE"
    RATE_LIMITED = "RATE_LIMITED"
    INTERNAL_ERROR = "INTERNAL_ERROR"
    SERVICE_UNAVAILABLE = "SERVICE_UNAVAILABLE"
    SUBSCRIPTION_NOT_FOUND = "SUBSCRIPTION_NOT_FOUND"
    PLAN_NOT_FOUND = "PLAN_NOT_FOUND"
    PAYMENT_ATTEMPT_NOT_FOUND = "PAYMENT_ATTEMPT_NOT_FOUND"
    ALREADY_SUBSCRIBED = "ALREADY_SUBSCRIBED"
    PLAN_NOT_PURCHASABLE = "PLAN_NOT_PURCHASABLE"
    IDEMPOTENCY_KEY_REUSED = "IDEMPOTENCY_KEY_REUSED"
    IDEMPOTENCY_KEY_IN_PROGRESS = "IDEMPOTENCY_KEY_IN_PROGRESS"
    IDEMPOTENCY_KEY_INVALID = "IDEMPOTENCY_KEY_INVALID"
    REDIRECT_URL_NOT_ALLOWED = "REDIRECT_URL_NOT_ALLOWED"
    SUBSCRIPTION_NOT_CANCELABLE = "SUBSCRIPTION_NOT_CANCELABLE"
    PROVIDER_UNAVAILABLE = "PROVIDER_UNAVAILABLE"
    CARD_DECLINED = "CARD_DECLINED"
    INSUFFICIENT_FUNDS = "INSUFFICIENT_FUNDS"
    EXPIRED_CARD = "EXPIRED_CARD"
    INCORRECT_CVC = "INCORRECT_CVC"
    PROCESSING_ERROR = "PROCESSING_ERROR"
    AUTHENTICATION_FAILED = "AUTHENTICATION_FAILED"
    CHECKOUT_EXPIRED = "CHECKOUT_EXPIRED"
    CHECKOUT_CANCELED = "CHECKOUT_CANCELED"
    WEBHOOK_SIGNATURE_INVALID = "WEBHOOK_SIGNATURE_INVALID"
    WEBHOOK_PAYLOAD_INVALID = "WEBHOOK_PAYLOAD_INVALID"
    PROVIDER_NOT_CONFIGURED = "PROVIDER_NOT_CONFIGURED"
    FEATURE_NOT_AVAILABLE = "FEATURE_NOT_AVAILABLE"
    PLAN_CONCURRENCY_LIMIT = "PLAN_CONCURRENCY_LIMIT"
    SAVED_PLAN_NOT_FOUND = "SAVED_PLAN_NOT_FOUND"
    PLAN_INVALID = "PLAN_INVALID"
    PLAN_INVALID_JSON = "PLAN_INVALID_JSON"
    PLAN_TOO_LARGE = "PLAN_TOO_LARGE"
    PLAN_SCHEMA_VERSION_UNSUPPORTED = "PLAN_SCHEMA_VERSION_UNSUPPORTED"
    PLAN_FIELD_REQUIRED = "PLAN_FIELD_REQUIRED"
    PLAN_FIELD_TYPE = "PLAN_FIELD_TYPE"
    PLAN_FIELD_UNKNOWN = "PLAN_FIELD_UNKNOWN"
    PLAN_DUPLICATE_ID = "PLAN_DUPLICATE_ID"
    PLAN_UNKNOWN_DEPENDENCY = "PLAN_UNKNOWN_DEPENDENCY"
    PLAN_SELF_DEPENDENCY = "PLAN_SELF_DEPENDENCY"
    PLAN_CYCLE = "PLAN_CYCLE"
    PLAN_NEGATIVE_DURATION = "PLAN_NEGATIVE_DURATION"
    PLAN_MILESTONE_DURATION = "PLAN_MILESTONE_DURATION"
    PLAN_INVALID_DATE = "PLAN_INVALID_DATE"
    PLAN_UNKNOWN_TIMEZONE = "PLAN_UNKNOWN_TIMEZONE"
    PLAN_UNKNOWN_CALENDAR = "PLAN_UNKNOWN_CALENDAR"
    PLAN_UNKNOWN_RESOURCE = "PLAN_UNKNOWN_RESOURCE"
    PLAN_UNKNOWN_PARENT = "PLAN_UNKNOWN_PARENT"
    PLAN_EMPTY_WORKWEEK = "PLAN_EMPTY_WORKWEEK"
    PLAN_LAG_OUT_OF_RANGE = "PLAN_LAG_OUT_OF_RANGE"
    PLAN_HORIZON_EXCEEDED = "PLAN_HORIZON_EXCEEDED"
    PLAN_CSV_UNREADABLE = "PLAN_CSV_UNREADABLE"
    PLAN_CSV_EMPTY = "PLAN_CSV_EMPTY"
    PLAN_CSV_MISSING_COLUMN = "PLAN_CSV_MISSING_COLUMN"
    PLAN_CSV_UNKNOWN_COLUMN = "PLAN_CSV_UNKNOWN_COLUMN"
    PLAN_CSV_DUPLICATE_COLUMN = "PLAN_CSV_DUPLICATE_COLUMN"
    PLAN_CSV_ROW_LENGTH = "PLAN_CSV_ROW_LENGTH"
    PLAN_CSV_PREDECESSOR = "PLAN_CSV_PREDECESSOR"


@dataclass(frozen=True, slots=True)
class ErrorSpec:
    code: ErrorCode
    http_status: int | None  # None: not an HTTP answer, only a payment attempt's `error`
    area: Area
    en: str
    tr: str
    # Named variants of the message for one code: (case, English, Turkish).
    cases: tuple[tuple[str, str, str], ...] = ()

    def message(self, locale: str | None, case: str | None = None) -> str:
        en, tr = self.en, self.tr
        if case is not None:
            en, tr = next((e, t) for name, e, t in self.cases if name == case)
        return tr if locale == "tr" else en


_SPECS: tuple[ErrorSpec, ...] = (
    # -- any service ---------------------------------------------------------
    ErrorSpec(
        ErrorCode.VALIDATION_ERROR,
        422,
        "common",
        "Some fields are missing or have the wrong type.",
        "Bazı alanlar eksik ya da hatalı türde.",
    ),
    ErrorSpec(
        ErrorCode.INVALID_JSON,
        400,
        "common",
        "The request body is not valid JSON.",
        "İstek gövdesi geçerli bir JSON değil.",
    ),
    ErrorSpec(
        ErrorCode.UNAUTHENTICATED,
        401,
        "common",
        "Please sign in.",
        "Lütfen giriş yapın.",
        cases=(
            (
                "expired",
                "Your session has expired. Please sign in again.",
                "Oturumunuzun süresi doldu. Lütfen yeniden giriş yapın.",
            ),
            (
                "rejected",
                "Your sign-in could not be verified. Please sign in again.",
                "Girişiniz doğrulanamadı. Lütfen yeniden giriş yapın.",
            ),
        ),
    ),
    ErrorSpec(
        ErrorCode.NOT_FOUND,
        404,
        "common",
        "We could not find what you asked for.",
        "Aradığınız kaydı bulamadık.",
    ),
    ErrorSpec(
        ErrorCode.METHOD_NOT_ALLOWED,
        405,
        "common",
        "This address does not accept that kind of request.",
        "Bu adres bu tür bir isteği kabul etmiyor.",
    ),
    ErrorSpec(
        ErrorCode.FORM_EXPIRED,
        403,
        "common",
        "This form has expired. Please reload the page and try again.",
        "Bu formun süresi doldu. Lütfen sayfayı yenileyip tekrar deneyin.",
    ),
    ErrorSpec(
        ErrorCode.PAYLOAD_TOO_LARGE, 413, "common", "The request is too large.", "İstek çok büyük."
    ),
    ErrorSpec(
        ErrorCode.REQUEST_HEADERS_TOO_LARGE,
        431,
        "common",
        "The request headers are too large or too many.",
        "İstek başlıkları çok büyük ya da çok fazla.",
    ),
    ErrorSpec(
        ErrorCode.MALFORMED_REQUEST,
        400,
        "common",
        "The request is not valid HTTP.",
        "İstek geçerli bir HTTP isteği değil.",
    ),
    ErrorSpec(
        ErrorCode.UNSUPPORTED_MEDIA_TYPE,
        415,
        "common",
        "Send the request body as JSON.",
        "İstek gövdesini JSON olarak gönderin.",
    ),
    ErrorSpec(
        ErrorCode.RATE_LIMITED,
        429,
        "common",
        "Too many requests. Please wait a moment and try again.",
        "Çok fazla istek gönderildi. Lütfen biraz bekleyip tekrar deneyin.",
    ),
    ErrorSpec(
        ErrorCode.INTERNAL_ERROR,
        500,
        "common",
        "Something went wrong on our side. Please try again.",
        "Bizden kaynaklı bir sorun oluştu. Lütfen tekrar deneyin.",
    ),
    ErrorSpec(
        ErrorCode.SERVICE_UNAVAILABLE,
        503,
        "common",
        "The service is temporarily unavailable. Please try again shortly.",
        "Hizmet geçici olarak kullanılamıyor. Lütfen kısa süre sonra tekrar deneyin.",
    ),
    # -- billing_api -----------------------------------------------------------
    ErrorSpec(
        ErrorCode.SUBSCRIPTION_NOT_FOUND,
        404,
        "billing",
        "You do not have a subscription yet.",
        "Henüz bir aboneliğiniz yok.",
    ),
    ErrorSpec(
        ErrorCode.PLAN_NOT_FOUND, 404, "billing", "That plan does not exist.", "Böyle bir plan yok."
    ),
    ErrorSpec(
        ErrorCode.PAYMENT_ATTEMPT_NOT_FOUND,
        404,
        "billing",
        "We could not find that payment.",
        "Bu ödemeyi bulamadık.",
    ),
    ErrorSpec(
        ErrorCode.ALREADY_SUBSCRIBED,
        409,
        "billing",
        "You already have an active subscription.",
        "Zaten etkin bir aboneliğiniz var.",
    ),
    ErrorSpec(
        ErrorCode.PLAN_NOT_PURCHASABLE,
        422,
        "billing",
        "That plan cannot be bought; it is free.",
        "Bu plan satın alınamaz; ücretsizdir.",
    ),
    ErrorSpec(
        ErrorCode.IDEMPOTENCY_KEY_REUSED,
        409,
        "billing",
        "This request key was already used for a different request.",
        "Bu istek anahtarı farklı bir istek için zaten kullanıldı.",
    ),
    ErrorSpec(
        ErrorCode.IDEMPOTENCY_KEY_IN_PROGRESS,
        409,
        "billing",
        "The same request is still being processed. Please try again in a moment.",
        "Aynı istek hâlâ işleniyor. Lütfen biraz sonra tekrar deneyin.",
    ),
    ErrorSpec(
        ErrorCode.IDEMPOTENCY_KEY_INVALID,
        422,
        "billing",
        "The Idempotency-Key header must be 1 to 255 visible characters.",
        "Idempotency-Key başlığı 1 ile 255 arasında görünür karakter olmalı.",
    ),
    ErrorSpec(
        ErrorCode.REDIRECT_URL_NOT_ALLOWED,
        422,
        "billing",
        "The return address is not allowed.",
        "Dönüş adresine izin verilmiyor.",
    ),
    ErrorSpec(
        ErrorCode.SUBSCRIPTION_NOT_CANCELABLE,
        409,
        "billing",
        "This subscription cannot be changed in its current state.",
        "Bu abonelik mevcut durumunda değiştirilemez.",
    ),
    ErrorSpec(
        ErrorCode.PROVIDER_UNAVAILABLE,
        503,
        "billing",
        "The payment service is not reachable right now. Please try again shortly.",
        "Ödeme hizmetine şu anda ulaşılamıyor. Lütfen kısa süre sonra tekrar deneyin.",
    ),
    # -- a payment attempt's `error` ------------------------------------------
    ErrorSpec(
        ErrorCode.CARD_DECLINED,
        None,
        "payment",
        "Your card was declined. Please try another card.",
        "Kartınız reddedildi. Lütfen başka bir kart deneyin.",
    ),
    ErrorSpec(
        ErrorCode.INSUFFICIENT_FUNDS,
        None,
        "payment",
        "Your card has insufficient funds.",
        "Kartınızın bakiyesi yetersiz.",
    ),
    ErrorSpec(
        ErrorCode.EXPIRED_CARD,
        None,
        "payment",
        "Your card has expired.",
        "Kartınızın süresi dolmuş.",
    ),
    ErrorSpec(
        ErrorCode.INCORRECT_CVC,
        None,
        "payment",
        "The card's security code is incorrect.",
        "Kartın güvenlik kodu hatalı.",
    ),
    ErrorSpec(
        ErrorCode.PROCESSING_ERROR,
        None,
        "payment",
        "The payment could not be processed. Please try again.",
        "Ödeme işlenemedi. Lütfen tekrar deneyin.",
    ),
    ErrorSpec(
        ErrorCode.AUTHENTICATION_FAILED,
        None,
        "payment",
        "Your bank could not verify the payment.",
        "Bankanız ödemeyi doğrulayamadı.",
    ),
    ErrorSpec(
        ErrorCode.CHECKOUT_EXPIRED,
        None,
        "payment",
        "The payment page expired before the payment was made.",
        "Ödeme yapılmadan ödeme sayfasının süresi doldu.",
    ),
    ErrorSpec(
        ErrorCode.CHECKOUT_CANCELED,
        None,
        "payment",
        "You canceled the payment. You were not charged.",
        "Ödemeyi iptal ettiniz. Sizden ücret alınmadı.",
    ),
    # -- webhooks --------------------------------------------------------------
    ErrorSpec(
        ErrorCode.WEBHOOK_SIGNATURE_INVALID,
        400,
        "webhook",
        "The webhook signature is missing, wrong or too old.",
        "Webhook imzası eksik, hatalı ya da çok eski.",
    ),
    ErrorSpec(
        ErrorCode.WEBHOOK_PAYLOAD_INVALID,
        400,
        "webhook",
        "The webhook is signed but its content cannot be read.",
        "Webhook imzalı ancak içeriği okunamıyor.",
    ),
    ErrorSpec(
        ErrorCode.PROVIDER_NOT_CONFIGURED,
        404,
        "webhook",
        "No payment provider of that name is configured.",
        "Bu adla yapılandırılmış bir ödeme sağlayıcısı yok.",
    ),
    # -- planner ---------------------------------------------------------------
    ErrorSpec(
        ErrorCode.FEATURE_NOT_AVAILABLE,
        403,
        "planner",
        "This feature is part of the paid plan.",
        "Bu özellik ücretli plana dahildir.",
    ),
    ErrorSpec(
        ErrorCode.PLAN_CONCURRENCY_LIMIT,
        429,
        "planner",
        "You are already compiling as many plans as your tier allows.",
        "Paketinizin izin verdiği kadar planı zaten derliyorsunuz.",
    ),
    ErrorSpec(
        ErrorCode.SAVED_PLAN_NOT_FOUND,
        404,
        "planner",
        "We could not find that saved plan.",
        "Bu kayıtlı planı bulamadık.",
    ),
    # -- plan documents (planner validation) -----------------------------------
    ErrorSpec(
        ErrorCode.PLAN_INVALID,
        422,
        "plan",
        "The plan has problems; see the list of errors.",
        "Planda sorunlar var; hata listesine bakın.",
    ),
    ErrorSpec(
        ErrorCode.PLAN_INVALID_JSON,
        400,
        "plan",
        "The plan is not valid JSON.",
        "Plan geçerli bir JSON değil.",
    ),
    ErrorSpec(
        ErrorCode.PLAN_TOO_LARGE,
        413,
        "plan",
        "The plan has more tasks than your tier allows.",
        "Planda paketinizin izin verdiğinden fazla görev var.",
    ),
    ErrorSpec(
        ErrorCode.PLAN_SCHEMA_VERSION_UNSUPPORTED,
        422,
        "plan",
        "This plan format version is not supported.",
        "Bu plan biçimi sürümü desteklenmiyor.",
    ),
    ErrorSpec(
        ErrorCode.PLAN_FIELD_REQUIRED,
        422,
        "plan",
        "A required field is missing.",
        "Zorunlu bir alan eksik.",
    ),
    ErrorSpec(
        ErrorCode.PLAN_FIELD_TYPE,
        422,
        "plan",
        "A field has the wrong type or format.",
        "Bir alanın türü ya da biçimi hatalı.",
    ),
    ErrorSpec(
        ErrorCode.PLAN_FIELD_UNKNOWN,
        422,
        "plan",
        "The plan contains a field we do not know.",
        "Planda tanınmayan bir alan var.",
    ),
    ErrorSpec(
        ErrorCode.PLAN_DUPLICATE_ID,
        422,
        "plan",
        "Two items share the same id.",
        "İki öğe aynı kimliği taşıyor.",
    ),
    ErrorSpec(
        ErrorCode.PLAN_UNKNOWN_DEPENDENCY,
        422,
        "plan",
        "A task depends on a task that does not exist.",
        "Bir görev, var olmayan bir göreve bağlı.",
    ),
    ErrorSpec(
        ErrorCode.PLAN_SELF_DEPENDENCY,
        422,
        "plan",
        "A task cannot depend on itself.",
        "Bir görev kendisine bağlı olamaz.",
    ),
    ErrorSpec(
        ErrorCode.PLAN_CYCLE,
        422,
        "plan",
        "Some tasks depend on each other in a loop.",
        "Bazı görevler birbirine döngü halinde bağlı.",
    ),
    ErrorSpec(
        ErrorCode.PLAN_NEGATIVE_DURATION,
        422,
        "plan",
        "A duration cannot be negative.",
        "Süre negatif olamaz.",
    ),
    ErrorSpec(
        ErrorCode.PLAN_MILESTONE_DURATION,
        422,
        "plan",
        "A milestone must have a duration of zero.",
        "Bir kilometre taşının süresi sıfır olmalı.",
    ),
    ErrorSpec(
        ErrorCode.PLAN_INVALID_DATE,
        422,
        "plan",
        "A date is not a valid YYYY-MM-DD date.",
        "Bir tarih geçerli bir YYYY-AA-GG tarihi değil.",
    ),
    ErrorSpec(
        ErrorCode.PLAN_UNKNOWN_TIMEZONE,
        422,
        "plan",
        "The time zone is not known.",
        "Saat dilimi tanınmıyor.",
    ),
    ErrorSpec(
        ErrorCode.PLAN_UNKNOWN_CALENDAR,
        422,
        "plan",
        "A calendar that does not exist is referenced.",
        "Var olmayan bir takvime başvuruluyor.",
    ),
    ErrorSpec(
        ErrorCode.PLAN_UNKNOWN_RESOURCE,
        422,
        "plan",
        "A resource that does not exist is assigned.",
        "Var olmayan bir kaynak atanmış.",
    ),
    ErrorSpec(
        ErrorCode.PLAN_UNKNOWN_PARENT,
        422,
        "plan",
        "A task's parent does not exist.",
        "Bir görevin üst görevi yok.",
    ),
    ErrorSpec(
        ErrorCode.PLAN_EMPTY_WORKWEEK,
        422,
        "plan",
        "A calendar needs at least one working day a week.",
        "Bir takvimde haftada en az bir çalışma günü olmalı.",
    ),
    ErrorSpec(
        ErrorCode.PLAN_LAG_OUT_OF_RANGE,
        422,
        "plan",
        "A dependency lag is out of the allowed range.",
        "Bir bağımlılık gecikmesi izin verilen aralığın dışında.",
    ),
    ErrorSpec(
        ErrorCode.PLAN_HORIZON_EXCEEDED,
        422,
        "plan",
        "The schedule runs past the furthest date we can plan.",
        "Takvim planlayabildiğimiz en ileri tarihi aşıyor.",
    ),
    # -- CSV task lists (POST /v1/plan/from_csv); each problem names its row and column --
    ErrorSpec(
        ErrorCode.PLAN_CSV_UNREADABLE,
        422,
        "plan_csv",
        'The file cannot be read as CSV. Save it as "CSV UTF-8" and try again.',
        'Dosya CSV olarak okunamıyor. "CSV UTF-8" olarak kaydedip yeniden deneyin.',
    ),
    ErrorSpec(
        ErrorCode.PLAN_CSV_EMPTY,
        422,
        "plan_csv",
        "The file has no task rows.",
        "Dosyada görev satırı yok.",
    ),
    ErrorSpec(
        ErrorCode.PLAN_CSV_MISSING_COLUMN,
        422,
        "plan_csv",
        "The first row must name the columns; a required column is missing.",
        "İlk satır sütunları adlandırmalı; zorunlu bir sütun eksik.",
    ),
    ErrorSpec(
        ErrorCode.PLAN_CSV_UNKNOWN_COLUMN,
        422,
        "plan_csv",
        "A column has a name we do not know.",
        "Bir sütunun adı tanınmıyor.",
    ),
    ErrorSpec(
        ErrorCode.PLAN_CSV_DUPLICATE_COLUMN,
        422,
        "plan_csv",
        "The same column appears twice.",
        "Aynı sütun iki kez yer alıyor.",
    ),
    ErrorSpec(
        ErrorCode.PLAN_CSV_ROW_LENGTH,
        422,
        "plan_csv",
        "A row has more cells than the header has columns.",
        "Bir satırda başlıktaki sütunlardan fazla hücre var.",
    ),
    ErrorSpec(
        ErrorCode.PLAN_CSV_PREDECESSOR,
        422,
        "plan_csv",
        "A predecessor is not written as an id with an optional type and lag (build FS+2).",
        "Bir öncül görev, kimlik ve isteğe bağlı tür ve gecikme biçiminde yazılmamış (build FS+2).",
    ),
)

REGISTRY: dict[ErrorCode, ErrorSpec] = {spec.code: spec for spec in _SPECS}
if not len(REGISTRY) == len(_SPECS) == len(ErrorCode):
    # Each code has exactly one spec: a missing or doubled one fails at import, not in a request.
    raise RuntimeError(
        f"error registry out of step with ErrorCode: {set(ErrorCode) ^ set(REGISTRY)}"
    )


def spec_for(code: ErrorCode) -> ErrorSpec:
    """The registered spec of a code."""
    return REGISTRY[code]


def known_code(code: str | None, *, default: ErrorCode) -> ErrorCode:
    """A stored or provider-sent code as a registered one; ``default`` for anything else."""
    try:
        return ErrorCode(code) if code is not None else default
    except ValueError:
        return default
