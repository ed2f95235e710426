"""RFC 2047 headers (postpurchase.messaging.headers via build_mime): every real subject of every
email in the six languages, and random unicode text, in encoded words of at most 75 characters
on folded lines, decoded back to exactly the text, spaces included."""
from __future__ import annotations

import re
from datetime import datetime, timezone
from email import message_from_bytes
from email.header import decode_header, make_header
from email.policy import default
from functools import lru_cache

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from postpurchase.messaging.headers import MAX_LINE, MAX_WORD, mailbox, unstructured
from postpurchase.messaging.mime import build_mime
from postpurchase.messaging.rendering import render_email
from postpurchase.messaging.requests import MerchantBranding

from email_gallery import ALL_CASES, LANGUAGES, make_merchant, request_for
from test_mime import REQUEST

ENCODED_WORD = re.compile(rb"=\?[^?]+\?[bBqQ]\?[^?]*\?=")
NOW = datetime(2026, 11, 20, tzinfo=timezone.utc)
SHOPS = ["Dükkan", "Demo Store", "متجر الهدايا", "Магазин «Утро» — подарки и сувениры на каждый день",
         "ร้านค้าของขวัญและของที่ระลึกสำหรับทุกโอกาส", 'ACME, Inc. "Best"', "Toko Serba Ada"]


@lru_cache(maxsize=1)
def real_subjects() -> list[tuple[str, str]]:
    """(language, subject) of every email kind and variant, rendered as sent."""
    merchant = make_merchant()
    return [(language, render_email(request_for(language, kind, variant), merchant).subject)
            for language in LANGUAGES for kind, variant in ALL_CASES]


def headers_of(raw: bytes) -> bytes:
    return raw.split(b"\r\n\r\n", 1)[0]


def header_lines(raw: bytes, name: bytes) -> list[bytes]:
    """The physical lines of one header (its first line and continuation lines)."""
    lines, inside = [], False
    for line in headers_of(raw).split(b"\r\n"):
        if line.lower().startswith(name.lower() + b":"):
            inside = True
        elif not line[:1] in (b" ", b"\t"):
            inside = False
        if inside:
            lines.append(line)
    return lines


def unfolded(raw: bytes, name: bytes) -> str:
    value = b"".join(header_lines(raw, name)).decode("ascii")[len(name) + 1:]
    return re.sub(r"\r?\n", "", value).lstrip(" ")


def rfc2047_decoded(value: str) -> str:
    """What an RFC 2047 decoder shows (whitespace between adjacent encoded words dropped, 6.2)."""
    return str(make_header(decode_header(value)))


def check(raw: bytes, subject: str, shop: str) -> None:
    header_block = headers_of(raw)
    for word in ENCODED_WORD.findall(header_block):
        assert len(word) <= MAX_WORD, word
    for line in raw.split(b"\r\n"):
        assert len(line) <= 998
    for name in (b"Subject", b"From", b"Reply-To"):
        for line in header_lines(raw, name):
            assert len(line) <= MAX_LINE, line  # always possible: no word is longer
    parsed = message_from_bytes(raw, policy=default)
    assert str(parsed["Subject"]) == subject
    assert rfc2047_decoded(unfolded(raw, b"Subject")) == subject
    for name in (b"From", b"Reply-To"):
        address = parsed[name.decode()].addresses[0]
        assert address.addr_spec in ("orders@shop.test", "help@shop.test")
        phrase = unfolded(raw, name).rsplit(" <", 1)[0]
        if "=?" in phrase:
            assert rfc2047_decoded(phrase) == shop
        # Python's address parser keeps the space between two encoded words of a phrase
        # (RFC 2047 6.2 says drop it): it reads a name exactly when one word holds it.
        if len(ENCODED_WORD.findall(phrase.encode())) <= 1:
            assert address.display_name == shop


def build(subject: str, shop: str) -> bytes:
    merchant = MerchantBranding(merchant_id="m", name=shop, from_email="orders@shop.test",
                                support_email="help@shop.test")
    return build_mime(REQUEST, merchant, subject=subject, html="<p>x</p>", text="x", now=NOW)


def test_every_real_subject_in_every_language_is_encoded_correctly():
    subjects = real_subjects()
    assert {language for language, _ in subjects} == set(LANGUAGES) and len(subjects) >= 6 * 20
    longest = max((subject for _, subject in subjects), key=lambda s: len(s.encode()))
    assert len(longest.encode()) > MAX_WORD  # the test covers subjects that need several words
    for shop in SHOPS:
        for _, subject in subjects:
            check(build(subject, shop), subject, shop)


@settings(max_examples=400, deadline=None)
@given(st.text(min_size=0, max_size=300), st.sampled_from(SHOPS))
@example("  leading, double  and trailing spaces  ", "Demo Store")
@example("=?utf-8?q?not_an_encoded_word?=", "Demo Store")
@example("x" * 200, "Demo Store")
@example("Demo Store ailesine hoş geldiniz! 1001 numaralı siparişiniz onaylandı", "Dükkan")
def test_random_unicode_subjects_come_back_exactly(subject, shop):
    # Header values cannot carry line breaks or NUL; everything else must survive.
    subject = re.sub(r"[\r\n\x00\x85\u2028\u2029\x0b\x0c\x1c-\x1e]", " ", subject)
    check(build(subject, shop), subject, shop)


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(range(10_000)), st.text(min_size=1, max_size=80))
def test_real_subjects_with_random_text_around_them(index, extra):
    extra = re.sub(r"[\r\n\x00\x85\u2028\u2029\x0b\x0c\x1c-\x1e]", " ", extra)
    subjects = real_subjects()
    _, subject = subjects[index % len(subjects)]
    for text in (f"{extra} {subject}", f"{subject}{extra}"):
        check(build(text, "Dükkan"), text, "Dükkan")


@pytest.mark.parametrize("char", ["ş", "ก", "€", "😀", "ع"])
def test_no_character_is_split_between_two_words(char):
    text = char * 100
    value = unstructured("Subject", text)
    import base64

    for word in value.split("\n "):
        payload = base64.b64decode(word[len("=?utf-8?b?"):-2])
        assert payload.decode("utf-8") == char * (len(payload) // len(char.encode()))


def test_plain_ascii_stays_readable_and_folds_at_spaces():
    value = unstructured("Subject", "Your order 1001 has shipped and is on its way to you; track it from the link below")
    assert "=?" not in value
    assert all(len(line) <= MAX_LINE for line in ("Subject: " + value).split("\n"))
    assert value.replace("\n", "") == "Your order 1001 has shipped and is on its way to you; track it from the link below"
    assert mailbox("From", "ACME, Inc.", "a@b.example") == '"ACME, Inc." <a@b.example>'
    assert mailbox("To", None, "a@b.example") == "a@b.example"
