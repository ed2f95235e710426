"""FAQ matching and validation (pure): the entry that answers a customer's message, per language."""
import pytest

from postpurchase.errors import InvalidInput
from postpurchase.pages.build import faq_items
from postpurchase.support.faq import (MAX_ENTRIES, FaqEntry, entries_from_json, entries_to_json, match_faq,
                                      parse_entries)

ENTRIES = [
    FaqEntry("gift-wrap",
             {"en": "Do you offer gift wrapping?", "tr": "Hediye paketi yapıyor musunuz?",
              "th": "มีบริการห่อของขวัญไหม", "ar": "هل تقدمون تغليف الهدايا؟"},
             {"en": "Yes.", "tr": "Evet.", "th": "มีค่ะ", "ar": "نعم"},
             {"en": ("gift wrap*", "gift box"), "tr": ("hediye paket*",), "th": ("ห่อของขวัญ",), "ar": ("تغليف",)}),
    FaqEntry("cod", {"en": "Can I pay cash on delivery?", "id": "Apakah bisa bayar di tempat (COD)?",
                     "ru": "Можно ли оплатить наличными при получении?"},
             {"en": "No.", "id": "Bisa kak.", "ru": "Да."},
             {"id": ("cod", "bayar di tempat"), "ru": ("наличн*", "при получении")}),
    FaqEntry("wholesale", {"en": "Do you sell wholesale to shops?"}, {"en": "Write to b2b@shop.test."}, {}),
]


@pytest.mark.parametrize("text,language,entry_id", [
    ("Hi, can you gift wrap my order?", "en", "gift-wrap"),
    ("do you do gift wrapping", "en", "gift-wrap"),
    ("siparişime hediye paketi yapabilir misiniz?", "tr", "gift-wrap"),
    ("HEDIYE PAKETI var mi", "tr", "gift-wrap"),
    ("อยากให้ห่อของขวัญค่ะ", "th", "gift-wrap"),
    ("هل يوجد تَغْليف للهدية؟", "ar", "gift-wrap"),
    ("kak bisa COD ga?", "id", "cod"),
    ("можно оплатить наличными курьеру?", "ru", "cod"),
    ("Do you sell wholesale?", "en", "wholesale"),
    ("kak, gift wrap bisa?", "id", "gift-wrap"),             # English keywords count in every language
])
def test_the_matching_entry(text, language, entry_id):
    entry = match_faq(text, language, ENTRIES)
    assert entry is not None and entry.entry_id == entry_id


@pytest.mark.parametrize("text,language", [
    ("where is my order?", "en"), ("siparişim nerede", "tr"), ("", "en"), ("do you", "en"),
    ("где мой заказ", "ru"), ("ของยังไม่ถึง", "th"),
])
def test_no_entry_when_nothing_matches(text, language):
    assert match_faq(text, language, ENTRIES) is None


def test_a_tie_between_two_entries_is_no_answer():
    twins = [FaqEntry("a", {"en": "Q"}, {"en": "A"}, {"en": ("gift",)}),
             FaqEntry("b", {"en": "Q"}, {"en": "B"}, {"en": ("gift",)})]
    assert match_faq("a gift", "en", twins) is None
    assert match_faq("anything", "en", []) is None


def test_localized_falls_back_to_the_default_language_only():
    entry = ENTRIES[2]
    assert entry.localized("tr", "en") == ("en", "Do you sell wholesale to shops?", "Write to b2b@shop.test.")
    assert entry.localized("tr", "ru") is None
    items = faq_items(ENTRIES, "tr", "en-US")
    assert [(i.entry_id, i.language) for i in items] == [("gift-wrap", "tr"), ("cod", "en"), ("wholesale", "en")]


def test_parse_round_trip_and_keyword_cleanup():
    data = {"entries": [{"entry_id": "a-1", "question": {"en": " Q? "}, "answer": {"en": "A"},
                         "keywords": {"en": ["x", "x", "y*"]}}]}
    entries = parse_entries(data)
    assert entries == [FaqEntry("a-1", {"en": "Q?"}, {"en": "A"}, {"en": ("x", "y*")})]
    assert entries_from_json(entries_to_json(entries)) == entries


@pytest.mark.parametrize("data,field", [
    ([], "entries"), ({"entries": None}, "entries"),
    ({"entries": [{"entry_id": "a", "question": {"en": "q"}, "answer": {"en": "a"}, "keywords": {"xx": []}}]},
     "entries[0].keywords.xx"),
    ({"entries": [{"entry_id": "a", "question": {"en": "q"}, "answer": {"en": "a"}, "keywords": {"en": ["*"]}}]},
     "entries[0].keywords.en[0]"),
    ({"entries": [{"entry_id": "a", "question": {"en": "q"}, "answer": {"en": "a", "ru": "b"}}]},
     "entries[0].question.ru"),
    ({"entries": [{"entry_id": "a", "question": {}, "answer": {"en": "a"}}]}, "entries[0].question"),
    ({"entries": [{"entry_id": "a", "question": {"en": "q"}, "answer": {"en": "x" * 4000}} for _ in range(1)] * 1
     + [{"entry_id": f"b{i}", "question": {"en": "q"}, "answer": {"en": "y" * 4000}} for i in range(MAX_ENTRIES - 1)]},
     "entries"),
])
def test_invalid_faq_names_the_field(data, field):
    with pytest.raises(InvalidInput) as raised:
        parse_entries(data)
    assert raised.value.field == field
