"""Order numbers, tracking numbers and email addresses a customer's message mentions.

Digits of every script are read as ASCII first (Arabic-Indic "١٠٠١", Eastern Arabic-Indic
"۱۰۰۱", Thai "๑๐๐๑"), full-width forms too (NFKC), and bidi marks are dropped, so "طلب ١٠٠١"
gives order "1001". An order number is "#1001" or a number of 3-12 digits (optionally with a
short letter prefix: "A-1002") after the word for order in one of our languages, with or without
"no", "number", "№", "رقم", "เลขที่" between. Tracking numbers are recognised by the carriers'
formats: UPS 1Z + 16, USPS 20-22 digits starting 92-95 (also as typed in groups of four), UPU
S10 (RR123456789CN), DHL eCommerce JD/JJD + digits, FedEx 12 or 15 digits, DHL Express 10
digits, Russian Post 14 digits, and anything 8-30 letters/digits after a tracking word
("tracking", "resi", "takip", "трек", "เลขพัสดุ", "رقم التتبع"). Bare digit runs that look like
phone numbers (a leading 0 or +) are not tracking numbers; a number taken as an order number is
not also a tracking number.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from .text import ascii_digits


@dataclass(frozen=True)
class References:
    order_numbers: tuple[str, ...]
    tracking_numbers: tuple[str, ...]
    emails: tuple[str, ...]

    def __bool__(self) -> bool:
        return bool(self.order_numbers or self.tracking_numbers or self.emails)


_FULL_WIDTH = {code: code - 0xFEE0 for code in range(0xFF01, 0xFF5F)}
_BIDI = re.compile("[\u200e\u200f\u061c\u202a-\u202e\u2066-\u2069]")
_ORDER_WORDS = (
    r"orders?|ord|order\s*id|pesanan\w*|orderan|no\.?\s*pesanan|nomor\s*pesanan|"
    r"sipari[sş]\w*|заказ\w*|(?:ال)?طلب\w*|(?:ال)?اوردر|(?:ال)?أوردر|คำสั่งซื้อ|ออเดอร์|เลขออเดอร์"
)
_NUMBER_WORDS = (
    r"no\.?|nr\.?|num(?:ber)?\.?|number|id|nomor|numaras\w*|numara\w*|номер\w*|№|n°|رقم|เลขที่|หมายเลข|เลข|"
    r"is|adalah|my|saya|aku|sy|benim|мой|моего|ของฉัน|ของผม|ของหนู|:|#|-"
)
_ORDER = re.compile(
    rf"(?:(?<![^\W\d_])(?:{_ORDER_WORDS})(?:\s*(?:{_NUMBER_WORDS}))*\s*|#\s?)"
    r"(?P<id>(?:[A-Za-z]{1,4}-?)?\d{3,12})(?![A-Za-z0-9_-])", re.IGNORECASE)   # Thai may follow without a space
# Turkish puts the number first: "1001 numaralı siparişim", "1001 nolu sipariş"
_ORDER_BEFORE = re.compile(r"(?<![\w-])(?P<id>(?:[A-Za-z]{1,4}-?)?\d{3,12})\s*(?:numaral\w*|nolu|no'lu|№)\s+sipari[sş]",
                           re.IGNORECASE)
_EMAIL = re.compile(r"(?<![\w.+-])[A-Za-z0-9][A-Za-z0-9._%+-]{0,63}@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,24}(?![\w])")

_CARRIER_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("ups", re.compile(r"(?<![A-Z0-9])1Z\s?[0-9A-Z]{3}\s?[0-9A-Z]{3}\s?[0-9A-Z]{2}\s?[0-9A-Z]{4}\s?[0-9A-Z]{4}(?![A-Z0-9])", re.I)),
    ("usps", re.compile(r"(?<![\d+])9[2-5]\d{2}(?:\s?\d{4}){4}(?:\s?\d{2}){0,1}(?!\d)")),
    ("upu_s10", re.compile(r"(?<![A-Z0-9])[A-Z]{2}\d{9}[A-Z]{2}(?![A-Z0-9])")),
    ("dhl_ecommerce", re.compile(r"(?<![A-Z0-9])J?JD\d{9,20}(?![A-Z0-9])", re.I)),
    ("russian_post", re.compile(r"(?<![\d+])[1-9]\d{13}(?!\d)")),
    ("fedex", re.compile(r"(?<![\d+])[1-9](?:\d{11}|\d{14})(?!\d)")),
    ("dhl", re.compile(r"(?<![\d+])[1-9]\d{9}(?!\d)")),
)
_TRACKING_AFTER_WORD = re.compile(
    r"(?:tracking(?:\s*(?:number|no\.?|code|id|#))?|track\s*(?:number|no\.?|#)|awb|resi|no\.?\s*resi|nomor\s*resi|"
    r"takip\s*(?:no|numaras\w*|kodu)?|kargo\s*(?:kodu|takip\s*no)|трек(?:-?номер\w*)?|трекинг|номер\s*отслеживания|"
    r"เลขพัสดุ|เลขแทรค|เลขติดตาม|رقم\s*(?:ال)?تتبع|رقم\s*(?:ال)?شحن\w*|رقم\s*(?:ال)?بوليص\w*)"
    r"\s*(?:is|adalah|:|#|-|=)?\s*(?P<id>(?=[A-Z0-9-]*\d)[A-Z0-9][A-Z0-9-]{6,28}[A-Z0-9])(?![\w-])", re.I)


def normalise(text: str) -> str:
    """ASCII digits, full-width ASCII forms as ASCII, NFC, no bidi marks. Not NFKC: it splits Thai sara am."""
    return ascii_digits(_BIDI.sub("", unicodedata.normalize("NFC", text or "")).translate(_FULL_WIDTH))


def _unique(values: list[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(v for v in values if v))


def tracking_carrier(number: str) -> str | None:
    """The carrier whose format `number` has (first match in _CARRIER_PATTERNS), else None."""
    compact = re.sub(r"\s", "", number).upper()
    for carrier, pattern in _CARRIER_PATTERNS:
        if pattern.fullmatch(compact):
            return carrier
    return None


def find_references(text: str) -> References:
    text = normalise(text)
    emails = _unique([m.group(0).lower() for m in _EMAIL.finditer(text)])
    without_emails = _EMAIL.sub(" ", text)
    order_matches = sorted([*_ORDER.finditer(without_emails), *_ORDER_BEFORE.finditer(without_emails)],
                           key=lambda m: m.start("id"))
    orders = _unique([m.group("id").upper() for m in order_matches])
    order_spans = [m.span("id") for m in order_matches]
    taken: list[tuple[int, int]] = list(order_spans)
    found: list[str] = []

    def take(start: int, end: int, value: str) -> None:
        # a number inside one already found (12 of USPS's 22 digits, an order number) is not another parcel
        if any(start < t_end and t_start < end for t_start, t_end in taken):
            return
        taken.append((start, end))
        found.append(re.sub(r"\s", "", value).upper())

    for match in _TRACKING_AFTER_WORD.finditer(without_emails):
        take(*match.span("id"), match.group("id"))
    for _, pattern in _CARRIER_PATTERNS:
        for match in pattern.finditer(without_emails):
            take(*match.span(), match.group(0))
    return References(orders, _unique(found), emails)
