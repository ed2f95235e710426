"""Google's Product Reviews Feed (XML schema 2.4) for one merchant: the full feed each time (pure).

Element order follows the schema's sequence
(http://www.google.com/shopping/reviews/schema/product/2.4/product_reviews.xsd): version,
publisher, reviews/review (review_id, reviewer, review_timestamp, title, content, review_url,
reviewer_images, ratings, products, is_spam, collection_method). Reviewers are their display
names; a review with no name is sent as anonymous. Only published reviews are given to this
builder (the storage reads them from the merchant's published listing).
"""
from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import timezone
from xml.etree import ElementTree as ET

from .model import Review

SCHEMA = "http://www.google.com/shopping/reviews/schema/product/2.4/product_reviews.xsd"
XSI = "http://www.w3.org/2001/XMLSchema-instance"


def _text(parent: ET.Element, tag: str, value: str, **attributes: str) -> ET.Element:
    element = ET.SubElement(parent, tag, attributes)
    element.text = value
    return element


def build_feed(publisher: str, reviews: Iterable[Review], *, review_url: Callable[[Review], str],
               photo_url: Callable[[str], str], favicon: str | None = None) -> bytes:
    ET.register_namespace("xsi", XSI)
    root = ET.Element("feed", {f"{{{XSI}}}noNamespaceSchemaLocation": SCHEMA})
    _text(root, "version", "2.4")
    publisher_element = ET.SubElement(root, "publisher")
    _text(publisher_element, "name", publisher)
    if favicon:
        _text(publisher_element, "favicon", favicon)
    container = ET.SubElement(root, "reviews")
    for review in reviews:
        if review.published:
            _review(container, review, review_url(review), photo_url)
    ET.indent(root)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


def _review(container: ET.Element, review: Review, url: str, photo_url: Callable[[str], str]) -> None:
    element = ET.SubElement(container, "review")
    _text(element, "review_id", review.review_id)
    reviewer = ET.SubElement(element, "reviewer")
    if review.author:
        _text(reviewer, "name", review.author)
    else:
        _text(reviewer, "name", "Anonymous", is_anonymous="true")
    stamp = (review.published_at or review.submitted_at).astimezone(timezone.utc)
    _text(element, "review_timestamp", stamp.strftime("%Y-%m-%dT%H:%M:%SZ"))
    if review.title:
        _text(element, "title", review.title)
    _text(element, "content", review.body or review.title or "")
    _text(element, "review_url", url, type="group")
    if review.photos:
        images = ET.SubElement(element, "reviewer_images")
        for photo in review.photos:
            _text(ET.SubElement(images, "reviewer_image"), "url", photo_url(photo.key))
    ratings = ET.SubElement(element, "ratings")
    _text(ratings, "overall", str(review.rating), min="1", max="5")
    product = ET.SubElement(ET.SubElement(element, "products"), "product")
    ids = ET.SubElement(product, "product_ids")
    _text(ET.SubElement(ids, "skus"), "sku", review.sku)
    if review.product_title:
        _text(product, "product_name", review.product_title)
    _text(product, "product_url", review.product_url or url)
    _text(element, "is_spam", "false")
    _text(element, "collection_method", "post_fulfillment")
