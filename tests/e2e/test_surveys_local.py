"""Post-purchase surveys over HTTP against the local runtime: the merchant defines an order-page
survey, a new customer opens the order page from the confirmation email, follows the survey
invitation, answers (the form, CSRF and Origin as a browser sends them) and the merchant reads
the NPS from the results."""
from __future__ import annotations

import html
import json
import re
import urllib.error
import urllib.request
import uuid
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import urlencode

import pytest

pytestmark = pytest.mark.e2e

STOREFRONTS = Path(__file__).resolve().parents[2] / "events" / "storefronts"


def fetch(url: str, data: bytes | None = None, headers: dict | None = None) -> tuple[int, str]:
    request = urllib.request.Request(url, data=data, method="POST" if data is not None else "GET",
                                     headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def field(page: str, name: str) -> str:
    return html.unescape(re.search(rf'name="{name}" value="([^"]*)"', page).group(1))


def test_a_customer_answers_the_order_page_survey_and_the_merchant_reads_the_nps(local_api):
    survey_id = f"e2e-{uuid.uuid4().hex[:8]}"
    definition = {"audience": ["first_order"], "timing": {"channel": "order_page"},
                  "questions": [{"id": "nps", "kind": "nps", "text": {"en": "Would you recommend us?",
                                                                     "tr": "Bizi önerir misiniz?"}},
                                {"id": "csat", "kind": "csat", "text": {"en": "How satisfied are you?"}}]}
    bad, error = local_api.call("PUT", f"/v1/surveys/{survey_id}", {**definition, "timing": {"channel": "fax"}})
    assert bad == 400 and error["error"]["field"] == "timing.channel"
    status, stored = local_api.call("PUT", f"/v1/surveys/{survey_id}", definition)
    assert status == 201 and stored["fallback_languages"] == ["id", "th", "tr", "ar", "ru"]
    try:
        order = json.loads((STOREFRONTS / "api" / "order.json").read_text(encoding="utf-8"))
        customer = f"c-{uuid.uuid4().hex[:8]}"
        order.update(order_id=f"e2e-{uuid.uuid4().hex[:10]}", placed_at=datetime.now(timezone.utc).isoformat(),
                     customer={**order["customer"], "id": customer})
        assert local_api.call("POST", "/v1/orders", order)[0] == 202
        [email] = local_api.emails_for(f"demo-store/order_confirmation#{order['order_id']}")
        body = email.get_body(preferencelist=("html",)).get_content()
        link = html.unescape(re.search(r'href="(http://127\.0\.0\.1:\d+/pages/demo-store/orders/[^"]+)"',
                                       body).group(1))
        status, page = fetch(link)
        assert status == 200
        invitation = re.search(r'<div class="card" id="order-survey">.*?href="([^"]+)"', page, re.S)
        assert invitation, "the order page invites to the survey"
        status, survey = fetch(local_api.base_url + html.unescape(invitation.group(1)))
        assert status == 200 and "Bizi önerir misiniz?" in survey  # the customer's language (tr-TR)
        action = html.unescape(re.search(r'<form method="post" action="([^"]+)"', survey).group(1))
        form = {"token": field(survey, "token"), "csrf_token": field(survey, "csrf_token"),
                "lang": field(survey, "lang"), "q_nps": "10", "q_csat": "4"}
        headers = {"Content-Type": "application/x-www-form-urlencoded", "Origin": local_api.base_url}
        forged, _ = fetch(local_api.base_url + action, urlencode({**form, "csrf_token": "x"}).encode(), headers)
        assert forged == 403
        status, answered = fetch(local_api.base_url + action, urlencode(form).encode(), headers)
        assert status == 200 and 'id="survey-promoter"' in answered and 'id="survey-finished"' in answered
        again, _ = fetch(local_api.base_url + action, urlencode(form).encode(), headers)  # a double submit
        assert again == 200

        status, results = local_api.call("GET", f"/v1/surveys/{survey_id}/results")
        assert status == 200
        nps, csat = results["questions"]
        assert (nps["responses"], nps["promoters"], nps["nps"]) == (1, 1, 100.0)
        assert (csat["responses"], csat["average"], csat["satisfied_percent"]) == (1, 4.0, 100.0)
        status, listed = local_api.call("GET", "/v1/surveys")
        assert status == 200 and survey_id in [s["survey_id"] for s in listed["items"]]
        assert local_api.call("GET", f"/v1/surveys/{survey_id}/results", auth=False)[0] == 401
    finally:  # the runtime is shared by the session's e2e tests: leave no survey on their order pages
        local_api.call("PUT", f"/v1/surveys/{survey_id}", {**definition, "active": False})
