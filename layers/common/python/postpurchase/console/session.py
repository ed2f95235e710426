"""Staff sessions of the merchant console: an API key in, a signed session cookie out.

The cookie holds a claims token (security/tokens.py, purpose `console_session`, key id inside)
naming the merchant, a random session id, the console language and the expiry
(CONSOLE_SESSION_HOURS). It is HttpOnly, SameSite=Strict, Secure (the local runtime's http
aside) and scoped to `/console/{merchant}`, so a browser never sends one shop's session to
another's console, and a session that is sent anyway opens nothing there. Forms carry a token
bound to the whole session token (and the Origin check the customer pages use).

Sign-out clears the cookie. There is no server-side session list: a copied token stays valid
until it expires (at most CONSOLE_SESSION_HOURS), even if the API key is revoked meanwhile.
"""
from __future__ import annotations

import secrets
from dataclasses import replace
from datetime import datetime, timedelta
from http.cookies import CookieError, SimpleCookie
from typing import Mapping

from ..config import settings
from ..errors import TooManyAttempts, Unauthorized
from ..security.tokens import (
    ConsoleSession,
    Keyring,
    form_token,
    read_console_session,
    sign_console_session,
    verify_form_token,
)

COOKIE = "pp_console"
# Sign-in attempts per client address per window, counted before the key is looked at. Keys are
# long random strings, so this stops noise, not a search; per client only, so nobody can lock a
# shop's staff out by failing on purpose.
SIGN_IN_WINDOW = timedelta(minutes=15)
SIGN_INS_PER_CLIENT = 10
MAX_KEY_LENGTH = 256


def _keys() -> Keyring:
    from ..services import link_keys

    return link_keys()


def sign_in(merchant_id: str, api_key: str, language: str, client: str, now: datetime) -> tuple[ConsoleSession, str]:
    """A new session for the merchant whose API key this is; (session, cookie token).
    Unauthorized for any other key (another shop's too), TooManyAttempts past the limit."""
    from ..services import attempt_limiter, merchant_store

    if not attempt_limiter().allow(merchant_id, f"console-signin#{client}", SIGN_INS_PER_CLIENT, SIGN_IN_WINDOW,
                                   now):
        raise TooManyAttempts("too many sign-in attempts; try again later", field="api_key")
    key = (api_key or "").strip()
    if not key or len(key) > MAX_KEY_LENGTH or merchant_store().merchant_for_api_key(key) != merchant_id:
        raise Unauthorized("the API key is not valid for this shop", field="api_key")
    session = ConsoleSession(merchant_id, secrets.token_urlsafe(16), language,
                             now + timedelta(hours=settings().console_session_hours))
    return session, sign_console_session(_keys(), session)


def with_language(session: ConsoleSession, language: str) -> tuple[ConsoleSession, str]:
    """The same session (same id, same expiry) in another console language."""
    changed = replace(session, language=language)
    return changed, sign_console_session(_keys(), changed)


def cookie_token(headers: Mapping[str, str]) -> str | None:
    from ..security.signatures import header

    raw = header(headers, "Cookie")
    if not raw or len(raw) > 8192:
        return None
    jar = SimpleCookie()
    try:
        jar.load(raw)
    except CookieError:
        return None
    morsel = jar.get(COOKIE)
    return morsel.value if morsel is not None else None


def current(merchant_id: str, headers: Mapping[str, str], now: datetime) -> tuple[ConsoleSession, str] | None:
    """(session, its token) from the request's cookie, only for this merchant and unexpired."""
    token = cookie_token(headers)
    session = read_console_session(_keys(), merchant_id, token, now)
    return (session, token) if session is not None and token else None


def set_cookie(base_path: str, token: str, session: ConsoleSession, now: datetime) -> str:
    max_age = max(0, int((session.expires_at - now).total_seconds()))
    secure = "; Secure" if settings().console_cookie_secure else ""
    return f"{COOKIE}={token}; Path={base_path}; Max-Age={max_age}; HttpOnly{secure}; SameSite=Strict"


def clear_cookie(base_path: str) -> str:
    secure = "; Secure" if settings().console_cookie_secure else ""
    return f"{COOKIE}=; Path={base_path}; Max-Age=0; HttpOnly{secure}; SameSite=Strict"


def csrf_token(session_token: str, merchant_id: str) -> str:
    return form_token(_keys(), merchant_id, "console", session_token)


def csrf_ok(session_token: str, merchant_id: str, given: str | None) -> bool:
    return verify_form_token(_keys(), merchant_id, "console", session_token, given)
