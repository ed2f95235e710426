"""A raw inbound email (as SES stored it in S3) -> what support needs of it. Never raises.

Parsed with the stdlib `email` package (`policy.default`: RFC 2047 encoded words, RFC 2231
filenames). The body is the text/plain alternative when there is one, else the HTML converted
to text; inline text parts of a multipart/mixed are joined; everything with a filename or
`Content-Disposition: attachment` (and forwarded messages) is an attachment. Each text part is
decoded with its declared charset (aliases such as tis-620 and gb2312 read with the superset
Windows and GB18030 codecs); a charset Python does not know is decoded as UTF-8 with
replacement characters and flagged "unknown_charset".

`automated` says why we must never auto-reply (first reason found; all in
`automated_reasons`): Auto-Submitted other than "no" (also X-Autoreply/X-Autorespond),
Precedence bulk/list/junk/auto_reply (also a List-Id header: mailing lists), any
X-Auto-Response-Suppress, a null Return-Path "<>", a delivery status report (multipart/report,
a message/delivery-status part, or MAILER-DAEMON), or our own message (From or Message-ID in
one of `own_domains`, or a subdomain of one).

Bad mail still gives an InboundMail with `problems`: "too_large" (over `max_bytes`: only the
headers are read), "malformed_mime" (parser defects, no headers, truncated), "unknown_charset",
"no_sender"; and "decoding_errors" when a known charset met bytes it cannot decode.
Message ids keep their angle brackets ("<abc@mail.example>"), as In-Reply-To needs them.
"""
from __future__ import annotations

import codecs
import mimetypes
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from email import message_from_bytes, policy
from email.message import EmailMessage, Message
from email.utils import getaddresses, parseaddr, parsedate_to_datetime

from .mail_text import html_to_text, strip_quoted, tidy


@dataclass(frozen=True)
class MailAttachment:
    filename: str
    content_type: str
    content: bytes


@dataclass(frozen=True)
class InboundMail:
    message_id: str | None
    in_reply_to: str | None
    references: tuple[str, ...]
    from_address: str | None
    from_name: str | None
    to_addresses: tuple[str, ...]
    subject: str
    text: str
    full_text: str
    language: str | None
    attachments: tuple[MailAttachment, ...]
    automated: str | None
    problems: tuple[str, ...]
    reply_to: str | None = None
    cc_addresses: tuple[str, ...] = ()
    sent_at: datetime | None = None
    automated_reasons: tuple[str, ...] = field(default=())
    size: int = 0


_HEADER_LIMIT = 256 * 1024
_CHARSET_ALIASES = {
    "tis-620": "cp874", "tis620": "cp874", "iso-8859-11": "cp874", "windows-874": "cp874", "x-windows-874": "cp874",
    "gb2312": "gb18030", "gbk": "gb18030", "x-gbk": "gb18030", "euc-cn": "gb18030", "gb_2312-80": "gb18030",
    "ks_c_5601-1987": "cp949", "euc-kr": "cp949", "iso-8859-8-i": "iso-8859-8", "windows-1256": "cp1256",
    "x-mac-arabic": "mac_arabic", "utf8": "utf-8", "unicode-1-1-utf-7": "utf-7", "ascii": "utf-8",
    "us-ascii": "utf-8", "iso-8859-1": "cp1252", "latin1": "cp1252", "iso-8859-9": "cp1254",
}
_MSG_ID = re.compile(r"<[^<>\s]+>")


def parse_inbound_mail(raw: bytes, *, own_domains: Iterable[str] = (), max_bytes: int = 10_000_000) -> InboundMail:
    own = tuple(d.lower().strip(".") for d in own_domains if d)
    raw = raw if isinstance(raw, (bytes, bytearray)) else bytes(raw or b"")
    problems: list[str] = []
    try:
        if len(raw) > max_bytes:
            problems.append("too_large")
            return _parse(_headers_only(raw), own, problems, body=False, size=len(raw))
        return _parse(bytes(raw), own, problems, body=True, size=len(raw))
    except Exception:  # noqa: BLE001 - bad mail must be stored and flagged, never crash the consumer
        if "malformed_mime" not in problems:
            problems.append("malformed_mime")
        return InboundMail(None, None, (), None, None, (), "", "", "", None, (), None,
                           tuple(dict.fromkeys(problems + ["no_sender"])), size=len(raw))


def _headers_only(raw: bytes) -> bytes:
    head = raw[:_HEADER_LIMIT]
    for separator in (b"\r\n\r\n", b"\n\n"):
        end = head.find(separator)
        if end != -1:
            return head[:end + len(separator)]
    return head


def _parse(raw: bytes, own: tuple[str, ...], problems: list[str], *, body: bool, size: int) -> InboundMail:
    message = message_from_bytes(raw, policy=policy.default)
    if not message.keys() or message.defects:
        problems.append("malformed_mime")

    from_name, from_address = _first_address(message, "From")
    if not from_address:
        problems.append("no_sender")
    reply_to = _first_address(message, "Reply-To")[1]
    message_id = _message_id(_header(message, "Message-ID"))
    in_reply_to = _message_id(_header(message, "In-Reply-To"))
    references = tuple(_MSG_ID.findall(_header(message, "References")))
    subject = re.sub(r"\s+", " ", _header(message, "Subject")).strip()
    language = _header(message, "Content-Language").split(",")[0].strip() or None

    full_text = text = ""
    attachments: list[MailAttachment] = []
    if body:
        parts: list[tuple[str, str]] = []          # (full, new)
        _walk(message, parts, attachments, problems)
        full_text = tidy("\n\n".join(full for full, _ in parts if full))
        text = tidy("\n\n".join(new for _, new in parts if new))

    reasons = _automated_reasons(message, from_address, message_id, own)
    return InboundMail(
        message_id=message_id, in_reply_to=in_reply_to, references=references,
        from_address=from_address, from_name=from_name,
        to_addresses=_addresses(message, "To"), subject=subject, text=text, full_text=full_text,
        language=language, attachments=tuple(attachments), automated=reasons[0] if reasons else None,
        problems=tuple(dict.fromkeys(problems)), reply_to=reply_to, cc_addresses=_addresses(message, "Cc"),
        sent_at=_date(_header(message, "Date")), automated_reasons=reasons, size=size)


# --- headers ----------------------------------------------------------------------------------

def _header(message: Message, name: str) -> str:
    try:
        value = message.get(name)
    except Exception:  # noqa: BLE001 - a header policy.default cannot parse
        value = None
        for key, raw in message.raw_items() if isinstance(message, EmailMessage) else ():
            if key.lower() == name.lower():
                value = raw
                break
    return str(value) if value is not None else ""


def _address_pairs(message: Message, name: str) -> list[tuple[str, str]]:
    try:
        header = message.get(name)
        if header is not None and hasattr(header, "addresses"):
            return [(a.display_name or "", a.addr_spec) for a in header.addresses]
    except Exception:  # noqa: BLE001 - fall back to the lenient parser below
        pass
    return getaddresses([_header(message, name)])


def _clean_address(address: str) -> str | None:
    address = (address or "").strip().strip("<>").lower()
    if address.count("@") != 1 or " " in address:
        return None
    local, domain = address.split("@")
    return address if local and "." in domain else None


def _first_address(message: Message, name: str) -> tuple[str | None, str | None]:
    for display, address in _address_pairs(message, name):
        clean = _clean_address(address)
        if clean:
            return (display.strip() or None), clean
    raw_name, raw_address = parseaddr(_header(message, name))
    clean = _clean_address(raw_address)
    return ((raw_name.strip() or None) if clean else None), clean


def _addresses(message: Message, name: str) -> tuple[str, ...]:
    return tuple(dict.fromkeys(a for _, address in _address_pairs(message, name) if (a := _clean_address(address))))


def _message_id(value: str) -> str | None:
    match = _MSG_ID.search(value)
    if match:
        return match.group(0)
    value = value.strip()
    return f"<{value}>" if value and " " not in value and "@" in value else None


def _date(value: str) -> datetime | None:
    try:
        return parsedate_to_datetime(value) if value else None
    except (TypeError, ValueError, IndexError):
        return None


def _domain(address: str | None) -> str:
    return address.rsplit("@", 1)[-1].strip("<> ").lower() if address and "@" in address else ""


def _is_own(domain: str, own: tuple[str, ...]) -> bool:
    return bool(domain) and any(domain == d or domain.endswith("." + d) for d in own)


def _automated_reasons(message: Message, from_address: str | None, message_id: str | None,
                       own: tuple[str, ...]) -> tuple[str, ...]:
    reasons = []
    auto_submitted = _header(message, "Auto-Submitted").split(";")[0].strip().lower()
    if (auto_submitted and auto_submitted != "no") or _header(message, "X-Autoreply") or \
            _header(message, "X-Autorespond"):
        reasons.append("auto-submitted")
    precedence = _header(message, "Precedence").strip().lower()
    if precedence in ("bulk", "list", "junk", "auto_reply") or _header(message, "List-Id"):
        reasons.append("precedence")
    suppress = _header(message, "X-Auto-Response-Suppress").strip().lower()
    if suppress and suppress != "none":
        reasons.append("x-auto-response-suppress")
    if re.fullmatch(r"\s*<\s*>\s*", _header(message, "Return-Path")):
        reasons.append("null-return-path")
    if _is_delivery_report(message, from_address):
        reasons.append("delivery-status-report")
    if _is_own(_domain(from_address), own) or _is_own(_domain(message_id), own):
        reasons.append("our-own-message")
    return tuple(reasons)


def _is_delivery_report(message: Message, from_address: str | None) -> bool:
    if (from_address or "").split("@")[0] in ("mailer-daemon", "postmaster"):
        return True
    for part in message.walk():
        content_type = part.get_content_type()
        if content_type == "multipart/report" and part.get_param("report-type", "").lower() in (
                "delivery-status", "disposition-notification"):
            return True
        if content_type in ("message/delivery-status", "message/global-delivery-status",
                            "message/disposition-notification"):
            return True
    return False


# --- body -------------------------------------------------------------------------------------

def _is_attachment(part: Message) -> bool:
    disposition = (part.get_content_disposition() or "").lower()
    if disposition == "attachment":
        return True
    if part.get_content_maintype() == "message" and part.get_content_type() != "message/delivery-status":
        return True
    if part.get_content_maintype() in ("text", "multipart"):
        return False
    return True


def _walk(part: Message, texts: list[tuple[str, str]], attachments: list[MailAttachment], problems: list[str]) -> None:
    if part.defects and "malformed_mime" not in problems:
        problems.append("malformed_mime")
    content_type = part.get_content_type()
    if part.is_multipart() and part.get_content_maintype() == "multipart":
        children = list(part.iter_parts()) if isinstance(part, EmailMessage) else part.get_payload()
        if content_type == "multipart/alternative":
            _alternative(children, texts, attachments, problems)
        else:
            for child in children:
                _walk(child, texts, attachments, problems)
        return
    if _is_attachment(part) or (part.get_filename() and (part.get_content_disposition() or "") != "inline"):
        attachments.append(_attachment(part, len(attachments) + 1))
        return
    if content_type == "text/html":
        html = _decode(part, problems)
        texts.append((html_to_text(html), strip_quoted(html_to_text(html, skip_quotes=True))))
    elif content_type in ("text/plain", "text/enriched"):
        plain = _decode(part, problems)
        texts.append((tidy(plain), strip_quoted(plain)))
    else:
        attachments.append(_attachment(part, len(attachments) + 1))


def _alternative(children: list[Message], texts: list[tuple[str, str]], attachments: list[MailAttachment],
                 problems: list[str]) -> None:
    """The plain alternative if there is one (it carries quoted history as ">" lines), else the richest."""
    if not children:
        return
    plain = [c for c in children if c.get_content_type() == "text/plain" and not _is_attachment(c)]
    chosen = plain[0] if plain else children[-1]
    before = len(texts)
    _walk(chosen, texts, attachments, problems)
    fallback = len(texts) == before or not any(full for full, _ in texts[before:])
    for child in reversed(children):
        if child is chosen:
            continue
        if fallback:                                # the plain one was empty: take the next best
            _walk(child, texts, attachments, problems)
            fallback = False
        else:                                       # photos pasted into the HTML version are kept
            _walk(child, [], attachments, problems)


def _codec(charset: str | None) -> tuple[str, bool]:
    """(codec name, known). No charset declared: UTF-8 (RFC 6532 mail), known."""
    if not charset:
        return "utf-8", True
    name = charset.strip().strip('"').lower()
    name = _CHARSET_ALIASES.get(name, name)
    try:
        return codecs.lookup(name).name, True
    except LookupError:
        return "utf-8", False


def _decode(part: Message, problems: list[str]) -> str:
    payload = part.get_payload(decode=True)
    if payload is None:
        payload = b""
    if part.defects and "malformed_mime" not in problems:     # e.g. invalid base64, found while decoding
        problems.append("malformed_mime")
    if isinstance(payload, str):
        return payload
    codec, known = _codec(part.get_content_charset())
    if not known and "unknown_charset" not in problems:
        problems.append("unknown_charset")
    try:
        return payload.decode(codec)
    except UnicodeDecodeError:
        if not part.get_content_charset():
            return payload.decode("cp1252", errors="replace")
        if known and "decoding_errors" not in problems:
            problems.append("decoding_errors")
        return payload.decode(codec, errors="replace")
    except LookupError:
        problems.append("unknown_charset")
        return payload.decode("utf-8", errors="replace")


def _attachment(part: Message, number: int) -> MailAttachment:
    content_type = part.get_content_type()
    try:
        filename = part.get_filename() or ""
    except Exception:  # noqa: BLE001 - an undecodable name still leaves the content
        filename = ""
    filename = re.sub(r"[\x00-\x1f/\\]", "_", str(filename)).strip()
    if not filename:
        extension = ".eml" if content_type == "message/rfc822" else (mimetypes.guess_extension(content_type) or ".bin")
        filename = f"attachment-{number}{extension}"
    if part.get_content_maintype() == "message":
        payload = part.get_payload()
        if isinstance(payload, list) and payload:
            content = payload[0].as_bytes(policy=policy.default.clone(linesep="\r\n")) \
                if hasattr(payload[0], "as_bytes") else b""
        else:
            content = part.get_payload(decode=True) or b""
    else:
        content = part.get_payload(decode=True) or b""
    return MailAttachment(filename=filename[:255], content_type=content_type, content=bytes(content))
