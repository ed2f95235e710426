"""Outgoing HTTPS webhooks to merchants' systems (standard library only: no SDK at cold start)."""
from __future__ import annotations

import urllib.error
import urllib.request
from urllib.parse import urlsplit

from ..errors import RetryLater

USER_AGENT = "postpurchase-webhooks/1"


def check_webhook_url(url: str, allow_http: bool) -> str:
    """A URL we may POST to: https (http only where the deployment allows it, i.e. locally)."""
    parts = urlsplit(url or "")
    if parts.scheme not in (("https", "http") if allow_http else ("https",)) or not parts.hostname:
        raise ValueError("must be an https:// URL" if not allow_http else "must be an http(s):// URL")
    if parts.username or parts.password:
        raise ValueError("must not carry credentials")
    return url


class HttpWebhookSender:
    def __init__(self, timeout_seconds: float, allow_http: bool) -> None:
        self.timeout_seconds = timeout_seconds
        self.allow_http = allow_http

    def post(self, url: str, body: bytes, headers: dict[str, str]) -> int:
        """POST; the status on a 2xx, RetryLater on anything else (the queue retries, then the DLQ)."""
        try:
            check_webhook_url(url, self.allow_http)
        except ValueError as error:
            raise RetryLater(f"webhook URL refused: {error}") from None
        request = urllib.request.Request(url, data=body, method="POST", headers={
            "Content-Type": "application/json", "User-Agent": USER_AGENT, **headers})
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_seconds) as response:  # noqa: S310 - checked
                return response.status
        except urllib.error.HTTPError as error:
            raise RetryLater(f"merchant webhook answered {error.code}") from None
        except (urllib.error.URLError, TimeoutError, OSError) as error:
            raise RetryLater(f"merchant webhook unreachable: {error}") from None
