"""Self-describing signed tokens (feedback ratings, one-click unsubscribe)."""
from datetime import datetime, timedelta, timezone

from postpurchase.security.tokens import Keyring, read_claims, sign_claims

SECRET = Keyring.single("s" * 32)
NOW = datetime(2026, 11, 23, 12, tzinfo=timezone.utc)


def test_claims_round_trip_until_expiry():
    token = sign_claims(SECRET, "feedback", ["demo-store", "1001", "MUG-1"], NOW + timedelta(days=1))
    assert read_claims(SECRET, "feedback", token, NOW) == ["demo-store", "1001", "MUG-1"]
    assert read_claims(SECRET, "feedback", token, NOW + timedelta(days=1)) is None


def test_another_purpose_secret_or_tampering_is_refused():
    token = sign_claims(SECRET, "feedback", ["demo-store", "1001", "MUG-1"], NOW + timedelta(days=1))
    assert read_claims(SECRET, "unsubscribe", token, NOW) is None
    assert read_claims(Keyring.single("t" * 32), "feedback", token, NOW) is None
    forged = sign_claims(SECRET, "feedback", ["other-store", "1001", "MUG-1"], NOW + timedelta(days=1))
    kid, body, _, _ = forged.split(".")
    _, _, expires, signature = token.split(".")
    assert read_claims(SECRET, "feedback", f"{kid}.{body}.{expires}.{signature}", NOW) is None
    for garbage in ("", "a.b", "a.b.c", "a.b.c.d", "a.b.c.d.e", "!!!.zz.??", "k0.!!!.zz.??", token + "x"):
        assert read_claims(SECRET, "feedback", garbage, NOW) is None
