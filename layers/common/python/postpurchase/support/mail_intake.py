"""Support mail SES stored in S3 -> a customer message (support_inbound's one use case).

The object is read once (at most MAX_MAIL_BYTES + 1 bytes: a bigger one is parsed from its headers
and flagged "too_large"), parsed (inbound_mail.py: never raises), its attachments written next
to it in the bucket, and handed to service.receive_message. The merchant is the local part of
the recipient at SUPPORT_MAIL_DOMAIN ({merchant}@{domain}). Identity: the sender's Message-ID
when there is one (SES may store one message twice), else the S3 key; a redelivered event finds
its receipt and writes nothing again.

Mail we cannot place (no known merchant) stays in the bucket, tagged `support-status=unrouted`
and counted; nothing raises for bad mail, so only a real outage (throttling, a timeout) is
retried by Lambda, twice, before the event goes to the function's dead-letter queue.

Requests: S3 GetObject once, PutObject per attachment, PutObjectTagging for unrouted mail, then
receive_message's.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from .inbound_mail import InboundMail, parse_inbound_mail
from .model import Channel, stable_id

MAX_MAIL_BYTES = 10_000_000
MAX_ATTACHMENTS = 20
_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass(frozen=True)
class MailOutcome:
    status: str  # "recorded", "duplicate", "unrouted"
    merchant_id: str | None = None
    conversation_id: str | None = None
    auto_answered: bool = False
    problems: tuple[str, ...] = ()


def merchant_of(mail: InboundMail, domain: str) -> str | None:
    """The merchant a support address names: {merchant}@{domain} among To (then Cc)."""
    from ..services import merchant_store

    suffix = "@" + domain.lower()
    for address in (*mail.to_addresses, *mail.cc_addresses):
        address = address.lower()
        if domain and address.endswith(suffix):
            candidate = address[: -len(suffix)].split("+", 1)[0]
            if candidate and merchant_store().get(candidate) is not None:
                return candidate
    return None


def attachment_key(raw_key: str, number: int, filename: str) -> str:
    name = _SAFE_NAME.sub("_", filename).strip("._")[:100] or "attachment"
    return f"attachments/{stable_id(raw_key)}/{number:02d}-{name}"


def receive_stored_mail(bucket: str, key: str, now: datetime) -> MailOutcome:
    from ..adapters.aws import client
    from ..config import settings
    from ..observability import MetricUnit, logger, metrics
    from .service import Incoming, receive_message

    s3 = client("s3")
    body = s3.get_object(Bucket=bucket, Key=key)["Body"]
    raw = body.read(MAX_MAIL_BYTES + 1)
    body.close()
    domain = settings().support_mail_domain
    mail = parse_inbound_mail(raw, own_domains=[d for d in (domain,) if d], max_bytes=MAX_MAIL_BYTES)
    merchant_id = merchant_of(mail, domain)
    if merchant_id is None:
        s3.put_object_tagging(Bucket=bucket, Key=key,
                              Tagging={"TagSet": [{"Key": "support-status", "Value": "unrouted"}]})
        metrics.add_metric(name="SupportMailUnrouted", unit=MetricUnit.Count, value=1)
        logger.warning("support mail for no known merchant", extra={"key": key, "to": len(mail.to_addresses)})
        return MailOutcome("unrouted", problems=mail.problems)
    stored = []
    for number, attachment in enumerate(mail.attachments[:MAX_ATTACHMENTS]):
        target = attachment_key(key, number, attachment.filename)
        s3.put_object(Bucket=bucket, Key=target, Body=attachment.content,
                      ContentType=attachment.content_type or "application/octet-stream")
        stored.append(target)
    problems = mail.problems + (("too_many_attachments",) if len(mail.attachments) > MAX_ATTACHMENTS else ())
    identity = f"mail\x1f{mail.from_address}\x1f{mail.message_id}" if mail.message_id and mail.from_address \
        else f"s3\x1f{bucket}\x1f{key}"
    text = mail.text or mail.full_text
    received = receive_message(Incoming(
        merchant_id=merchant_id, channel=Channel.EMAIL, identity=identity, text=text, email=mail.from_address,
        name=mail.from_name, subject=mail.subject, language=mail.language, email_message_id=mail.message_id,
        in_reply_to=mail.in_reply_to, references=mail.references, attachments=tuple(stored), raw_key=key,
        automated=mail.automated, problems=problems), now)
    if problems:
        metrics.add_metric(name="SupportMailFlagged", unit=MetricUnit.Count, value=1)
    return MailOutcome("duplicate" if received.duplicate else "recorded", merchant_id,
                       received.conversation.conversation_id, received.auto_answered, problems)
