"""Storefront reviews, pure: moderation rules and word lists, display names, moderation steps
(with an in-memory store), counters, photo cleaning, JSON-LD and the Google feed structure."""
from __future__ import annotations

import io
from datetime import datetime, timedelta, timezone
from xml.etree import ElementTree as ET

import pytest

from postpurchase.errors import NotAllowed, NotFound
from postpurchase.feedback.model import Feedback
from postpurchase.orders.models import Order
from postpurchase.reviews import moderation, photos, service
from postpurchase.reviews.feed import build_feed
from postpurchase.reviews.jsonld import product_jsonld
from postpurchase.reviews.model import (Photo, Review, display_name, parse_review_id, public_document,
                                        review_id)
from postpurchase.reviews.settings import ReviewSettings
from postpurchase.reviews.summary import Summary, counter_delta

NOW = datetime(2026, 12, 1, 10, 0, tzinfo=timezone.utc)
DEFAULTS = ReviewSettings()
ORDER = Order.model_validate({
    "order_id": "1001", "placed_at": "2026-11-20T10:00:00Z", "email": "ayse@example.com", "currency": "TRY",
    "customer": {"id": "c-1", "email": "ayse@example.com", "first_name": "Ayşe", "last_name": "Yılmaz",
                 "locale": "tr-TR"},
    "items": [{"sku": "MUG-1", "title": "Mug", "quantity": 1, "price": "10.00",
               "product_url": "https://shop.example/p/mug"}],
    "totals": {"subtotal": "10.00", "shipping": "0.00", "tax": "0.00", "total": "10.00"}})


def feedback(rating: int, comment: str | None = None, title: str | None = None, version: int = 1) -> Feedback:
    return Feedback(merchant_id="m", order_id="1001", sku="MUG-1", customer_id="c-1", product_title="Mug",
                    rating=rating, comment=comment, title=title, submitted_at=NOW, updated_at=NOW, source="page",
                    version=version)


# --- moderation rules ---------------------------------------------------------------------------
@pytest.mark.parametrize("text,reason", [
    ("see https://cheap.example/mug", "link"), ("www.other.com is cheaper", "link"), ("buy at mugs.shop", "link"),
    ("write to me: ayse@mail.example", "email"), ("call +90 532 123 45 67", "phone"), ("ring 0532-123-4567", "phone"),
])
def test_links_emails_and_phone_numbers_hold_a_review(text, reason):
    assert moderation.hold_reasons(5, None, text, "en", DEFAULTS) == (reason,)


def test_an_email_address_is_not_also_a_link_and_ordinary_numbers_pass():
    assert moderation.hold_reasons(5, None, "ayse@mail.com", "en", DEFAULTS) == ("email",)
    assert moderation.hold_reasons(5, "2 mugs, 350 ml", "Arrived in 3 days. 10/10", "en", DEFAULTS) == ()


@pytest.mark.parametrize("language,text", [
    ("en", "This is SHIT quality"), ("tr", "Tam bir orospu çocuğu işi"), ("ru", "Полная хуйня"),
    ("id", "Dasar bangsat penjualnya"), ("ar", "البائع حمار"), ("th", "ของห่วยมากเหี้ยจริงๆ"),
])
def test_each_languages_word_list_holds_profanity(language, text):
    assert moderation.hold_reasons(5, None, text, language, DEFAULTS) == ("profanity",)


def test_every_language_has_a_word_list_and_words_match_whole_words_only():
    for language in moderation.LANGUAGES:
        assert len(moderation.word_list(language)) >= 8, language
    assert moderation.hold_reasons(5, None, "A classic Scunthorpe cocktail glass", "en", DEFAULTS) == ()
    assert moderation.hold_reasons(5, None, "Shitake mushrooms fit in it", "en", DEFAULTS) == ()


def test_threshold_and_manual_mode_hold_but_never_reject_and_rules_can_be_turned_off():
    strict = ReviewSettings(min_rating_to_publish=4)
    assert moderation.hold_reasons(3, None, "ok", "en", strict) == ("below_threshold",)
    assert moderation.hold_reasons(1, None, "Broke on day one. Terrible.", "en", DEFAULTS) == ()
    assert moderation.hold_reasons(5, None, "fine", "en", ReviewSettings(auto_publish=False)) == ("manual",)
    relaxed = ReviewSettings(hold_links=False, hold_profanity=False)
    assert moderation.hold_reasons(5, None, "shit, see www.a.com", "en", relaxed) == ()


def test_language_of_a_locale():
    assert [moderation.language_of(x) for x in ("tr-TR", "ar", "pt-BR", None, "TH_th")] == ["tr", "ar", "en", "en",
                                                                                           "th"]


# --- the review model ---------------------------------------------------------------------------
def test_display_names_never_show_more_than_a_first_name_and_an_initial():
    assert display_name("Ayşe", "Yılmaz") == "Ayşe Y."
    assert display_name("Mary Ann", "smith") == "Mary S."
    assert display_name(None, "Yılmaz") == "Y."
    assert display_name(" ", None) == ""


def test_review_ids_round_trip_and_garbage_is_not_found():
    rid = review_id("1001", "TSHIRT RED/L#2")
    assert parse_review_id(rid) == ("1001", "TSHIRT RED/L#2")
    for bad in ("", "!!!", review_id("", "x")[:-1] + "$"):
        with pytest.raises(NotFound):
            parse_review_id(bad)


def test_a_review_is_verified_by_its_order_and_its_public_form_has_no_private_data():
    review = service.from_feedback(None, feedback(5, "Great"), ORDER, DEFAULTS, NOW)
    assert review.verified_buyer and review.status == "published" and review.author == "Ayşe Y."
    document = public_document(review, "https://media.example")
    assert document["verified_buyer"] is True
    assert not {"order_id", "customer_id", "email"} & set(document)
    assert "ayse@example.com" not in str(document) and "1001" not in str(document["author"])
    with pytest.raises(Exception):
        Review.model_validate({**review.model_dump(), "verified_buyer": False})


# --- moderation steps ---------------------------------------------------------------------------
class MemoryStore:
    def __init__(self) -> None:
        self.items: dict[tuple, Review] = {}
        self.counters: dict[int, int] = {}
        self.saves = 0

    def get(self, merchant_id, order_id, sku):
        return self.items.get((merchant_id, order_id, sku))

    def save(self, review, previous):
        key = (review.merchant_id, review.order_id, review.sku)
        if self.items.get(key) != previous:
            raise service.StaleReview(key)
        before = previous.rating if previous is not None and previous.published else None
        after = review.rating if review.published else None
        for rating, change in counter_delta(before, after).items():
            self.counters[rating] = self.counters.get(rating, 0) + change
        self.items[key] = review
        self.saves += 1


def test_publish_hide_and_reply_are_idempotent_and_keep_the_counters_right():
    store = MemoryStore()
    strict = ReviewSettings(min_rating_to_publish=3)
    held = service.follow_feedback(store, feedback(2, "Chipped"), ORDER, strict, NOW)
    assert (held.status, held.held_for, store.counters) == ("pending", ("below_threshold",), {})
    for _ in range(2):
        published = service.change(store, "m", "1001", "MUG-1", lambda r: service.publish(r, NOW), NOW)
    assert (published.status, store.counters, store.saves) == ("published", {2: 1}, 2)
    for _ in range(2):
        hidden = service.change(store, "m", "1001", "MUG-1", lambda r: service.hide(r, NOW), NOW)
    assert (hidden.status, store.counters, store.saves) == ("hidden", {2: 0}, 3)
    replied = service.change(store, "m", "1001", "MUG-1", lambda r: service.reply(r, "  Sorry!  ", NOW), NOW)
    assert (replied.reply.text, replied.body, replied.rating) == ("Sorry!", "Chipped", 2)
    with pytest.raises(NotAllowed):
        service.reply(replied, "x" * 2001, NOW)
    assert service.reply(replied, "", NOW).reply is None


def test_a_customer_edit_is_moderated_again_and_a_merchant_hide_sticks():
    store = MemoryStore()
    service.follow_feedback(store, feedback(5, "Nice"), ORDER, DEFAULTS, NOW)
    later = NOW + timedelta(days=1)
    edited = service.follow_feedback(store, feedback(1, "Mail me: a@b.example", version=2), ORDER, DEFAULTS, later)
    assert (edited.status, edited.held_for, store.counters) == ("pending", ("email",), {5: 0})
    assert service.follow_feedback(store, feedback(1, "Mail me: a@b.example", version=2), ORDER, DEFAULTS,
                                   later) == edited  # the same answer again changes nothing
    service.change(store, "m", "1001", "MUG-1", lambda r: service.hide(r, later), later)
    after = service.follow_feedback(store, feedback(4, "Fine now", version=3), ORDER, DEFAULTS, later)
    assert after.status == "hidden" and store.counters.get(4, 0) == 0


def test_a_stale_known_review_is_read_again():
    store = MemoryStore()
    first = service.follow_feedback(store, feedback(5, "Nice"), ORDER, DEFAULTS, NOW)
    service.change(store, "m", "1001", "MUG-1", lambda r: service.hide(r, NOW), NOW)
    after = service.follow_feedback(store, feedback(3, "Meh", version=2), ORDER, DEFAULTS, NOW, known=first)
    assert after.status == "hidden"


def test_photos_are_limited_and_added_once():
    review = service.from_feedback(None, feedback(5), ORDER, DEFAULTS, NOW)
    photo = Photo(key="public/reviews/m/x/1.jpg", content_type="image/jpeg", width=1, height=1)
    once = service.add_photo(review, photo, NOW)
    assert service.add_photo(once, photo, NOW) is once
    full = review
    for n in range(4):
        full = service.add_photo(full, photo.model_copy(update={"key": f"k{n}"}), NOW)
    with pytest.raises(NotAllowed):
        service.add_photo(full, photo.model_copy(update={"key": "k9"}), NOW)


def test_counter_delta():
    assert counter_delta(None, 5) == {5: 1}
    assert counter_delta(5, None) == {5: -1}
    assert counter_delta(4, 2) == {4: -1, 2: 1}
    assert counter_delta(3, 3) == {} and counter_delta(None, None) == {}
    summary = Summary({1: 1, 2: 0, 3: 0, 4: 1, 5: 2})
    assert (summary.count, summary.average) == (4, 3.75)
    assert Summary().document()["average"] is None


# --- photos ---------------------------------------------------------------------------------------
def _image(kind: str, exif: bool = True, size=(40, 30), mode="RGB") -> bytes:
    from PIL import Image

    image = Image.new(mode, size, (10, 120, 200) if mode == "RGB" else 3)
    out = io.BytesIO()
    options = {}
    if exif and kind in ("JPEG", "WEBP", "PNG"):
        data = Image.Exif()
        data[0x010F] = "SecretCam"
        data[0x0112] = 6  # orientation: rotate 90
        options["exif"] = data.tobytes()
    image.save(out, kind, **options)
    return out.getvalue()


@pytest.mark.parametrize("kind,content_type", [("JPEG", "image/jpeg"), ("PNG", "image/png"), ("WEBP", "image/webp")])
def test_clean_re_encodes_without_metadata_and_turns_the_picture_upright(kind, content_type):
    from PIL import Image

    cleaned = photos.clean(_image(kind))
    assert cleaned.content_type == content_type
    assert (cleaned.width, cleaned.height) == (30, 40)  # orientation 6 applied before dropping EXIF
    assert b"SecretCam" not in cleaned.data
    with Image.open(io.BytesIO(cleaned.data)) as image:
        assert image.format == kind and not image.getexif()


def test_the_real_type_decides_not_the_name_and_bad_files_are_refused():
    from PIL import Image

    gif = io.BytesIO()
    Image.new("RGB", (4, 4)).save(gif, "GIF")
    for data in (b"", b"GIF89a-not-really", gif.getvalue(), _image("JPEG")[:200], b"<svg xmlns='x'/>"):
        with pytest.raises(NotAllowed) as refused:
            photos.clean(data)
        assert refused.value.field == "photo"
    with pytest.raises(NotAllowed):
        photos.clean(b"x" * 20, max_bytes=10)
    palette = photos.clean(_image("PNG", exif=False, mode="P"))
    assert palette.content_type == "image/png"


def test_the_upload_policy_pins_type_and_size():
    fields, conditions = photos.post_policy("image/webp", 1000)
    assert fields == {"Content-Type": "image/webp"}
    assert conditions == [{"Content-Type": "image/webp"}, ["content-length-range", 1, 1000]]
    for bad in ("image/gif", "image/svg+xml", None, 3, "text/html"):
        with pytest.raises(NotAllowed):
            photos.declared_type(bad)
    assert photos.declared_type(" IMAGE/JPEG ") == "image/jpeg"


# --- JSON-LD and the feed -------------------------------------------------------------------------
def _published(order_id: str, rating: int, body: str, author: str = "Ayşe Y.", photos_=()) -> Review:
    return Review(merchant_id="m", order_id=order_id, sku="MUG-1", product_title="Mug",
                  product_url="https://shop.example/p/mug", rating=rating, body=body, author=author,
                  submitted_at=NOW, updated_at=NOW, status="published", published_at=NOW, photos=photos_)


def test_jsonld_has_one_aggregate_rating_and_reviews_valid_for_review_snippets():
    reviews = [_published("1", 5, "Great"), _published("2", 2, "Small", author="")]
    document = product_jsonld("MUG-1", "Mug", Summary({1: 0, 2: 1, 3: 0, 4: 0, 5: 1}), reviews,
                              anonymous_author="Doğrulanmış alıcı")
    assert document["@context"] == "https://schema.org" and document["@type"] == "Product"
    rating = document["aggregateRating"]
    assert rating == {"@type": "AggregateRating", "ratingValue": 3.5, "reviewCount": 2, "bestRating": 5,
                      "worstRating": 1}
    for item in document["review"]:
        assert item["@type"] == "Review" and item["author"]["@type"] == "Person" and item["author"]["name"]
        assert item["reviewRating"]["@type"] == "Rating" and 1 <= item["reviewRating"]["ratingValue"] <= 5
        assert item["datePublished"] == "2026-12-01" and item["reviewBody"]
    assert document["review"][1]["author"]["name"] == "Doğrulanmış alıcı"
    assert "aggregateRating" not in product_jsonld("MUG-1", "Mug", Summary(), [])


def test_the_feed_is_well_formed_schema_2_4_with_the_required_elements_in_order():
    photo = Photo(key="public/reviews/m/r/1.jpg", content_type="image/jpeg", width=10, height=10)
    hidden = _published("3", 1, "x").model_copy(update={"status": "hidden"})
    xml = build_feed("Demo Store", [_published("1", 5, "Great & <good>", photos_=(photo,)), hidden,
                                    _published("2", 3, "ok", author="")],
                     review_url=lambda r: "https://shop.example/p/mug#reviews", photo_url=lambda k: f"https://m/{k}")
    root = ET.fromstring(xml)
    assert root.tag == "feed" and root.findtext("version") == "2.4"
    assert root.findtext("publisher/name") == "Demo Store"
    reviews = root.findall("reviews/review")
    assert len(reviews) == 2  # the hidden one is left out
    order = ["review_id", "reviewer", "review_timestamp", "content", "review_url", "reviewer_images", "ratings",
             "products", "is_spam", "collection_method"]
    assert [child.tag for child in reviews[0]] == order
    first = reviews[0]
    assert first.findtext("content") == "Great & <good>"
    assert first.findtext("review_timestamp") == "2026-12-01T10:00:00Z"
    assert (first.find("ratings/overall").get("min"), first.find("ratings/overall").get("max")) == ("1", "5")
    assert first.findtext("products/product/product_ids/skus/sku") == "MUG-1"
    assert first.findtext("products/product/product_url") == "https://shop.example/p/mug"
    assert first.findtext("reviewer_images/reviewer_image/url") == "https://m/public/reviews/m/r/1.jpg"
    assert reviews[1].find("reviewer/name").get("is_anonymous") == "true"
    assert xml.startswith(b"<?xml version='1.0' encoding='utf-8'?>")
    schema = root.get("{http://www.w3.org/2001/XMLSchema-instance}noNamespaceSchemaLocation")
    assert schema.endswith("/2.4/product_reviews.xsd")


@pytest.mark.parametrize("language,name", [("en", "Verified buyer"), ("tr", "Doğrulanmış alıcı"),
                                           ("ar", "مشترٍ موثَّق"), ("ru", "Подтверждённый покупатель"),
                                           ("th", "ผู้ซื้อที่ยืนยันแล้ว"), ("id", "Pembeli terverifikasi")])
def test_a_nameless_author_is_a_verified_buyer_in_each_language(language, name):
    from postpurchase.reviews.views import anonymous_author

    assert anonymous_author(language) == name


def test_the_verified_buyer_msgid_is_the_one_its_template_holds_for_the_translators():
    from postpurchase.messaging import catalogs
    from postpurchase.reviews.views import VERIFIED_BUYER

    template = (catalogs.TEMPLATES_DIR / "reviews" / "anonymous_author.txt").read_text(encoding="utf-8")
    assert "{% trans %}" + VERIFIED_BUYER + "{% endtrans %}" in template


def test_the_daily_job_builds_every_feed_and_one_failure_does_not_stop_the_others():
    from types import SimpleNamespace

    from postpurchase.reviews.feed_job import FeedsFailed, build_all

    written: dict[str, bytes] = {}

    class Ports:
        reviews = SimpleNamespace(feed_merchants=lambda: iter(["a", "broken", "b"]),
                                  published=lambda m: iter([_published("1", 5, f"from {m}")]))

        def shop(self, merchant_id):
            if merchant_id == "broken":
                raise RuntimeError("settings unreadable")
            return SimpleNamespace(name=f"Shop {merchant_id}", website_url="https://shop.example", logo_url=None)

        def review_settings(self, merchant_id):
            return ReviewSettings(review_url_template="https://shop.example/p/{sku}#reviews")

        def write_feed(self, merchant_id, xml):
            written[merchant_id] = xml
            return f"https://media/{merchant_id}.xml"

        def photo_url(self, key):
            return key

    with pytest.raises(FeedsFailed, match="broken"):
        build_all(Ports())
    assert set(written) == {"a", "b"}
    root = ET.fromstring(written["b"])
    assert root.findtext("reviews/review/content") == "from b"
    assert root.findtext("reviews/review/review_url") == "https://shop.example/p/MUG-1#reviews"
