"""The MIME message we hand to SES (raw), so the bytes sent are the bytes we rendered."""
from __future__ import annotations

from datetime import datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import EmailPolicy
from email.utils import format_datetime, make_msgid

from .headers import Folded, mailbox, unstructured
from .requests import EmailRequest, MerchantBranding


def _addr_spec(email: str) -> str:
    local, _, domain = email.rpartition("@")
    return Address(username=local, domain=domain).addr_spec


class _Policy(EmailPolicy):
    """SMTP's policy, keeping the headers messaging/headers.py encoded and folded as they are
    (Python's folder makes over-long encoded words and can drop a space between two)."""

    def header_store_parse(self, name, value):
        if isinstance(value, Folded):
            return (name, value)
        return super().header_store_parse(name, value)


# Other headers are ASCII (dates, ids, URLs): folded by Python, on lines of up to 998.
_POLICY = _Policy(linesep="\r\n", max_line_length=998)


def build_mime(request: EmailRequest, merchant: MerchantBranding, *, subject: str, html: str, text: str,
               now: datetime) -> bytes:
    message = EmailMessage(policy=_POLICY)
    message["From"] = mailbox("From", merchant.name, _addr_spec(merchant.from_email))
    message["To"] = mailbox("To", None, _addr_spec(request.recipient))
    support = request.support
    if support is not None and support.reply_to:
        # A forward to the merchant's helpdesk answers the customer: their name, not the shop's.
        message["Reply-To"] = mailbox("Reply-To", support.reply_to_name if request.kind == "support_forward"
                                      else merchant.name, _addr_spec(support.reply_to))
    elif merchant.reply_to or merchant.support_email:
        message["Reply-To"] = mailbox("Reply-To", merchant.name,
                                      _addr_spec(merchant.reply_to or merchant.support_email or ""))
    message["Subject"] = unstructured("Subject", subject)
    message["Date"] = format_datetime(now)
    message["Message-ID"] = support.message_id if support else make_msgid(domain=merchant.from_email.rpartition("@")[2])
    if support is not None:
        # Threaded under the customer's message (RFC 5322 3.6.4); an automated answer says so
        # (RFC 3834), so the customer's own auto-responder does not answer it back.
        if support.in_reply_to:
            message["In-Reply-To"] = support.in_reply_to
        if support.references:
            message["References"] = " ".join(support.references[-20:])
        if support.automated:
            message["Auto-Submitted"] = support.auto_submitted
            message["X-Auto-Response-Suppress"] = "All"
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
