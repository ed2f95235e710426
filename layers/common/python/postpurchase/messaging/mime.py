"""The MIME message we hand to SES (raw), so the bytes sent are the bytes we rendered."""
from __future__ import annotations

from datetime import datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, make_msgid

from .requests import EmailRequest, MerchantBranding


def _address(display_name: str | None, email: str) -> Address:
    local, _, domain = email.rpartition("@")
    return Address(display_name=display_name or "", username=local, domain=domain)


# Python's header folder can drop the space between two encoded words at a fold (15% of
# random Turkish/Russian/Thai/Arabic subjects in a test), and mail clients then show
# "numaralısiparişiniz". RFC 5322 allows 998-character lines, so we do not fold at 78.
_POLICY = SMTP.clone(max_line_length=998)


def build_mime(request: EmailRequest, merchant: MerchantBranding, *, subject: str, html: str, text: str,
               now: datetime) -> bytes:
    message = EmailMessage(policy=_POLICY)
    message["From"] = _address(merchant.name, merchant.from_email)
    message["To"] = _address(None, request.recipient)
    if merchant.reply_to or merchant.support_email:
        message["Reply-To"] = _address(merchant.name, merchant.reply_to or merchant.support_email or "")
    message["Subject"] = subject
    message["Date"] = format_datetime(now)
    message["Message-ID"] = make_msgid(domain=merchant.from_email.rpartition("@")[2])
    # Lets support staff and the outbox trace an email back to its ledger entry.
    scope, scope_id = request.ledger_scope
    trace = f"{request.merchant_id}/{request.message_key}"
    # A customer's message (birthday, campaign...) is keyed under the customer: say whose it is.
    message["X-Postpurchase-Message"] = trace if scope == "order" else f"{trace}/{scope_id}"
    # RFC 8058 one-click unsubscribe: marketing mail with a link only (RFC 2369 angle brackets).
    # Transactional mail (confirmation, parcel and return notices) carries neither header.
    if request.is_marketing and request.unsubscribe_url:
        message["List-Unsubscribe"] = f"<{request.unsubscribe_url}>"
        message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    message.set_content(text, subtype="plain", charset="utf-8", cte="quoted-printable")
    message.add_alternative(html, subtype="html", charset="utf-8", cte="quoted-printable")
    return message.as_bytes()
