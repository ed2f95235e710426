"""The new text of a customer's email: HTML to text, quoted history and signatures removed.

Quoted history is cut at the first attribution line of a reply ("On ... wrote:" and what mail
clients write in our six languages), at Outlook's "-----Original Message-----" (translated) or
its "From: ... / Sent: ..." header block, and every line starting with ">" is dropped (inline
replies keep the customer's lines between quotes). A signature starts at "-- " (or "--") alone
on a line, or at a "Sent from my iPhone" line. In HTML, Gmail's quote (`gmail_quote`), Apple
Mail and Thunderbird's `<blockquote type="cite">`, Yahoo's `yahoo_quoted`, Thunderbird's
`moz-cite-prefix` and signatures (`gmail_signature`, `moz-signature`) are skipped; Outlook's
`divRplyFwdMsg` / `appendonsend` markers end the new text (Outlook puts the history after them).
"""
from __future__ import annotations

import re
from html.parser import HTMLParser

_ATTRIBUTION = re.compile(
    r"^[ \t]*(?:"
    r"On\b[^\n]{0,250}(?:\n[^\n]{0,250})?\bwrote:"                             # en (Gmail, Apple Mail, Thunderbird)
    r"|Pada\b[^\n]{0,250}(?:\n[^\n]{0,250})?\bmenulis:"                        # id
    r"|[^\n]{0,250}(?:\n[^\n]{0,250})?\btarihinde\b[^\n]{0,250}\byazdı:"       # tr (Gmail)
    r"|[^\n]{0,250}\b(?:yazdı|şunu yazdı):"                                   # tr (others)
    r"|[^\n]{0,250}(?:\n[^\n]{0,250})?(?:пишет|написал|написала|написал\(а\)):"  # ru (Yandex, Mail.ru, Thunderbird)
    r"|[^\n]{0,60}\d{4}\s*г\.[^\n]{0,250}(?:\n[^\n]{0,250})?:"                 # ru (Gmail: "пн, 7 дек. 2026 г. в 10:00, X <a@b>:")
    r"|[^\n]{0,250}(?:\n[^\n]{0,250})?เขียนว่า:"                              # th (Gmail)
    r"|(?:في|بتاريخ)\s[^\n]{0,250}(?:\n[^\n]{0,250})?كتب[^\n]{0,250}:"        # ar (Gmail, Outlook)
    r"|[^\n]{0,250}\bكتب:"                                                    # ar (others)
    r"|[^\n]{0,40}\d{1,2}[./]\d{1,2}[./]\d{2,4}[^\n]{0,200}<[^\s<>@]+@[^\s<>]+>\s*:"    # ru (Yandex, Mail.ru: "07.12.2026, 10:00, X <a@b>:")
    r"|Am\b[^\n]{0,250}\bschrieb[^\n]{0,250}:|Le\b[^\n]{0,250}\ba écrit\s?:"
    r")[ \t]*$", re.MULTILINE | re.IGNORECASE)
# any client: a line ending in an address and a colon, followed by quoted lines
_ADDRESS_ATTRIBUTION = re.compile(r"^[^\n]{0,250}<?[^\s<>@]+@[^\s<>]+>?\s*:[ \t]*\n(?:[ \t]*\n)?[ \t]*>", re.MULTILINE)
_ORIGINAL_MESSAGE = re.compile(
    r"^[ \t]*-{2,}\s*(?:Original Message|Pesan Asli|Özgün İleti|Orijinal Mesaj|Asıl İleti|Исходное сообщение|"
    r"Пересылаемое сообщение|Forwarded message|الرسالة الأصلية|ข้อความต้นฉบับ)\s*-{2,}[ \t]*$",
    re.MULTILINE | re.IGNORECASE)
_FROM = r"(?:From|Dari|Kimden|От|من|จาก)"
_SENT = r"(?:Sent|Date|Dikirim|Tanggal|Gönderildi|Tarih|Отправлено|Дата|تاريخ الإرسال|أرسلت|التاريخ|ส่ง|วันที่)"
_OUTLOOK_HEADERS = re.compile(
    rf"^(?:[ \t]*_{{10,}}[ \t]*\n)?[ \t]*\*?{_FROM}\s*:\*?[^\n]*\n(?:[^\n]*\n){{0,2}}?[ \t]*\*?{_SENT}\s*:", re.MULTILINE)
_SIGNATURE = re.compile(r"^(?:-- ?|—)[ \t]*$", re.MULTILINE)
_SENT_FROM = re.compile(
    r"^[ \t]*(?:Sent from my \w+|Sent from (?:Mail|Outlook|Yahoo Mail)\b|Get Outlook for \w+|Dikirim dari \w+|"
    r"iPhone'umdan gönderildi|Отправлено с (?:iPhone|моего \w+)|Отправлено из мобильной|أرسلت من|ส่งจาก iPhone)[^\n]*$",
    re.MULTILINE | re.IGNORECASE)
_QUOTED_LINE = re.compile(r"^[ \t]*>[^\n]*(?:\n|$)", re.MULTILINE)
_BLANKS = re.compile(r"\n[ \t]*\n(?:[ \t]*\n)+")


def strip_quoted(text: str) -> str:
    """The text above the quoted history, without quoted lines and the signature."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    cut = len(text)
    for pattern in (_ATTRIBUTION, _ADDRESS_ATTRIBUTION, _ORIGINAL_MESSAGE, _OUTLOOK_HEADERS, _SIGNATURE, _SENT_FROM):
        match = pattern.search(text)
        if match and match.start() < cut:
            cut = match.start()
    text = _QUOTED_LINE.sub("", text[:cut])
    return tidy(text)


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def tidy(text: str) -> str:
    text = _CONTROL.sub("", text)
    lines = [line.rstrip() for line in text.replace("\r\n", "\n").replace("\xa0", " ").split("\n")]
    return _BLANKS.sub("\n\n", "\n".join(lines)).strip()


_PARAGRAPH = frozenset({"p", "ul", "ol", "table", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre"})
_LINE = frozenset({"div", "tr", "li", "section", "article", "header", "footer", "dd", "dt", "address"})
_SKIP_ALWAYS = frozenset({"script", "style", "head", "title", "template"})
_QUOTE_CLASSES = ("gmail_quote", "yahoo_quoted", "moz-cite-prefix", "gmail_signature", "moz-signature",
                  "gmail_extra", "protonmail_quote", "ms-outlook-mobile-reference-message")
_HISTORY_IDS = frozenset({"divRplyFwdMsg", "appendonsend", "mail-editor-reference-message-container",
                          "x_divRplyFwdMsg", "OLK_SRC_BODY_SECTION"})
_VOID = frozenset({"br", "hr", "img", "meta", "link", "input", "area", "base", "col", "embed", "source", "wbr"})


class _Converter(HTMLParser):
    def __init__(self, skip_quotes: bool) -> None:
        super().__init__(convert_charrefs=True)
        self.skip_quotes = skip_quotes
        self.out: list[str] = []
        self.stack: list[tuple[str, bool]] = []    # (tag, skipping)
        self.skipping = 0
        self.done = False

    def _is_quote(self, tag: str, attrs: dict[str, str]) -> bool:
        if tag in _SKIP_ALWAYS:
            return True
        if not self.skip_quotes:
            return False
        classes = attrs.get("class", "") or ""
        if any(name in classes.split() or name in classes for name in _QUOTE_CLASSES):
            return True
        if tag == "blockquote" and (attrs.get("type", "").lower() == "cite" or "gmail_quote" in classes):
            return True
        return False

    def _starts_history(self, attrs: dict[str, str]) -> bool:
        """Outlook puts the quoted message AFTER these markers, not inside them: stop there."""
        return self.skip_quotes and attrs.get("id", "") in _HISTORY_IDS

    def _break(self, lines: int) -> None:
        """End the current line (1) or paragraph (2), without stacking blank lines."""
        if self.skipping or self.done:
            return
        tail = "".join(self.out[-3:]).rstrip(" ")
        have = len(tail) - len(tail.rstrip("\n"))
        if "".join(self.out).strip():
            self.out.append("\n" * max(0, lines - have))

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k.lower(): (v or "") for k, v in attrs}
        if self._starts_history(values):
            self.done = True
        if self.done:
            return
        if tag in _VOID:
            if tag in ("br", "hr") and not self.skipping:
                self.out.append("\n")
            return
        skip = self._is_quote(tag, values)
        self.stack.append((tag, skip))
        if skip:
            self.skipping += 1
        elif not self.skipping:
            if tag in _PARAGRAPH:
                self._break(2)
            elif tag in _LINE:
                self._break(1)
            if tag == "li":
                self.out.append("- ")
            elif tag in ("td", "th") and self.out and not self.out[-1].endswith("\n"):
                self.out.append(" ")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("br", "hr") and not self.skipping and not self.done:
            self.out.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in _VOID or self.done:
            return
        # close up to the matching open tag (HTML in mail is often unbalanced)
        for index in range(len(self.stack) - 1, -1, -1):
            if self.stack[index][0] == tag:
                for _, skipped in self.stack[index:]:
                    if skipped:
                        self.skipping -= 1
                del self.stack[index:]
                break
        if tag in _PARAGRAPH:
            self._break(2)
        elif tag in _LINE:
            self._break(1)

    def handle_data(self, data: str) -> None:
        if not self.skipping and not self.done:
            self.out.append(re.sub(r"[ \t\r\n\f]+", " ", data))


def html_to_text(html: str, *, skip_quotes: bool = False) -> str:
    """Readable text of an HTML mail body; quote containers left out when `skip_quotes`."""
    converter = _Converter(skip_quotes)
    try:
        converter.feed(html)
        converter.close()
    except Exception:  # noqa: BLE001 - html.parser rarely raises; a mail body must still give text
        return tidy(re.sub(r"<[^>]*>", " ", html))
    lines = [line.strip() for line in "".join(converter.out).split("\n")]
    return tidy("\n".join(lines))
