"""Render the survey page (templates/pages/survey.html) with the shared page frame."""
from __future__ import annotations

from . import rendering
from .survey_model import SurveyPage


def render_survey_page(page: SurveyPage, *, nonce: str) -> str:
    context = page.context
    fmt = rendering._Format(context)
    frame = rendering._frame(context, fmt, nonce, switch_path=page.action, switch_params=[])
    data = {
        **frame,
        "survey": {
            "action": page.action,
            "questions": [
                {"id": q.id, "kind": q.kind, "text": q.text, "other_text": q.other_text, "error": q.error,
                 "choices": [{"value": c.value, "label": c.label, "checked": c.checked,
                              "value_text": fmt.number(int(c.value)) if q.kind != "single_choice" else None}
                             for c in q.choices]}
                for q in page.questions],
            "thanked": page.thanked,
            "finished": page.finished,
            "review_url": rendering._local_url(page.promoter_review_url),
            "referral_code": page.referral_code,
            "referral_url": rendering._local_url(page.referral_url),
            "detractor_box": page.detractor_box,
            "detractor_sent": page.detractor_sent,
            "message": page.message,
            "message_error": page.message_error,
            "max_message": fmt.number(2000),
            "community_url": rendering._local_url(page.community_url),
        },
    }
    return rendering._render("pages/survey.html", fmt.language, data)
