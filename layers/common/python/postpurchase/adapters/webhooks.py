"""Outgoing webhooks to merchants' systems, through the SSRF guard (standard library only: no SDK
at cold start). The URL is the merchant's: see security/outbound.py for what it may point at."""
from __future__ import annotations

from ..errors import RetryLater
from ..security.outbound import OutboundPolicy, OutboundRefused
from .outbound_http import GuardedHttp, OutboundFailed

USER_AGENT = "postpurchase-webhooks/1"


class HttpWebhookSender:
    def __init__(self, policy: OutboundPolicy, deadline_seconds: float, http: GuardedHttp | None = None) -> None:
        self.http = http or GuardedHttp(policy, deadline_seconds)

    def post(self, url: str, body: bytes, headers: dict[str, str]) -> int:
        """POST; the status on a 2xx, RetryLater on anything else (re-published, then the DLQ).
        A redirect is not followed: the merchant must configure the URL that answers."""
        try:
            status, _ = self.http.post(url, body, {"Content-Type": "application/json", "User-Agent": USER_AGENT,
                                                   **headers})
        except OutboundRefused as error:
            raise RetryLater(f"webhook URL refused: {error}") from None
        except OutboundFailed as error:
            raise RetryLater(f"merchant webhook unreachable: {error}") from None
        if 300 <= status < 400:
            raise RetryLater(f"merchant webhook answered {status}: redirects are not followed")
        if not 200 <= status < 300:
            raise RetryLater(f"merchant webhook answered {status}")
        return status
