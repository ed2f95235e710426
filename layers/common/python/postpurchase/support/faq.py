"""The merchant's FAQ: localized entries, their validation, and which entry answers a message.

A document is `{"entries": [{"entry_id": "shipping-time", "question": {"en": "...", "tr": "..."},
"answer": {"en": "...", "tr": "..."}, "keywords": {"en": ["shipping time", "how long*"]}}]}`.
Languages are ours (en, id, th, tr, ar, ru); an entry needs a question and an answer in at least
one language, and each question needs its answer in the same language. Limits keep one item
well under DynamoDB's 400 KB: MAX_ENTRIES entries, MAX_QUESTION / MAX_ANSWER characters,
MAX_KEYWORDS keywords per language, MAX_DOCUMENT_BYTES of JSON in all.

`match_faq` scores each entry in the customer's language (and English, which customers mix in):
a keyword of the entry found in the text (the intent rules' matching: folded, word boundaries,
"*" for a prefix, substrings for Thai) counts KEYWORD_SCORE; the share of the question's words
found in the text adds up to OVERLAP_SCORE (Thai, written without spaces, by its character
trigrams). The best entry at or above MIN_SCORE wins; a tie between two different entries is no
answer (a human picks).
"""
from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ..errors import InvalidInput
from .intents import LANGUAGES, _keyword_regex, rules_for
from .text import fold

MAX_ENTRIES = 50
MAX_QUESTION = 300
MAX_ANSWER = 4000
MAX_KEYWORDS = 20
MAX_KEYWORD = 60
MAX_DOCUMENT_BYTES = 200_000
KEYWORD_SCORE = 0.6
OVERLAP_SCORE = 0.75
MIN_SCORE = 0.5
_ENTRY_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")
_WORD = re.compile(r"\w+")
_SUBSTRING_LANGUAGES = frozenset({"th"})


@dataclass(frozen=True)
class FaqEntry:
    entry_id: str
    question: dict[str, str]
    answer: dict[str, str]
    keywords: dict[str, tuple[str, ...]]

    def languages(self) -> tuple[str, ...]:
        return tuple(lang for lang in LANGUAGES if lang in self.question and lang in self.answer)

    def localized(self, language: str, fallback: str | None = None) -> tuple[str, str, str] | None:
        """(language, question, answer) in `language`, else in `fallback` (the merchant's
        default), else None: an entry is not shown in a language nobody asked for."""
        for lang in (language, fallback):
            if lang and lang in self.question and lang in self.answer:
                return lang, self.question[lang], self.answer[lang]
        return None

    def to_json(self) -> dict[str, Any]:
        return {"entry_id": self.entry_id, "question": dict(self.question), "answer": dict(self.answer),
                "keywords": {lang: list(words) for lang, words in self.keywords.items()}}


# --- validation -------------------------------------------------------------------------------

def _texts(value: Any, field: str, limit: int) -> dict[str, str]:
    if not isinstance(value, dict) or not value:
        raise InvalidInput("must be an object of language -> text", field=field)
    texts = {}
    for lang, text in value.items():
        if lang not in LANGUAGES:
            raise InvalidInput(f"language must be one of {', '.join(LANGUAGES)}", field=f"{field}.{lang}")
        if not isinstance(text, str) or not text.strip():
            raise InvalidInput("must be a non-empty string", field=f"{field}.{lang}")
        if len(text) > limit:
            raise InvalidInput(f"at most {limit} characters", field=f"{field}.{lang}")
        texts[lang] = text.strip()
    return texts


def _keywords(value: Any, field: str) -> dict[str, tuple[str, ...]]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise InvalidInput("must be an object of language -> list of keywords", field=field)
    result = {}
    for lang, words in value.items():
        where = f"{field}.{lang}"
        if lang not in LANGUAGES:
            raise InvalidInput(f"language must be one of {', '.join(LANGUAGES)}", field=where)
        if not isinstance(words, list) or len(words) > MAX_KEYWORDS:
            raise InvalidInput(f"must be a list of at most {MAX_KEYWORDS} keywords", field=where)
        cleaned = []
        for index, word in enumerate(words):
            if not isinstance(word, str) or not fold(word.rstrip("*")) or len(word) > MAX_KEYWORD:
                raise InvalidInput(f"must be a word or phrase of at most {MAX_KEYWORD} characters",
                                   field=f"{where}[{index}]")
            cleaned.append(word.strip())
        result[lang] = tuple(dict.fromkeys(cleaned))
    return result


def parse_entries(data: Any) -> list[FaqEntry]:
    """The entries of a PUT body, validated; InvalidInput names the field at fault."""
    if not isinstance(data, dict):
        raise InvalidInput("the FAQ must be a JSON object", field="entries")
    unknown = sorted(set(data) - {"entries"})
    if unknown:
        raise InvalidInput("unknown field", field=unknown[0])
    raw_entries = data.get("entries")
    if not isinstance(raw_entries, list):
        raise InvalidInput("must be a list", field="entries")
    if len(raw_entries) > MAX_ENTRIES:
        raise InvalidInput(f"at most {MAX_ENTRIES} entries", field="entries")
    if len(json.dumps(data, ensure_ascii=False).encode()) > MAX_DOCUMENT_BYTES:
        raise InvalidInput(f"the FAQ is larger than {MAX_DOCUMENT_BYTES} bytes", field="entries")
    entries, seen = [], set()
    for index, raw in enumerate(raw_entries):
        where = f"entries[{index}]"
        if not isinstance(raw, dict):
            raise InvalidInput("must be an object", field=where)
        extra = sorted(set(raw) - {"entry_id", "question", "answer", "keywords"})
        if extra:
            raise InvalidInput("unknown field", field=f"{where}.{extra[0]}")
        entry_id = raw.get("entry_id")
        if not isinstance(entry_id, str) or not _ENTRY_ID.match(entry_id):
            raise InvalidInput("letters, digits, '-' and '_', at most 64", field=f"{where}.entry_id")
        if entry_id in seen:
            raise InvalidInput("appears twice", field=f"{where}.entry_id")
        seen.add(entry_id)
        question = _texts(raw.get("question"), f"{where}.question", MAX_QUESTION)
        answer = _texts(raw.get("answer"), f"{where}.answer", MAX_ANSWER)
        for lang in question:
            if lang not in answer:
                raise InvalidInput("the question has no answer in this language", field=f"{where}.answer.{lang}")
        for lang in answer:
            if lang not in question:
                raise InvalidInput("the answer has no question in this language", field=f"{where}.question.{lang}")
        entries.append(FaqEntry(entry_id, question, answer, _keywords(raw.get("keywords"), f"{where}.keywords")))
    return entries


def entries_from_json(document: str) -> list[FaqEntry]:
    """Stored entries (written by parse_entries, so trusted)."""
    data = json.loads(document)
    return [FaqEntry(e["entry_id"], dict(e["question"]), dict(e["answer"]),
                     {lang: tuple(words) for lang, words in e.get("keywords", {}).items()})
            for e in data.get("entries", [])]


def entries_to_json(entries: Sequence[FaqEntry]) -> str:
    return json.dumps({"entries": [e.to_json() for e in entries]}, ensure_ascii=False, separators=(",", ":"))


# --- matching ---------------------------------------------------------------------------------

def _tokens(text: str, language: str) -> set[str]:
    folded = fold(text)
    if language in _SUBSTRING_LANGUAGES:
        compact = re.sub(r"[\s\W]+", "", folded)
        return {compact[i:i + 3] for i in range(max(0, len(compact) - 2))}
    stop = rules_for(language).stopwords if language in LANGUAGES else frozenset()
    return {w for w in _WORD.findall(folded) if w not in stop and len(w) > 1}


def _score(entry: FaqEntry, folded: str, text: str, language: str) -> float:
    best = 0.0
    for lang in dict.fromkeys((language, "en")):
        score = 0.0
        substring = lang in _SUBSTRING_LANGUAGES
        if any(re.search(_keyword_regex(k, substring), folded) for k in entry.keywords.get(lang, ())):
            score += KEYWORD_SCORE
        question = entry.question.get(lang)
        if question:
            wanted = _tokens(question, lang)
            if wanted:
                score += OVERLAP_SCORE * len(wanted & _tokens(text, lang)) / len(wanted)
        best = max(best, score)
    return best


def match_faq(text: str, language: str, entries: Sequence[FaqEntry]) -> FaqEntry | None:
    """The entry that answers `text` (written in `language`), or None."""
    if not text or not entries:
        return None
    folded = fold(text[:4000])
    scored = sorted(((round(_score(e, folded, text[:4000], language), 6), i) for i, e in enumerate(entries)),
                    reverse=True)
    top, index = scored[0]
    if top < MIN_SCORE or (len(scored) > 1 and scored[1][0] == top):
        return None
    return entries[index]
