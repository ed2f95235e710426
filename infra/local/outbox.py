"""Every email SES (moto) accepted, written to outbox/ as .eml and .html with an index page."""
from __future__ import annotations

import html
import re
from dataclasses import dataclass
from email import message_from_bytes
from email.policy import default
from pathlib import Path

INDEX_STYLE = ("body{font-family:system-ui,sans-serif;margin:2rem;color:#1f2328}"
               "table{border-collapse:collapse;width:100%}td,th{padding:.4rem .6rem;border-bottom:1px solid #d0d7de;"
               "text-align:start;vertical-align:top}th{background:#f6f8fa}")


@dataclass(frozen=True)
class OutboxEmail:
    sequence: int
    sender: str
    recipient: str
    subject: str
    message_key: str
    eml_path: Path
    html_path: Path | None
    text: str
    html: str


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-").lower()[:60] or "email"


def _ses_sent_messages(region: str) -> list:
    # The local runtime runs moto's server in this process, so its backend is readable here.
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.ses.models import ses_backends

    return ses_backends[DEFAULT_ACCOUNT_ID][region].sent_messages


class Outbox:
    def __init__(self, directory: Path, region: str = "us-east-1") -> None:
        self.directory = Path(directory)
        self.region = region
        self.emails: list[OutboxEmail] = []
        self._seen = 0
        self.directory.mkdir(parents=True, exist_ok=True)
        for old in list(self.directory.glob("*.eml")) + list(self.directory.glob("*.html")):
            old.unlink()

    def collect(self) -> list[OutboxEmail]:
        sent = _ses_sent_messages(self.region)
        new = sent[self._seen:]
        self._seen = len(sent)
        added = [self._write(message) for message in new if getattr(message, "raw_data", None)]
        if added:
            self._write_index()
        return added

    def _write(self, ses_message) -> OutboxEmail:
        raw = ses_message.raw_data.encode() if isinstance(ses_message.raw_data, str) else ses_message.raw_data
        parsed = message_from_bytes(raw, policy=default)
        sequence = len(self.emails) + 1
        subject = str(parsed["Subject"] or "")
        stem = f"{sequence:04d}-{_slug(subject)}"
        eml_path = self.directory / f"{stem}.eml"
        eml_path.write_bytes(raw)
        html_part = parsed.get_body(preferencelist=("html",))
        text_part = parsed.get_body(preferencelist=("plain",))
        html_body = html_part.get_content() if html_part else ""
        html_path = None
        if html_body:
            html_path = self.directory / f"{stem}.html"
            html_path.write_text(html_body, encoding="utf-8")
        email = OutboxEmail(sequence, str(parsed["From"]), str(parsed["To"]), subject,
                            str(parsed["X-Postpurchase-Message"] or ""), eml_path, html_path,
                            text_part.get_content() if text_part else "", html_body)
        self.emails.append(email)
        return email

    def _write_index(self) -> None:
        rows = "\n".join(
            f"<tr><td>{e.sequence}</td><td>{html.escape(e.recipient)}</td>"
            f"<td><a href=\"{e.html_path.name if e.html_path else e.eml_path.name}\">{html.escape(e.subject)}</a></td>"
            f"<td><code>{html.escape(e.message_key)}</code></td><td><a href=\"{e.eml_path.name}\">.eml</a></td></tr>"
            for e in self.emails)
        (self.directory / "index.html").write_text(
            f"<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Outbox ({len(self.emails)})</title>"
            f"<style>{INDEX_STYLE}</style></head><body><h1>Outbox: {len(self.emails)} emails</h1>"
            f"<table><thead><tr><th>#</th><th>To</th><th>Subject</th><th>Ledger key</th><th>Raw</th></tr></thead>"
            f"<tbody>{rows}</tbody></table></body></html>", encoding="utf-8")
