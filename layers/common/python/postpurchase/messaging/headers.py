"""Header values for the emails we send, encoded and folded per RFC 2047 and RFC 5322.

Python's own folder writes a long non-ASCII subject as one encoded word far over RFC 2047's
75 characters (some clients then show it raw) or, folding, can drop the space between two
words. Here the whole text is encoded, spaces included, as a run of encoded words of at most
75 characters, each on a line of its own (at most 78 with the header name); decoders ignore the
folding whitespace between encoded words, so they give back exactly the text, spaces included.
A multi-byte character is never split across two words. Plain ASCII text stays readable and
is folded at its spaces.
"""
from __future__ import annotations

import base64

MAX_WORD = 75  # RFC 2047 section 2: an encoded word, "=?charset?b?...?=" included
MAX_LINE = 78  # RFC 5322 section 2.1.1: what a line SHOULD not exceed (998 MUST not)
_PREFIX, _SUFFIX = "=?utf-8?b?", "?="
_OVERHEAD = len(_PREFIX) + len(_SUFFIX)


class Folded(str):
    """A header value already encoded and folded (lines joined by "\\n"): sent as is."""


def _payload_bytes(room: int) -> int:
    """The most UTF-8 bytes whose encoded word fits in `room` characters."""
    return max(0, (min(room, MAX_WORD) - _OVERHEAD) // 4 * 3)


def encoded_words(text: str, first_room: int) -> list[str]:
    """`text` as encoded words: the first fits in `first_room` characters, the others on lines
    of their own after one space (MAX_LINE - 1). No character is split between two words."""
    words: list[str] = []
    chunk = bytearray()
    limit = max(_payload_bytes(first_room), 6)  # a long header name: one short word runs over
    for char in text:
        data = char.encode("utf-8")
        if chunk and len(chunk) + len(data) > limit:
            words.append(_word(bytes(chunk)))
            chunk = bytearray()
            limit = _payload_bytes(MAX_LINE - 1)
        chunk += data
    if chunk or not words:
        words.append(_word(bytes(chunk)))
    return words


def _word(data: bytes) -> str:
    return f"{_PREFIX}{base64.b64encode(data).decode('ascii')}{_SUFFIX}"


def _plain(text: str) -> bool:
    """Text that can go as it is: printable ASCII, nothing a decoder would take for an encoded
    word, no space a parser could strip or a fold could land on, words that fit a line."""
    return (text.isascii() and text.isprintable() and "=?" not in text and text == text.strip()
            and "  " not in text and all(len(word) <= MAX_LINE - 1 - 20 for word in text.split(" ")))


def _fold_plain(text: str, first_room: int) -> list[str]:
    lines: list[str] = []
    line = ""
    room = first_room
    for word in text.split(" "):
        if not line:
            line = word
        elif len(line) + 1 + len(word) <= room:
            line = f"{line} {word}"
        else:
            lines.append(line)
            line, room = word, MAX_LINE - 1
    lines.append(line)
    return lines


def unstructured(name: str, text: str) -> Folded:
    """A Subject (or any unstructured header) value, folded for `Name: value`."""
    first_room = MAX_LINE - len(name) - 2
    if _plain(text):
        return Folded("\n ".join(_fold_plain(text, first_room)))
    return Folded("\n ".join(encoded_words(text, first_room)))


_SPECIALS = set('()<>[]:;@\\,."')


def mailbox(name: str, display_name: str | None, addr_spec: str) -> Folded:
    """`Display Name <local@domain>` with the display name encoded as a phrase when needed."""
    if not display_name:
        return Folded(addr_spec)
    first_room = MAX_LINE - len(name) - 2
    phrase = display_name
    if _plain(display_name) and any(char in _SPECIALS for char in phrase):
        phrase = '"' + phrase.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if _plain(display_name) and len(phrase) <= first_room:
        lines = [phrase]
    else:
        lines = encoded_words(display_name, first_room)
    address = f"<{addr_spec}>"
    last_room = (first_room if len(lines) == 1 else MAX_LINE - 1) - len(lines[-1]) - 1
    if len(address) <= last_room:
        lines[-1] = f"{lines[-1]} {address}"
    else:
        lines.append(address)
    return Folded("\n ".join(lines))
