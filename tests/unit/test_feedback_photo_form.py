"""The rating page's photo part, rendered in-process in every language: the S3 form (hidden
presigned fields, then the file input), the limits, the photos listed, and each outcome's message
translated; nothing of it before the answer is a review."""
from __future__ import annotations

import re

import pytest

from test_feedback_page import page
from test_page_rendering import LANGUAGES

FORM = {"has_review": True, "photo_upload_url": "https://review-media.s3.amazonaws.com/",
        "photo_fields": {"key": "uploads/demo-store/abc/u1", "policy": "eyJ4Ijoi", "success_action_redirect":
                         "https://shop.example/pages/demo-store/feedback/link.tok.en/photos/u1?lang=ar"}}
OUTCOMES = ("added", "size", "type", "pixels", "unreadable", "count", "missing", "rate_first")


def test_the_form_posts_to_s3_with_the_presigned_fields_before_the_file():
    html = page("en", rating=5, **FORM)
    form = re.search(r'<form method="post" action="https://review-media.s3.amazonaws.com/" '
                     r'enctype="multipart/form-data" class="photo-form">(.*?)</form>', html, re.S)
    assert form, "no S3 form"
    body = form.group(1)
    names = re.findall(r'<input type="hidden" name="([^"]+)"', body)
    assert names == ["key", "policy", "success_action_redirect"]
    assert body.index('name="success_action_redirect"') < body.index('type="file"')  # S3 wants the file last
    assert 'value="https://shop.example/pages/demo-store/feedback/link.tok.en/photos/u1?lang=ar"' in body
    assert 'name="file" accept="image/jpeg,image/png,image/webp" required' in body
    assert "A JPEG, PNG or WebP image of at most 8 MB; up to 4 photos per review." in html
    assert "Photos added: 0 of 4." in html and "<script" not in html


def test_nothing_of_it_before_the_answer_is_a_review_and_no_form_when_full():
    assert 'id="review-photos"' not in page("en", rating=None)
    full = page("en", rating=5, has_review=True,
                photos=[{"url": f"https://media.example/p{n}.jpg", "width": 10, "height": 10} for n in range(4)])
    assert "multipart/form-data" not in full and full.count('<li><img src="https://media.example/p') == 4
    assert 'alt="Your photo 4"' in full and "Photos added: 4 of 4." in full


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_outcome_has_its_own_message_in_every_language(language):
    messages = {}
    for outcome in OUTCOMES:
        html = page(language, rating=5, photo_outcome=outcome, **FORM)
        match = re.search(r'id="photo-(?:added|error)"><p>(.*?)</p>', html, re.S)
        assert match, (language, outcome)
        messages[outcome] = match.group(1).strip()
    assert len(set(messages.values())) == len(OUTCOMES) - 1  # unreadable and type read the same
    assert messages["type"] == messages["unreadable"]
    if language != "en":
        english = {outcome: re.search(r'id="photo-(?:added|error)"><p>(.*?)</p>',
                                      page("en", rating=5, photo_outcome=outcome, **FORM), re.S).group(1).strip()
                   for outcome in OUTCOMES}
        assert not set(messages.values()) & set(english.values()), "untranslated"
