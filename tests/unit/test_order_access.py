"""Customer access to one order (postpurchase.security.order_access): a signed link, or order
number + email, with one answer for every kind of miss and the lookup rate-limited first."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from postpurchase.errors import InvalidInput, NotFound, TooManyAttempts, Unauthorized
from postpurchase.security import order_access
from postpurchase.security.order_access import (
    LINK_REFUSED,
    LOOKUP_REFUSED,
    LOOKUP_WINDOW,
    LOOKUPS_PER_CLIENT,
    LOOKUPS_PER_ORDER_NUMBER,
    TOO_MANY,
    OrderAccess,
    email_digest,
    normalise_order_number,
    open_by_email,
    open_by_link,
)
from postpurchase.security.tokens import Keyring, sign_order_token

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=timezone.utc)
SECRET = Keyring.single("link-secret-0123456789", legacy=True)
MERCHANT = "m-1"
EMAIL = "Ayse.Yilmaz@example.com"


class FakeLimiter:
    """AttemptLimiter: allows until a scope is listed in `blocked`; records every question."""

    def __init__(self, blocked: set[str] | None = None, log: list | None = None) -> None:
        self.blocked = blocked or set()
        self.log = log if log is not None else []

    def allow(self, merchant_id, scope, limit, window, now) -> bool:
        self.log.append(("allow", merchant_id, scope, limit, window, now))
        return scope not in self.blocked


class FakeNumbers:
    """OrderNumbers: normalised number -> (order_id, email digest); records every lookup."""

    def __init__(self, log: list | None = None) -> None:
        self.orders = {"1001": ("ord-1001", email_digest(EMAIL)), "a-77": ("ord-a77", email_digest("x@example.com"))}
        self.log = log if log is not None else []

    def email_digest_for(self, merchant_id, number):
        self.log.append(("lookup", merchant_id, number))
        return self.orders.get(number)


def lookup(number: str = "1001", email: str = EMAIL, client: str = "203.0.113.9", *, limiter=None, numbers=None):
    return open_by_email(MERCHANT, number, email, client, numbers=numbers or FakeNumbers(),
                         limiter=limiter or FakeLimiter(), now=NOW)


# --- order numbers ------------------------------------------------------------------------------


@pytest.mark.parametrize("typed", ["1001", "#1001", " 1001 ", "# 1001", "##1001\t", "10 01"])
def test_the_ways_a_customer_types_an_order_number_are_one_number(typed):
    assert normalise_order_number(typed) == "1001"


def test_order_numbers_are_compared_case_insensitively():
    assert normalise_order_number("#A-77") == normalise_order_number("a-77") == "a-77"


@pytest.mark.parametrize("typed", ["", "#", "   ", " # ", "1" * 129, None])
def test_an_empty_or_too_long_number_is_invalid(typed):
    with pytest.raises(InvalidInput) as info:
        normalise_order_number(typed)
    assert info.value.field == "order_number"


def test_128_characters_is_the_longest_number():
    assert normalise_order_number("#" + "7" * 128) == "7" * 128


# --- signed links -------------------------------------------------------------------------------


def test_a_good_link_opens_its_order_as_the_customer():
    token = sign_order_token(SECRET, MERCHANT, "ord-1001", NOW + timedelta(days=30))
    access = open_by_link(SECRET, MERCHANT, "ord-1001", token, NOW)
    assert access == OrderAccess(MERCHANT, "ord-1001", "link")
    assert access.actor_kind == "customer"
    assert OrderAccess(MERCHANT, "ord-1001", "merchant").actor_kind == "merchant"
    assert OrderAccess(MERCHANT, "ord-1001", "email").actor_kind == "customer"


def _bad_tokens() -> dict[str, str | None]:
    good_until = NOW + timedelta(days=30)
    return {
        "expired": sign_order_token(SECRET, MERCHANT, "ord-1001", NOW),
        "expired_long_ago": sign_order_token(SECRET, MERCHANT, "ord-1001", NOW - timedelta(days=1)),
        "other_order": sign_order_token(SECRET, MERCHANT, "ord-1002", good_until),
        "other_merchant": sign_order_token(SECRET, "m-2", "ord-1001", good_until),
        "other_secret": sign_order_token(Keyring.single("another-secret-0123456789"), MERCHANT, "ord-1001", good_until),
        "tampered_expiry": "f" + sign_order_token(SECRET, MERCHANT, "ord-1001", good_until),
        "garbage": "not-a-token",
        "no_signature": "6a5f1e00.",
        "bad_hex": "zz.AAAA",
        "bad_base64": "6a5f1e00.%%%",
        "non_ascii": "6a5f1e00.é",
        "empty": "",
        "none": None,
    }


@pytest.mark.parametrize("case", list(_bad_tokens()))
def test_every_bad_link_gets_the_same_answer(case):
    token = _bad_tokens()[case]
    with pytest.raises(Unauthorized) as info:
        open_by_link(SECRET, MERCHANT, "ord-1001", token, NOW)
    assert info.value.message == LINK_REFUSED
    assert info.value.field == "token" and info.value.status == 401


@pytest.mark.parametrize("kid", ["", "k0."])  # the first format and the key-id one
@pytest.mark.parametrize("expiry_hex", ["f" * 13, "f" * 4000])
def test_a_token_with_an_absurdly_long_expiry_is_refused_like_any_other(expiry_hex, kid):
    # 4000 hex digits once overflowed int-to-str (Python's 4,300-digit limit): a 500 instead of a 401.
    with pytest.raises(Unauthorized) as info:
        open_by_link(SECRET, MERCHANT, "ord-1001", kid + expiry_hex + ".AAAA", NOW)
    assert info.value.message == LINK_REFUSED


# --- order number + email -----------------------------------------------------------------------


def test_the_right_email_opens_the_order_whatever_its_case_and_spaces():
    access = lookup("#1001", "  ayse.yilmaz@EXAMPLE.com ")
    assert access == OrderAccess(MERCHANT, "ord-1001", "email")


def test_a_wrong_email_and_an_unknown_number_get_the_same_answer():
    answers = []
    for number, email in [("1001", "someone@example.com"), ("9999", EMAIL), ("a-77", EMAIL)]:
        with pytest.raises(NotFound) as info:
            lookup(number, email)
        answers.append((type(info.value), info.value.message, info.value.field, info.value.details))
    assert answers == [(NotFound, LOOKUP_REFUSED, None, {})] * 3


def test_the_limiter_is_asked_before_the_lookup_per_number_and_per_client():
    log: list = []
    lookup("#1001", limiter=FakeLimiter(log=log), numbers=FakeNumbers(log=log), client="198.51.100.7")
    assert log == [
        ("allow", MERCHANT, "lookup-number#1001", LOOKUPS_PER_ORDER_NUMBER, LOOKUP_WINDOW, NOW),
        ("allow", MERCHANT, "lookup-client#198.51.100.7", LOOKUPS_PER_CLIENT, LOOKUP_WINDOW, NOW),
        ("lookup", MERCHANT, "1001"),
    ]


@pytest.mark.parametrize("blocked", ["lookup-number#1001", "lookup-client#203.0.113.9"])
def test_a_limited_caller_is_refused_even_with_the_right_email_and_nothing_is_looked_up(blocked):
    log: list = []
    with pytest.raises(TooManyAttempts) as info:
        lookup("1001", EMAIL, limiter=FakeLimiter({blocked}, log), numbers=FakeNumbers(log=log))
    assert info.value.message == TOO_MANY and info.value.status == 429
    assert [entry[0] for entry in log] == ["allow", "allow"]  # both counted, nothing read


def test_a_limited_caller_with_a_wrong_email_gets_the_same_refusal():
    limiter = FakeLimiter({"lookup-number#1001"})
    with pytest.raises(TooManyAttempts) as right:
        lookup("1001", EMAIL, limiter=limiter)
    with pytest.raises(TooManyAttempts) as wrong:
        lookup("1001", "nobody@example.com", limiter=limiter)
    assert right.value.message == wrong.value.message == TOO_MANY


@pytest.mark.parametrize("email", ["", "   ", "a" * 250 + "@x.co", None])
def test_a_missing_email_is_invalid_before_anything_is_counted(email):
    log: list = []
    with pytest.raises(InvalidInput) as info:
        lookup("1001", email, limiter=FakeLimiter(log=log), numbers=FakeNumbers(log=log))
    assert info.value.field == "email"
    assert log == []


def test_an_invalid_number_is_refused_before_anything_is_counted():
    log: list = []
    with pytest.raises(InvalidInput):
        lookup("#", limiter=FakeLimiter(log=log), numbers=FakeNumbers(log=log))
    assert log == []


@pytest.mark.parametrize(("number", "email", "found"), [
    ("1001", EMAIL, True),
    ("1001", "someone@example.com", False),
    ("9999", EMAIL, False),
])
def test_the_email_is_compared_in_constant_time_on_a_hit_and_on_a_miss(monkeypatch, number, email, found):
    calls: list[tuple[str, str]] = []
    real = order_access.hmac.compare_digest

    def spy(a, b):
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(order_access.hmac, "compare_digest", spy)
    if found:
        assert lookup(number, email).order_id == "ord-1001"
    else:
        with pytest.raises(NotFound):
            lookup(number, email)
    assert len(calls) == 1
    stored, given = calls[0]
    assert given == email_digest(email)
    assert len(stored) == len(given) == 64  # a miss compares against a digest of the same length
    if number == "9999":
        assert stored == order_access._ABSENT_DIGEST


def test_email_digest_ignores_case_and_surrounding_spaces():
    assert email_digest(" A@Example.COM ") == email_digest("a@example.com")
    assert email_digest("a@example.com") != email_digest("b@example.com")
