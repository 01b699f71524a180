"""The customer's hosted payment page: its phases, languages, texts and the store's branding rules.

The page shows one *phase* at a time, derived from the order's public status. The texts are the
page's own (Russian and English); the per-payment-method instructions are admin settings with
the defaults below.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

LANGUAGES = ("ru", "en")
DEFAULT_LANGUAGE = "ru"
DEFAULT_ACCENT = "#1f6feb"
# a brand colour, #RRGGBB (the API's document states the same pattern); matched whole, so a
# trailing newline (which ``$`` lets through) is refused too
COLOUR_PATTERN = r"^#[0-9a-fA-F]{6}$"
_COLOUR = re.compile(COLOUR_PATTERN)

# public order status -> the page's phase
PHASES: Mapping[str, str] = {
    "processing": "searching",
    "pending_payment": "pay",
    "client_confirmed": "checking",
    "disputed": "disputed",
    "completed": "completed",
    "canceled": "canceled",
    "expired": "expired",
    "declined": "failed",
    "failed": "failed",
    "rejected": "failed",
}
# the page sends the customer back to the store once the order reached one of these
FINAL_PHASES = frozenset({"completed", "canceled", "expired", "failed"})
REDIRECT_SECONDS = 5


def display_number(kind: str | None, number: str) -> str:
    """A card number in groups of four, as printed on cards (copying takes the digits alone)."""
    if kind == "card" and number.isdigit():
        return " ".join(number[i : i + 4] for i in range(0, len(number), 4))
    return number


LOGO_MAX_BYTES = 100_000
LOGO_TYPES: Mapping[str, tuple[bytes, str]] = {  # content type → (leading bytes, extension)
    "image/png": (b"\x89PNG\r\n\x1a\n", "png"),
    "image/jpeg": (b"\xff\xd8\xff", "jpg"),
}


def logo_problem(data: bytes, content_type: str) -> str | None:
    """Why this file cannot be a store's logo (None: it can)."""
    if content_type not in LOGO_TYPES:
        return "a logo is a PNG or JPEG image"
    if not data:
        return "the file is empty"
    if len(data) > LOGO_MAX_BYTES:
        return f"a logo is at most {LOGO_MAX_BYTES // 1000} KB (this one is {len(data) // 1000} KB)"
    if not data.startswith(LOGO_TYPES[content_type][0]):
        return f"the file is not a real {content_type}"
    return None


def logo_name(sha256: str, content_type: str) -> str:
    """The logo's file name under /pay-assets/ (its hash: a new logo is a new name)."""
    return f"logo-{sha256}.{LOGO_TYPES[content_type][1]}"


def phase_of(status: str) -> str:
    return PHASES.get(status, "failed")


def is_colour(value: str) -> bool:
    return _COLOUR.fullmatch(value) is not None


def text_colour_on(accent: str) -> str:
    """Black or white, whichever reads better on ``accent`` (WCAG relative luminance)."""

    def channel(hex_pair: str) -> float:
        c = int(hex_pair, 16) / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(accent[i : i + 2]) for i in (1, 3, 5))
    luminance = 0.2126 * r + 0.7152 * g + 0.0722 * b
    return "#000000" if (luminance + 0.05) / 0.05 > 1.05 / (luminance + 0.05) else "#ffffff"


def choose_language(asked: str | None, accept_language: str | None, store_default: str | None) -> str:
    """The page's language: the one the customer switched to, else the first of ours their browser
    accepts (by its q-values), else the store's default, else Russian."""
    if asked in LANGUAGES:
        return asked
    ranked: list[tuple[float, int, str]] = []
    for position, part in enumerate((accept_language or "").split(",")):
        pieces = part.strip().split(";")
        tag = pieces[0].strip().lower().split("-")[0]
        quality = 1.0
        for parameter in pieces[1:]:
            name, _, value = parameter.strip().partition("=")
            if name == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if tag in LANGUAGES and quality > 0:
            ranked.append((-quality, position, tag))
    if ranked:
        return min(ranked)[2]
    return store_default if store_default in LANGUAGES else DEFAULT_LANGUAGE


METHOD_NAMES: Mapping[str, Mapping[str, str]] = {
    "card": {"ru": "Перевод на карту", "en": "Card transfer"},
    "sbp": {"ru": "СБП (по номеру телефона)", "en": "SBP (by phone number)"},
    "account": {"ru": "Перевод на счёт", "en": "Bank account transfer"},
}

# PAYMENT_PAGE_INSTRUCTIONS overrides these per method and language
DEFAULT_INSTRUCTIONS: Mapping[str, Mapping[str, str]] = {
    "card": {
        "ru": "Откройте приложение своего банка и переведите точную сумму на номер карты, указанный выше. "
        "Не указывайте комментарий к переводу. После перевода нажмите «Я оплатил».",
        "en": "Open your bank's app and send the exact amount to the card number above. "
        "Leave the transfer comment empty. When done, press “I have paid”.",
    },
    "sbp": {
        "ru": "В приложении банка выберите перевод по СБП, введите номер телефона, указанный выше, выберите банк "
        "получателя. Переведите точную сумму и нажмите «Я оплатил».",
        "en": "In your bank's app choose an SBP transfer, enter the phone number above and pick the "
        "recipient's bank. Send the exact amount, then press “I have paid”.",
    },
    "account": {
        "ru": "Переведите точную сумму на банковский счёт, указанный выше, и нажмите «Я оплатил».",
        "en": "Send the exact amount to the bank account above and press “I have paid”.",
    },
    "": {
        "ru": "Переведите точную сумму по реквизитам выше и нажмите «Я оплатил».",
        "en": "Send the exact amount to the details above, then press “I have paid”.",
    },
}


def instructions_for(method: str | None, language: str, overrides: Mapping[str, object] | None) -> str:
    """The instructions shown for ``method``: the admin's text when set for that method and
    language, else ours (a generic one for a method we have none for)."""
    custom = (overrides or {}).get(method or "")
    if isinstance(custom, Mapping):
        text = custom.get(language)
        if isinstance(text, str) and text.strip():
            return text.strip()
    defaults = DEFAULT_INSTRUCTIONS.get(method or "", DEFAULT_INSTRUCTIONS[""])
    return defaults[language]


TEXTS: Mapping[str, Mapping[str, str]] = {
    "ru": {
        "page_title": "Оплата заказа",
        "order": "Заказ",
        "amount_to_pay": "Сумма к оплате",
        "shifted_note": "Переведите ровно {pay_amount} {currency}, а не {amount}: по этой точной сумме мы узнаём ваш "
        "платёж.",
        "method": "Способ оплаты",
        "bank": "Банк",
        "number_card": "Номер карты",
        "number_sbp": "Номер телефона",
        "number_account": "Номер счёта",
        "number": "Реквизиты",
        "recipient": "Получатель",
        "copy_label": "Копировать",
        "copied": "Скопировано",
        "copy_failed": "Не удалось скопировать: выделите и скопируйте вручную",
        "time_left": "Осталось времени",
        "instructions": "Как оплатить",
        "paid": "Я оплатил",
        "receipt": "Чек об оплате (необязательно)",
        "receipt_hint": "PDF, PNG или JPEG, до {max_mb} МБ",
        "receipt_chosen": "Файл: {name}, {size}",
        "uploading": "Отправляем… {percent}%",
        "cancel": "Отменить платёж",
        "cancel_confirm": "Да, отменить",
        "cancel_keep": "Нет, продолжить",
        "cancel_question": "Отменить этот платёж?",
        "error_too_big": "Файл слишком большой: {size}. Максимум — {max_mb} МБ.",
        "error_type": "Этот файл не подходит: нужен PDF, PNG или JPEG.",
        "error_network": "Нет связи с сервером. Проверьте интернет и попробуйте ещё раз.",
        "error_generic": "Не получилось: {message}",
        "error_not_assigned": "Реквизиты ещё не выданы — подождите немного.",
        "searching_title": "Подбираем реквизиты",
        "searching_body": "Обычно это занимает несколько секунд. Страница обновится сама.",
        "pay_title": "Переведите деньги",
        "checking_title": "Проверяем платёж",
        "checking_body": "Вы сообщили, что оплатили. Получатель проверяет поступление — обычно это несколько минут. "
        "Страницу можно не обновлять.",
        "disputed_title": "Платёж на проверке",
        "disputed_body": "Получатель пока не подтвердил платёж, поэтому его проверяет служба поддержки. "
        "Если вы загрузили чек, этого достаточно. Мы сообщим магазину результат.",
        "completed_title": "Оплата получена",
        "completed_body": "Спасибо! Платёж подтверждён.",
        "canceled_title": "Платёж отменён",
        "canceled_body": "Этот платёж отменён. Если вы уже перевели деньги, свяжитесь с магазином.",
        "expired_title": "Время оплаты истекло",
        "expired_body": "Платёж не был получен вовремя. Если вы уже перевели деньги, свяжитесь с магазином.",
        "failed_title": "Платёж не состоялся",
        "failed_body": "Сейчас не получилось принять оплату. Вернитесь в магазин и попробуйте ещё раз.",
        "return": "Вернуться в магазин",
        "redirecting": "Возвращаем вас в магазин через {seconds} с…",
        "language": "Язык",
        "status": "Статус",
        "not_found_title": "Страница не найдена",
        "not_found_body": "Ссылка на оплату неверна или устарела. Вернитесь в магазин и начните оплату заново.",
        "minutes_seconds": "{minutes}:{seconds}",
    },
    "en": {
        "page_title": "Pay for your order",
        "order": "Order",
        "amount_to_pay": "Amount to pay",
        "shifted_note": "Send exactly {pay_amount} {currency}, not {amount}: this exact amount is how we recognise "
        "your payment.",
        "method": "Payment method",
        "bank": "Bank",
        "number_card": "Card number",
        "number_sbp": "Phone number",
        "number_account": "Account number",
        "number": "Payment details",
        "recipient": "Recipient",
        "copy_label": "Copy",
        "copied": "Copied",
        "copy_failed": "Could not copy: select it and copy by hand",
        "time_left": "Time left",
        "instructions": "How to pay",
        "paid": "I have paid",
        "receipt": "Payment receipt (optional)",
        "receipt_hint": "PDF, PNG or JPEG, up to {max_mb} MB",
        "receipt_chosen": "File: {name}, {size}",
        "uploading": "Sending… {percent}%",
        "cancel": "Cancel payment",
        "cancel_confirm": "Yes, cancel",
        "cancel_keep": "No, go on",
        "cancel_question": "Cancel this payment?",
        "error_too_big": "The file is too big: {size}. The limit is {max_mb} MB.",
        "error_type": "This file will not do: it must be a PDF, PNG or JPEG.",
        "error_network": "Cannot reach the server. Check your connection and try again.",
        "error_generic": "That did not work: {message}",
        "error_not_assigned": "The payment details are not ready yet — wait a moment.",
        "searching_title": "Finding payment details",
        "searching_body": "This usually takes a few seconds. The page updates by itself.",
        "pay_title": "Send the money",
        "checking_title": "Checking your payment",
        "checking_body": "You told us you paid. The recipient is checking it arrived — usually a few minutes. "
        "No need to reload the page.",
        "disputed_title": "Your payment is under review",
        "disputed_body": "The recipient has not confirmed the payment yet, so our support team is checking it. "
        "If you uploaded a receipt, that is all we need. The store will be told the outcome.",
        "completed_title": "Payment received",
        "completed_body": "Thank you! Your payment is confirmed.",
        "canceled_title": "Payment canceled",
        "canceled_body": "This payment was canceled. If you already sent money, contact the store.",
        "expired_title": "Time to pay ran out",
        "expired_body": "The payment did not arrive in time. If you already sent money, contact the store.",
        "failed_title": "The payment did not go through",
        "failed_body": "We could not take this payment now. Go back to the store and try again.",
        "return": "Back to the store",
        "redirecting": "Taking you back to the store in {seconds} s…",
        "language": "Language",
        "status": "Status",
        "not_found_title": "Page not found",
        "not_found_body": "This payment link is wrong or has expired. "
        "Go back to the store and start the payment again.",
        "minutes_seconds": "{minutes}:{seconds}",
    },
}
