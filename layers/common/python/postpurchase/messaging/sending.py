"""Deliver one email request exactly once: render, claim in the ledger, send, mark sent."""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Callable, Literal, Protocol

from ..errors import MailerUnavailable, MessageRefused, RetryLater
from .mime import build_mime
from .requests import EmailRequest, MerchantBranding

DeliveryOutcome = Literal["sent", "duplicate", "abandoned", "failed"]


class ClaimLike(Protocol):
    outcome: str


class SendLedger(Protocol):
    def claim(self, merchant_id: str, scope: tuple[str, str], message_key: str, recipient: str,
              now: datetime) -> ClaimLike: ...

    def mark_sent(self, claim: ClaimLike, provider_message_id: str, now: datetime) -> None: ...

    def mark_failed(self, claim: ClaimLike, reason: str, now: datetime | None = None) -> None: ...

    def mark_abandoned(self, claim: ClaimLike, now: datetime | None = None) -> None: ...

    def release(self, claim: ClaimLike) -> None: ...


class Mailer(Protocol):
    def send(self, *, sender: str, recipient: str, raw_message: bytes, tags: dict[str, str]) -> str: ...


class RenderedLike(Protocol):
    subject: str
    html: str
    text: str


@dataclass(frozen=True)
class Delivery:
    outcome: DeliveryOutcome
    provider_message_id: str | None = None
    detail: str | None = None


_TAG_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]")


def _tag(value: str) -> str:
    return _TAG_UNSAFE.sub("_", value)[:256]


def deliver(request: EmailRequest, merchant: MerchantBranding, *, ledger: SendLedger, mailer: Mailer,
            render: Callable[[EmailRequest, MerchantBranding], RenderedLike], now: datetime) -> Delivery:
    # Render before claiming: a template error must not leave a claim that blocks the retry.
    rendered = render(request, merchant)
    raw = build_mime(request, merchant, subject=rendered.subject, html=rendered.html, text=rendered.text, now=now)

    claim = ledger.claim(request.merchant_id, request.ledger_scope, request.message_key, request.recipient, now)
    if claim.outcome == "already_sent":
        return Delivery("duplicate")
    if claim.outcome == "failed":
        return Delivery("failed", detail="refused earlier")
    if claim.outcome == "in_flight":
        raise RetryLater(f"{request.message_key} is being sent by another invocation")
    if claim.outcome == "abandoned":
        # An earlier invocation died between claiming and recording the send: it may have
        # reached the customer. Never risk a second copy.
        ledger.mark_abandoned(claim, now)
        return Delivery("abandoned")

    try:
        provider_id = mailer.send(sender=merchant.from_email, recipient=request.recipient, raw_message=raw,
                                  tags={"kind": _tag(request.kind), "merchant": _tag(request.merchant_id)})
    except MessageRefused as error:
        ledger.mark_failed(claim, f"{type(error).__name__}: {error}", now)
        return Delivery("failed", detail=str(error))
    except MailerUnavailable as error:
        ledger.release(claim)
        raise RetryLater(f"mailer unavailable: {error}") from error
    ledger.mark_sent(claim, provider_id, now)
    return Delivery("sent", provider_message_id=provider_id)
