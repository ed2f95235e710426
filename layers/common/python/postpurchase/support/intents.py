"""What a customer's message asks, by rules: keywords and patterns per language, with weights.

The rules are data, one file per language (`support/intents/{en,id,th,tr,ar,ru}.json`):

    {"language": "tr", "stopwords": [...],
     "angry": {"keywords": [...], "patterns": [...]},
     "rules": [{"id": "tr.wismo.nerede", "intent": "where_is_my_order", "weight": 0.8,
                "keywords": ["siparişim nerede", "kargom*"], "patterns": ["..."]}]}

Matching happens on `text.fold`ed text (one fold for rules and message). A keyword is a word
or phrase matched on word boundaries; a trailing "*" makes it a prefix ("kargom*" matches
"kargomu", "kargom"), which suits agglutinative Turkish and Indonesian suffixes ("-nya"). Thai
is written without spaces between words, so Thai keywords match as substrings. Patterns are
regular expressions written in folded form (lower case, Turkish letters folded, Arabic
normalised); a unit test checks it. A rule's "unless" keywords switch it off: "doesn't
work" is a damaged item, unless the message is about a code, a coupon or a tracking link. A single-word keyword of at least six letters also matches
a word one typo away (a swap, a missing, extra or wrong letter) at 80% of its weight.

A rule that matches adds its weight to its intent by noisy-or (1 - Π(1 - w)), so two weak
clues make a stronger one but never a certainty. The best intent wins; its confidence is its
score less half the runner-up's (two intents close together mean we are not sure). Thanks
wins only when nothing else scored: "thanks, where is my parcel?" asks where the parcel is; thanks with a question mark
has half its confidence (a question we have no rule for follows the thanks).
The customer's language and English are both applied (customers mix English words in:
"paket saya belum sampai, tracking nya gimana?"), English at 90%.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from typing import Any

from .text import fold, script_counts

LANGUAGES = ("en", "id", "th", "tr", "ar", "ru")
DEFAULT_LANGUAGE = "en"
DEFAULT_THRESHOLD = 0.5
_RULES_DIR = Path(__file__).with_name("intents")
_MAX_CHARS = 4000          # a customer's question is at the top; quoted history is stripped before
_FUZZY_MIN_LENGTH = 6
_FUZZY_FACTOR = 0.8
_SECOND_LANGUAGE_FACTOR = 0.9
_THANKS_YIELDS_TO = 0.3    # thanks loses to any other intent scoring at least this
_HUMAN_ALSO_WHEN = 0.5     # a sensitive intent this strong sends the message to a human even if it lost


class Intent(StrEnum):
    WHERE_IS_MY_ORDER = "where_is_my_order"
    DELIVERY_DATE = "delivery_date"
    RETURN_EXCHANGE = "return_exchange"
    CANCEL_CHANGE = "cancel_change"
    DAMAGED_WRONG_ITEM = "damaged_wrong_item"
    REFUND_STATUS = "refund_status"
    DISCOUNT = "discount"
    THANKS = "thanks"
    OTHER = "other"


# Answered from live data without a person (THANKS: answered by not replying at all).
AUTO_ANSWERABLE = frozenset({Intent.WHERE_IS_MY_ORDER, Intent.DELIVERY_DATE, Intent.RETURN_EXCHANGE,
                             Intent.REFUND_STATUS, Intent.THANKS})
NO_REPLY_NEEDED = frozenset({Intent.THANKS})
# Never auto-answered, even when they were not the strongest intent of a message.
ALWAYS_HUMAN = frozenset({Intent.DAMAGED_WRONG_ITEM, Intent.CANCEL_CHANGE})


@dataclass(frozen=True)
class IntentMatch:
    intent: Intent
    confidence: float
    angry: bool
    language: str
    matched: tuple[str, ...]
    # every intent that scored, strongest first (the winner included)
    scores: tuple[tuple[Intent, float], ...] = field(default=())
    angry_signals: tuple[str, ...] = field(default=())

    def score(self, intent: Intent) -> float:
        return dict(self.scores).get(intent, 0.0)


# Intents answered by the same grounded reply (support/replies.py: the tracking answer).
_SAME_ANSWER = {Intent.WHERE_IS_MY_ORDER: frozenset({Intent.WHERE_IS_MY_ORDER, Intent.DELIVERY_DATE}),
                Intent.DELIVERY_DATE: frozenset({Intent.WHERE_IS_MY_ORDER, Intent.DELIVERY_DATE})}


def needs_human(match: IntentMatch, threshold: float = DEFAULT_THRESHOLD) -> bool:
    """True when a person must answer: damaged/wrong item, cancel/change, an angry customer,
    anything we cannot answer from data (other, discount), or too little confidence. Also when
    damaged or cancel scored strongly but lost ("where is my order? it came broken last time")."""
    if match.angry or match.intent not in AUTO_ANSWERABLE or match.confidence < threshold:
        return True
    return any(match.score(intent) >= _HUMAN_ALSO_WHEN for intent in ALWAYS_HUMAN)


# --- rules -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Rule:
    rule_id: str
    intent: Intent
    weight: float
    regex: re.Pattern[str] | None
    fuzzy_words: tuple[str, ...]
    unless: re.Pattern[str] | None = None


@dataclass(frozen=True)
class _Language:
    code: str
    rules: tuple[_Rule, ...]
    stopwords: frozenset[str]
    angry: re.Pattern[str] | None


def keyword_regex(keyword: str, substring: bool) -> str:
    """The regular expression of one rule keyword (see the module docstring); FAQ keywords too."""
    prefix = keyword.endswith("*")
    word = fold(keyword.rstrip("*"))
    body = r"\s*".join(re.escape(part) for part in word.split(" ")) if substring else \
        r"\s+".join(re.escape(part) for part in word.split(" "))
    if substring:
        return body
    return r"(?<!\w)" + body + ("" if prefix else r"(?!\w)")


def _alternation(keywords: list[str], patterns: list[str], substring: bool) -> re.Pattern[str] | None:
    parts = [keyword_regex(k, substring) for k in keywords] + [f"(?:{p})" for p in patterns]
    return re.compile("|".join(parts)) if parts else None


def _load(code: str) -> _Language:
    data: dict[str, Any] = json.loads((_RULES_DIR / f"{code}.json").read_text(encoding="utf-8"))
    substring = bool(data.get("substring_match", False))
    rules = []
    for raw in data["rules"]:
        keywords = list(raw.get("keywords", ()))
        fuzzy = tuple(fold(k) for k in keywords
                      if not substring and not k.endswith("*") and " " not in k
                      and len(fold(k)) >= _FUZZY_MIN_LENGTH)
        rules.append(_Rule(raw["id"], Intent(raw["intent"]), float(raw["weight"]),
                           _alternation(keywords, list(raw.get("patterns", ())), substring), fuzzy,
                           _alternation(list(raw.get("unless", ())), [], substring)))
    angry = data.get("angry", {})
    return _Language(code, tuple(rules), frozenset(fold(w) for w in data.get("stopwords", ())),
                     _alternation(list(angry.get("keywords", ())), list(angry.get("patterns", ())), substring))


@lru_cache(maxsize=None)
def rules_for(code: str) -> _Language:
    """The parsed rules of one language (read once per container)."""
    if code not in LANGUAGES:
        raise KeyError(code)
    return _load(code)


# --- language ---------------------------------------------------------------------------------

def base_language(language: str | None) -> str | None:
    """"tr-TR" -> "tr"; None or a language we have no rules for -> None."""
    if not language:
        return None
    code = language.strip().replace("_", "-").split("-")[0].lower()
    return code if code in LANGUAGES else None


_WORD = re.compile(r"\w+")
_TURKISH_LETTERS = re.compile("[şğıİŞĞ]")


LATIN_LANGUAGES = ("en", "id", "tr")


def detect_language(text: str) -> str:
    """Script first (Thai, Arabic, Cyrillic); Latin text by stopwords of en/id/tr (Turkish
    letters count as clues); English when nothing tells."""
    return _detect(text)[0]


def _detect(text: str) -> tuple[str, bool]:
    """The language and whether the text said so (False: a short Latin text without clues)."""
    counts = script_counts(text)
    # English words are mixed into Thai, Arabic and Russian messages, never the other way round
    others = {k: v for k, v in counts.items() if k != "latin" and v >= 2}
    script = max(others, key=lambda k: others[k]) if others else "latin"
    if counts[script] == 0:
        return DEFAULT_LANGUAGE, False
    if script == "thai":
        return "th", True
    if script == "arabic":
        return "ar", True
    if script == "cyrillic":
        return "ru", True
    words = _WORD.findall(fold(text))
    scores = {}
    for code in LATIN_LANGUAGES:
        stop = rules_for(code).stopwords
        scores[code] = float(sum(1 for w in words if w in stop))
    scores["tr"] += 1.5 * len(_TURKISH_LETTERS.findall(text))
    ranked = sorted(LATIN_LANGUAGES, key=lambda c: scores[c], reverse=True)
    best, second = ranked[0], ranked[1]
    if scores[best] == 0:
        return DEFAULT_LANGUAGE, False
    return best, scores[best] >= 2 and scores[best] >= 2 * scores[second]


# --- matching ---------------------------------------------------------------------------------

def _near(a: str, b: str) -> bool:
    """At most one edit (insert, delete, substitute, or swap of neighbours) apart."""
    if a == b:
        return True
    la, lb = len(a), len(b)
    if abs(la - lb) > 1:
        return False
    if la == lb:
        diff = [i for i in range(la) if a[i] != b[i]]
        if len(diff) == 1:
            return True
        return len(diff) == 2 and diff[1] == diff[0] + 1 and a[diff[0]] == b[diff[1]] and a[diff[1]] == b[diff[0]]
    if la > lb:
        a, b = b, a
    i = 0
    while i < len(a) and a[i] == b[i]:
        i += 1
    return a[i:] == b[i + 1:]


def _apply(language: _Language, folded: str, words: set[str], factor: float,
           hits: dict[str, tuple[Intent, float]]) -> None:
    for rule in language.rules:
        if rule.rule_id in hits or (rule.unless is not None and rule.unless.search(folded)):
            continue
        weight = 0.0
        if rule.regex is not None and rule.regex.search(folded):
            weight = rule.weight
        elif rule.fuzzy_words and any(_near(w, k) for k in rule.fuzzy_words for w in words
                                      if abs(len(w) - len(k)) <= 1):
            weight = rule.weight * _FUZZY_FACTOR
        if weight:
            hits[rule.rule_id] = (rule.intent, weight * factor)


def detect_intent(text: str, language: str | None = None) -> IntentMatch:
    """The intent of a customer's message (new text only: strip quoted history first)."""
    text = (text or "")[:_MAX_CHARS]
    folded = fold(text)
    words = {w for w in _WORD.findall(folded) if len(w) >= _FUZZY_MIN_LENGTH - 1}
    given = base_language(language)
    code, sure = (given, True) if given else _detect(text)
    if not sure and code in LATIN_LANGUAGES:
        # "barangnya rusak", "kargom gelmedi": too short to tell by stopwords; the language
        # whose rules recognise the text best is the language it is written in.
        best = -1.0
        for candidate in sorted(LATIN_LANGUAGES, key=lambda c: c != code):
            trial: dict[str, tuple[Intent, float]] = {}
            _apply(rules_for(candidate), folded, words, 1.0, trial)
            strength = max((w for _, w in trial.values()), default=0.0)
            if strength > best:
                code, best = candidate, strength
    hits: dict[str, tuple[Intent, float]] = {}
    _apply(rules_for(code), folded, words, 1.0, hits)
    if code != DEFAULT_LANGUAGE:
        _apply(rules_for(DEFAULT_LANGUAGE), folded, words, _SECOND_LANGUAGE_FACTOR, hits)

    remaining: dict[Intent, float] = {}
    for intent, weight in hits.values():
        remaining[intent] = remaining.get(intent, 1.0) * (1.0 - min(weight, 0.99))
    scores = sorted(((intent, round(1.0 - rest, 4)) for intent, rest in remaining.items()),
                    key=lambda pair: pair[1], reverse=True)
    angry_signals = _angry_signals(text, folded, rules_for(code), code)
    angry = bool(angry_signals)

    if not scores:
        return IntentMatch(Intent.OTHER, 0.0, angry, code, (), (), angry_signals)
    ranked = [s for s in scores if s[0] is not Intent.THANKS and s[1] >= _THANKS_YIELDS_TO] or scores
    winner, top = ranked[0]
    # Intents one answer serves do not compete: "where is my order? when will it come?" is one
    # question to the tracking reply, not two doubts.
    family = _SAME_ANSWER.get(winner, frozenset({winner}))
    runner_up = max((s for i, s in scores if i not in family and i is not Intent.THANKS), default=0.0)
    confidence = max(0.0, top - 0.5 * runner_up)
    if winner is Intent.THANKS and "?" in folded:
        confidence *= 0.5   # "Thank you! Where can I leave a review?" still asks something
    confidence = round(confidence, 4)
    matched = tuple(rule_id for rule_id, (intent, _) in hits.items() if intent is winner)
    return IntentMatch(winner, confidence, angry, code, matched, tuple(scores), angry_signals)


# --- anger ------------------------------------------------------------------------------------

_EXCLAIM = re.compile(r"[!！]{3,}|(?:[!?]\s*){4,}|[?!]{2,}[!?]*!")
_ANGRY_EMOJI = re.compile("[\U0001F621\U0001F620\U0001F92C\U0001F595\U0001F624]")
_CASED_WORD = re.compile(r"[^\W\d_]{4,}")
_ACRONYMS = frozenset({"USPS", "FEDEX", "ASAP", "HTTP", "HTTPS", "HELLO", "JNE", "SICEPAT", "PTT", "ARAS",
                       "YURTICI", "SDEK", "СДЭК", "EMS", "URGENT"})


def _angry_signals(text: str, folded: str, language: _Language, code: str) -> tuple[str, ...]:
    signals = []
    if language.angry is not None and language.angry.search(folded):
        signals.append(f"{code}.angry.words")
    elif code != DEFAULT_LANGUAGE:
        english = rules_for(DEFAULT_LANGUAGE).angry
        if english is not None and english.search(folded):
            signals.append("en.angry.words")
    if _EXCLAIM.search(text):
        signals.append("exclamations")
    if _ANGRY_EMOJI.search(text):
        signals.append("emoji")
    if _shouting(text):
        signals.append("all_caps")
    return tuple(signals)


def _shouting(text: str) -> bool:
    """ALL CAPS, in scripts that have capitals (Latin, Cyrillic): most of the text's letters,
    or three shouted words of four letters or more (carrier names and codes excepted)."""
    cased = [ch for ch in text if ch.isalpha() and (ch.isupper() or ch.islower())]
    if len(cased) >= 10 and sum(ch.isupper() for ch in cased) / len(cased) >= 0.8:
        return True
    shouted = [w for w in _CASED_WORD.findall(text) if w.isupper() and w not in _ACRONYMS]
    return len(shouted) >= 3
