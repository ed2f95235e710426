"""Text normalisation shared by intents, references and FAQ matching.

One fold for every language, applied to the customer's text and to our rule data alike, so a
rule written "siparişim nerede" matches "SIPARISIM NEREDE", "Siparişim nerede" and "siparisim
nerede" (Turkish customers often type without Turkish letters):

- digits of every script (Arabic-Indic ٠-٩, Eastern Arabic-Indic ۰-۹, Thai ๐-๙...) -> ASCII;
- Turkish dotted/dotless i: İ, I, ı and i all fold to "i" (Turkish lower-casing would make "I"
  "ı", English "i"; folding both to "i" keeps one rule for both keyboards), and ş ğ ç ö ü â î û
  to their base letters;
- Russian ё -> е;
- Arabic: tashkeel (harakat, tanween, shadda, sukun, dagger alef) and tatweel removed; أ إ آ ٱ
  -> ا, ى -> ي, ة -> ه, ؤ -> و, ئ -> ي; Arabic comma/question mark -> ASCII;
- zero-width characters removed (Thai text carries them as invisible word breaks).

Thai tone marks and vowels are combining characters too: they are kept.
"""
from __future__ import annotations

import re
import unicodedata

_LATIN_FOLD = str.maketrans({
    "ı": "i", "ş": "s", "ğ": "g", "ç": "c", "ö": "o", "ü": "u", "â": "a", "î": "i", "û": "u",
    "ё": "е",
    "أ": "ا", "إ": "ا", "آ": "ا", "ٱ": "ا", "ى": "ي", "ة": "ه", "ؤ": "و", "ئ": "ي",
    "،": ",", "؟": "?", "؛": ";",
    "\u200b": None, "\u200c": None, "\u200d": None, "\u2060": None, "\ufeff": None, "\u00ad": None,
    "ـ": None,  # tatweel
})
# Arabic tashkeel: U+064B..U+065F, dagger alef U+0670, Quranic marks U+06D6..U+06ED.
_TASHKEEL = re.compile("[\u064b-\u065f\u0670\u06d6-\u06ed]")
_SPACES = re.compile(r"\s+")


def ascii_digits(text: str) -> str:
    """Every decimal digit (any script) as its ASCII digit; other characters unchanged."""
    if text.isascii():
        return text
    return "".join(str(unicodedata.digit(ch)) if ch.isdigit() and not ch.isascii()
                   and unicodedata.decimal(ch, None) is not None else ch for ch in text)


def fold(text: str) -> str:
    """The matching form of `text` (see the module docstring); whitespace collapsed."""
    text = unicodedata.normalize("NFC", text)
    text = text.replace("İ", "i").replace("I", "i")
    text = text.lower()
    text = text.translate(_LATIN_FOLD)
    text = _TASHKEEL.sub("", text)
    text = ascii_digits(text)
    # Latin letters with other accents (café, São) lose them; Thai and Cyrillic marks stay.
    if not text.isascii():
        text = "".join(_strip_latin_marks(word) for word in re.split(r"(\s+)", text))
    return _SPACES.sub(" ", text).strip()


def _strip_latin_marks(word: str) -> str:
    if word.isascii() or not any("LATIN" in unicodedata.name(ch, "") for ch in word):
        return word
    out = []
    for ch in unicodedata.normalize("NFD", word):
        if unicodedata.combining(ch) and out and "LATIN" in unicodedata.name(out[-1], ""):
            continue
        out.append(ch)
    return unicodedata.normalize("NFC", "".join(out))


_SCRIPT_RANGES = (
    ("thai", 0x0E00, 0x0E7F),
    ("arabic", 0x0600, 0x06FF), ("arabic", 0x0750, 0x077F), ("arabic", 0x08A0, 0x08FF),
    ("arabic", 0xFB50, 0xFDFF), ("arabic", 0xFE70, 0xFEFF),
    ("cyrillic", 0x0400, 0x04FF),
)


def script_counts(text: str) -> dict[str, int]:
    """How many letters of each script (thai, arabic, cyrillic, latin) the text has."""
    counts = {"thai": 0, "arabic": 0, "cyrillic": 0, "latin": 0}
    for ch in text:
        if not ch.isalpha() and not unicodedata.combining(ch):
            continue
        code = ord(ch)
        for name, low, high in _SCRIPT_RANGES:
            if low <= code <= high:
                counts[name] += 1
                break
        else:
            if code < 0x0250 or 0x1E00 <= code <= 0x1EFF:
                counts["latin"] += 1
    return counts
