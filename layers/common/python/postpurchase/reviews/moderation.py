"""Which reviews publish themselves and which wait for the merchant (pure).

A review is held (moderation queue) when the merchant turned auto-publishing off, when its
rating is below the merchant's `min_rating_to_publish`, or when its title or text carries a link,
an e-mail address, a phone number or a word of the profanity list of the customer's language
(or English). Word lists are data files, `words/{language}.txt`, one word a line, `#` comments;
Thai is written without spaces, so its words are matched inside the text.
"""
from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

from .settings import ReviewSettings

LANGUAGES = ("en", "id", "th", "tr", "ar", "ru")
_WORDS = Path(__file__).with_name("words")
_LINK = re.compile(r"(?i)\b(?:https?://|www\.)\S+|\b[\w-]+\.(?:com|net|org|info|biz|io|co|ly|me|ru|tr|id|th|xyz|shop"
                   r"|store|online|site|link|click)\b(?:/\S*)?")
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_PHONE = re.compile(r"(?:\+|\b)\d(?:[\s().-]?\d){7,}\b")
_TOKEN = re.compile(r"\w+", re.UNICODE)
_SUBSTRING_LANGUAGES = {"th"}


@lru_cache(maxsize=None)
def word_list(language: str) -> frozenset[str]:
    path = _WORDS / f"{language}.txt"
    if language not in LANGUAGES or not path.exists():
        return frozenset()
    lines = (line.split("#", 1)[0].strip().casefold() for line in path.read_text(encoding="utf-8").splitlines())
    return frozenset(line for line in lines if line)


def _has_profanity(text: str, language: str) -> bool:
    folded = text.casefold()
    tokens = set(_TOKEN.findall(folded))
    for lang in {language, "en"}:
        words = word_list(lang)
        if lang in _SUBSTRING_LANGUAGES:
            if any(word in folded for word in words):
                return True
        elif tokens & words:
            return True
    return False


def content_reasons(text: str, language: str, settings: ReviewSettings) -> tuple[str, ...]:
    """What in this text holds a review: link, email, phone, profanity (in that order)."""
    reasons = []
    if settings.hold_links and _LINK.search(text):
        reasons.append("link")
    if settings.hold_email_addresses and _EMAIL.search(text):
        reasons.append("email")
    if settings.hold_phone_numbers and _PHONE.search(text):
        reasons.append("phone")
    if settings.hold_profanity and _has_profanity(text, language):
        reasons.append("profanity")
    return tuple(reasons)


def hold_reasons(rating: int, title: str | None, body: str | None, language: str,
                 settings: ReviewSettings) -> tuple[str, ...]:
    """Empty: the review publishes itself. Else why it waits for the merchant."""
    reasons: list[str] = []
    if not settings.auto_publish:
        reasons.append("manual")
    if rating < settings.min_rating_to_publish:
        reasons.append("below_threshold")
    # The e-mail rule runs before the link rule could claim "name@shop.com" as a link.
    text = "\n".join(part for part in (title, body) if part)
    found = content_reasons(text, language, settings)
    if "email" in found and "link" in found and not _LINK.search(_EMAIL.sub(" ", text)):
        found = tuple(reason for reason in found if reason != "link")
    return (*reasons, *found)


def language_of(locale: str | None) -> str:
    code = (locale or "en").replace("_", "-").split("-")[0].lower()
    return code if code in LANGUAGES else "en"
