"""HTTP edge for the Chalice app: errors to JSON answers in one place, bodies, merchant auth.

Chalice turns any exception from a view into a 500 before middleware sees it, so views are
wrapped with `json_errors` instead.
"""
from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Callable

from chalice import Response


if TYPE_CHECKING:
    from .security.order_access import OrderAccess
from .errors import DomainError, InvalidInput, NotFound, PayloadTooLarge, RateLimited, Unauthorized
from .observability import logger
from .security.signatures import header
from .services import settings  # config's Settings model at the first call (issue 17)


def json_errors(view: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return view(*args, **kwargs)
        except DomainError as error:
            logger.info("request refused", extra={"code": error.code, "field": error.field})
            return Response(body=error.as_body(), status_code=error.status, headers={**_NO_STORE, **error.headers()})
        except Exception:
            logger.exception("unhandled error")
            return Response(body={"error": {"code": "internal_error", "message": "internal error; it was logged"}},
                            status_code=500, headers=_NO_STORE)

    return wrapper


_NO_STORE = {"Cache-Control": "no-store"}


# Chalice answers some requests itself, before any view runs (a content type the route does
# not accept, a method it does not serve); those answers get our error shape too.
_CHALICE_ERRORS = {
    "UnsupportedMediaType": ("unsupported_media_type", "Content-Type"),
    "MethodNotAllowedError": ("method_not_allowed", None),
    "BadRequest": ("bad_request", None),
}


def with_our_error_shape(response: Response) -> Response:
    body = response.body
    if not (isinstance(body, dict) and set(body) == {"Code", "Message"} and response.status_code >= 400):
        return response
    code, field = _CHALICE_ERRORS.get(body["Code"], ("error", None))
    error = {"code": code, "message": body["Message"]}
    if field:
        error["field"] = field
    return Response(body={"error": error}, status_code=response.status_code,
                    headers={**(response.headers or {}), **_NO_STORE})


def respond(body: Any, status: int = 200) -> Response:
    return Response(body=body, status_code=status, headers=_NO_STORE)


def respond_pdf(body: bytes, filename: str) -> Response:
    """A PDF to print (binary: the app lists application/pdf in its binary types)."""
    safe = "".join(c if c.isalnum() or c in "._-" else "_" for c in filename)[:120]
    return Response(body=body, status_code=200, headers={
        **_NO_STORE, "Content-Type": "application/pdf", "Content-Disposition": f'inline; filename="{safe}"'})


def respond_public(body: Any, max_age: int) -> Response:
    """A 200 that browsers and CDNs may cache; it differs by merchant key, so Vary on it."""
    return Response(body=body, status_code=200,
                    headers={"Cache-Control": f"public, max-age={max_age}", "Vary": "Authorization"})


def body_bytes(raw_body: bytes | None) -> bytes:
    raw = raw_body or b""
    limit = settings().max_body_bytes
    if len(raw) > limit:
        raise PayloadTooLarge(f"request body is {len(raw)} bytes; the limit is {limit}", field="body")
    return raw


def authenticated_merchant(headers: Mapping[str, str]) -> str:
    from .services import merchant_store

    value = header(headers, "Authorization") or ""
    scheme, _, key = value.partition(" ")
    if scheme.lower() != "bearer" or not key.strip():
        raise Unauthorized("send the merchant API key as 'Authorization: Bearer <key>'", field="Authorization")
    merchant_id = merchant_store().merchant_for_api_key(key.strip())
    if merchant_id is None:
        raise Unauthorized("the API key is not valid", field="Authorization")
    logger.append_keys(merchant_id=merchant_id)
    _spend_merchant_token(merchant_id)
    return merchant_id


def _spend_merchant_token(merchant_id: str) -> None:
    """The per-merchant token bucket (security/rate_limit.py): one conditional UpdateItem per
    authenticated call; over the limit is a 429 naming the limit, with Retry-After."""
    from . import clock
    from .services import merchant_rate_limiter

    limiter = merchant_rate_limiter()
    if limiter is None:  # MERCHANT_API_RATE_PER_SECOND=0: no per-merchant limit
        return
    decision = limiter.take(merchant_id, clock.now())
    if not decision.allowed:
        bucket = limiter.bucket
        raise RateLimited(f"too many requests for this merchant: the limit is {bucket.describe()}; retry in "
                          f"{decision.retry_after_seconds} s", limit=bucket.name,
                          retry_after_seconds=decision.retry_after_seconds, rate_per_second=bucket.rate_per_second,
                          burst=bucket.burst)


def storefront_merchant(headers: Mapping[str, str], query: Mapping[str, str] | None) -> str:
    """The merchant of a public storefront read: its key when sent (server-side calls), else the
    `merchant` query parameter (a storefront page), which must name a known merchant."""
    from .services import merchant_store

    if header(headers, "Authorization"):
        return authenticated_merchant(headers)
    merchant_id = ((query or {}).get("merchant") or "").strip()
    if not merchant_id:
        raise InvalidInput("name the shop: the 'merchant' query parameter or 'Authorization: Bearer <key>'",
                           field="merchant")
    if merchant_store().get(merchant_id) is None:
        raise NotFound(f"no merchant {merchant_id!r}", field="merchant")
    logger.append_keys(merchant_id=merchant_id)
    return merchant_id


def public_base_url(context: Mapping[str, Any] | None) -> str:
    """Links' base URL: PUBLIC_BASE_URL, or (when it says "from-request") this API's own URL."""
    configured = settings().public_base_url
    if configured != "from-request":
        return configured
    context = context or {}
    return f"https://{context.get('domainName', 'localhost')}/{context.get('stage', 'api')}"


def client_address(context: Mapping[str, Any] | None) -> str:
    return str(((context or {}).get("identity") or {}).get("sourceIp") or "unknown")


def order_access(headers: Mapping[str, str], query: Mapping[str, str] | None, order_id: str,
                 email: str | None = None, context: Mapping[str, Any] | None = None) -> "OrderAccess":
    """Who is asking about this order: the merchant (API key), or the customer with the order's
    signed link token (`X-Order-Token` header or `token` parameter) or, when `email` is given,
    order number + email. Every customer refusal reads the same whichever part was wrong."""
    from . import clock
    from .security.order_access import OrderAccess, open_by_email, open_by_link

    if header(headers, "Authorization"):
        return OrderAccess(authenticated_merchant(headers), order_id, "merchant")
    merchant_id = storefront_merchant(headers, query)
    token = header(headers, "X-Order-Token") or (query or {}).get("token")
    if token:
        from .services import link_keys

        return open_by_link(link_keys(), merchant_id, order_id, token, clock.now())
    if email is not None:
        from .services import attempt_limiter, order_numbers

        return open_by_email(merchant_id, order_id, email, client_address(context), numbers=order_numbers(),
                             limiter=attempt_limiter(), now=clock.now())
    raise Unauthorized("open the order with its link's token, with order number and email, or with the merchant "
                       "API key", field="token")
