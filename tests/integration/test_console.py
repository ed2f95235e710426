"""The merchant console through the real API handler (Chalice test client, moto): sign-in and
its cookie, refusals (another shop's session, forged forms, other origins), the returns queue
and search, and each step changing the stored RMA exactly as the API's transitions route does."""
from __future__ import annotations

import json
import re
from datetime import timedelta
from urllib.parse import urlencode, urlsplit

import pytest

from infra.aws_requests import count_aws_requests

HOST = "console.example"
ORIGIN = f"https://{HOST}"
BASE = "/console/demo-store"
ORDER = "1001"
SHIPMENT = {"carrier": "ups", "tracking_number": "SBX-OK-1001"}
POLICY = {"default_rule": {"window_days": 30, "window_starts": "delivery", "auto_approve": False,
                           "resolutions": ["refund", "store_credit", "exchange"]},
          "final_sale_categories": [], "non_returnable_categories": [],
          "logistics": {"drop_off_options": ["carrier_drop_off"], "label_provided": True}}


def html(response) -> str:
    return response.body.decode() if isinstance(response.body, bytes) else response.body


def get(aws, path: str, cookie: str | None = None, **query):
    headers = {"Host": HOST, **({"Cookie": cookie} if cookie else {})}
    return aws.client.get(f"{path}?{urlencode(query)}" if query else path, headers=headers)


def post(aws, path: str, fields: dict, cookie: str | None = None, origin: str | None = ORIGIN):
    headers = {"Content-Type": "application/x-www-form-urlencoded", "Host": HOST}
    if origin:
        headers["Origin"] = origin
    if cookie:
        headers["Cookie"] = cookie
    return aws.client.post(path, headers=headers, body=urlencode(fields).encode())


def set_cookie(response) -> str:
    return {name.lower(): value for name, value in response.headers.items()}.get("set-cookie", "")


def sign_in(aws, key: str | None = None, base: str = BASE, lang: str = "en") -> str:
    response = post(aws, f"{base}/signin", {"api_key": key or aws.credentials.api_key, "lang": lang})
    assert response.status_code == 303, html(response)[:500]
    return set_cookie(response).split(";", 1)[0]  # "pp_console=<token>"


def csrf(page: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def setup_returns(aws, count: int = 1) -> list[str]:
    """An order with `count` units of MUG-1 shipped, under a policy without auto-approval, and
    `count` requested returns of one unit each (their RMA ids)."""
    assert aws.client.put("/v1/returns/policy", headers=aws.auth(), body=aws.encode(POLICY)).status_code == 200
    aws.clock.advance(timedelta(minutes=1))
    order = aws.api_order(ORDER, placed_at=aws.clock.now())
    order["items"][0]["quantity"] = max(count, order["items"][0]["quantity"])
    assert aws.post_order(order).status_code == 202
    assert aws.pump_queue("OrderEventsQueue") == 1
    assert aws.post_shipment(ORDER, SHIPMENT).status_code == 201
    assert aws.pump_queue("OrderEventsQueue") == 1
    ids = []
    for _ in range(count):
        aws.clock.advance(timedelta(minutes=1))
        response = aws.client.post(f"/v1/orders/{ORDER}/returns", headers=aws.auth(), body=aws.encode(
            {"items": [{"sku": "MUG-1", "quantity": 1}], "reason": "doesnt_fit", "resolution": "refund"}))
        assert response.status_code == 201, response.body
        assert response.json_body["status"] == "requested"
        ids.append(response.json_body["rma_id"])
    return ids


def stored(aws, rma_id: str) -> dict:
    return json.loads(aws.item(f"M#demo-store#O#{ORDER}", f"RMA#{rma_id}")["document"])


def detail_path(rma_id: str) -> str:
    return f"{BASE}/returns/{ORDER}/{rma_id}"


def step(aws, cookie: str, rma_id: str, **fields):
    page = html(get(aws, detail_path(rma_id), cookie))
    return post(aws, detail_path(rma_id), {"csrf_token": csrf(page), **fields}, cookie)


# ------------------------------------------------------------------------------ signing in


def test_sign_in_gives_a_strict_session_cookie_and_the_queue_is_one_query(aws):
    [rma_id] = setup_returns(aws)
    refused = get(aws, f"{BASE}/returns")
    assert refused.status_code == 401 and f'action="{BASE}/signin"' in html(refused) and rma_id not in html(refused)
    form = get(aws, f"{BASE}/signin")
    assert form.status_code == 200 and 'name="api_key"' in html(form) and 'type="password"' in html(form)
    response = post(aws, f"{BASE}/signin", {"api_key": aws.credentials.api_key, "lang": "en"})
    assert response.status_code == 303 and response.headers["Location"] == f"{BASE}/returns"
    attributes = [part.strip() for part in set_cookie(response).split(";")]
    assert attributes[0].startswith("pp_console=") and len(attributes[0]) > 40
    assert {"HttpOnly", "Secure", "SameSite=Strict", f"Path={BASE}", "Max-Age=28800"} <= set(attributes)
    assert aws.credentials.api_key not in set_cookie(response)
    cookie = attributes[0]
    get(aws, f"{BASE}/returns", cookie)  # the merchant is cached per container
    with count_aws_requests() as requests:
        page = get(aws, f"{BASE}/returns", cookie)
    assert page.status_code == 200
    assert dict(requests) == {("DynamoDB", "Query"): 1}
    headers = {name.lower(): value for name, value in page.headers.items()}
    assert "default-src 'none'" in headers["content-security-policy"] and headers["cache-control"] == "no-store"
    assert "script-src" not in headers["content-security-policy"] and "<script" not in html(page)
    assert rma_id in html(page) and 'aria-current="page">Requested' in html(page)
    assert get(aws, f"{BASE}/signin", cookie).headers["Location"] == f"{BASE}/returns"


def test_a_wrong_key_or_another_shops_key_is_a_401_page_and_attempts_are_limited(aws, other_store):
    bad = post(aws, f"{BASE}/signin", {"api_key": "not-a-key"})
    assert bad.status_code == 401 and "not valid for this shop" in html(bad) and not set_cookie(bad)
    assert post(aws, f"{BASE}/signin", {"api_key": other_store}).status_code == 401
    assert post(aws, f"{BASE}/signin", {"api_key": ""}).status_code == 401
    assert post(aws, f"{BASE}/signin", {"api_key": "x" * 5000}).status_code == 401
    statuses = [post(aws, f"{BASE}/signin", {"api_key": "not-a-key"}).status_code for _ in range(8)]
    assert statuses[:6] == [401] * 6 and statuses[6:] == [429, 429]
    # Limited means limited: even the right key waits for the window to pass.
    assert post(aws, f"{BASE}/signin", {"api_key": aws.credentials.api_key}).status_code == 429
    aws.clock.advance(timedelta(minutes=16))
    assert post(aws, f"{BASE}/signin", {"api_key": aws.credentials.api_key}).status_code == 303


def test_a_sign_in_form_from_another_site_is_refused(aws):
    response = post(aws, f"{BASE}/signin", {"api_key": aws.credentials.api_key}, origin="https://evil.example")
    assert response.status_code == 403 and not set_cookie(response)


def test_another_shops_session_opens_nothing_here(aws, other_store):
    [rma_id] = setup_returns(aws)
    theirs = sign_in(aws, other_store, base="/console/other-store")
    for path in (f"{BASE}/returns", detail_path(rma_id)):
        response = get(aws, path, theirs)
        assert response.status_code == 401 and f'action="{BASE}/signin"' in html(response), path
        assert aws.api_order(ORDER)["email"] not in html(response) and 'value="approve"' not in html(response)
    assert get(aws, BASE, theirs).headers["Location"] == f"{BASE}/signin"
    # Their page's form token with their cookie cannot step our return either.
    their_page = html(get(aws, "/console/other-store/returns", theirs))
    refused = post(aws, detail_path(rma_id), {"csrf_token": csrf(their_page), "action": "approve"}, theirs)
    assert refused.status_code == 403 and stored(aws, rma_id)["status"] == "requested"


def test_an_expired_or_forged_session_is_sent_to_sign_in(aws):
    cookie = sign_in(aws)
    name, _, token = cookie.partition("=")
    assert get(aws, f"{BASE}/returns", cookie).status_code == 200
    assert get(aws, f"{BASE}/returns", f"{name}={token[:-3]}abc").status_code == 401
    assert get(aws, f"{BASE}/returns", "pp_console=garbage; other=1").status_code == 401
    assert get(aws, f"{BASE}/returns", 'pp_console="unterminated').status_code == 401
    aws.clock.advance(timedelta(hours=8, seconds=1))
    assert get(aws, f"{BASE}/returns", cookie).status_code == 401


def test_forms_need_the_sessions_token_and_our_origin(aws):
    [rma_id] = setup_returns(aws)
    cookie = sign_in(aws)
    other = sign_in(aws)  # another session of the same shop: its form token is not this one's
    token = csrf(html(get(aws, detail_path(rma_id), other)))
    for fields, origin in (({"action": "approve"}, ORIGIN),
                           ({"action": "approve", "csrf_token": "k0.forged"}, ORIGIN),
                           ({"action": "approve", "csrf_token": token}, ORIGIN),
                           ({"action": "approve", "csrf_token": csrf(html(get(aws, detail_path(rma_id), cookie)))},
                            "https://evil.example")):
        response = post(aws, detail_path(rma_id), fields, cookie, origin=origin)
        assert response.status_code == 403, (fields, origin)
    assert post(aws, detail_path(rma_id), {"action": "approve", "csrf_token": token}, None).status_code == 403
    assert stored(aws, rma_id)["status"] == "requested"


def test_sign_out_clears_the_cookie(aws):
    cookie = sign_in(aws)
    page = html(get(aws, f"{BASE}/returns", cookie))
    response = post(aws, f"{BASE}/signout", {"csrf_token": csrf(page)}, cookie)
    assert response.status_code == 303 and response.headers["Location"] == f"{BASE}/signin?notice=signed_out"
    assert set_cookie(response).startswith("pp_console=;") and "Max-Age=0" in set_cookie(response)
    assert post(aws, f"{BASE}/signout", {"csrf_token": "forged"}, cookie).status_code == 403


def test_the_language_follows_lang_and_stays_in_the_cookie(aws):
    cookie = sign_in(aws)
    switched = get(aws, f"{BASE}/returns", cookie, lang="ar")
    assert switched.status_code == 200 and 'dir="rtl"' in html(switched) and 'lang="ar"' in html(switched)
    arabic = set_cookie(switched).split(";", 1)[0]
    assert arabic != cookie and f"Path={BASE}" in set_cookie(switched)
    again = get(aws, f"{BASE}/returns", arabic)
    assert 'dir="rtl"' in html(again) and not set_cookie(again)
    assert 'dir="ltr"' in html(get(aws, f"{BASE}/returns", cookie))  # the first cookie still says English


# ------------------------------------------------------------------------------ the steps


def test_every_step_changes_the_rma_as_the_api_does(aws):
    first, second = setup_returns(aws, count=2)
    cookie = sign_in(aws)
    response = step(aws, cookie, first, action="approve", ship_within_days="10")
    assert response.status_code == 303 and response.headers["Location"] == f"{detail_path(first)}?notice=step_saved"
    rma = stored(aws, first)
    assert rma["status"] == "approved" and rma["history"][-1]["actor"] == {"kind": "merchant", "id": "merchant"}
    assert step(aws, cookie, first, action="issue_label", carrier="ups", tracking_number="1ZRETURN01",
                label_url="https://labels.example/1").status_code == 303
    assert stored(aws, first)["label"]["tracking_number"] == "1ZRETURN01"
    assert step(aws, cookie, first, action="receive").status_code == 303
    assert stored(aws, first)["status"] == "received"
    assert step(aws, cookie, first, action="inspect", **{"accepted.MUG-1": "1", "note.MUG-1": "fine"}).status_code == 303
    assert stored(aws, first)["inspection"] == [{"sku": "MUG-1", "accepted_quantity": 1, "note": "fine"}]
    page = html(get(aws, detail_path(first), cookie))
    amount = re.search(r'name="amount" value="([^"]+)"', page).group(1)
    assert step(aws, cookie, first, action="resolve", kind="refund", amount=amount).status_code == 303
    rma = stored(aws, first)
    assert rma["status"] == "resolved" and rma["resolution"]["amount"] == amount
    assert rma["resolution"]["currency"] == "USD"
    assert [t["to_status"] for t in rma["history"]] == ["requested", "approved", "label_issued", "received",
                                                         "inspected", "resolved"]
    # A rejection needs its reason, and the customer's notice carries it.
    missing = step(aws, cookie, second, action="reject", reason="  ")
    assert missing.status_code == 400 and "(reason)" in html(missing)
    assert step(aws, cookie, second, action="reject", reason="Used item").status_code == 303
    assert stored(aws, second)["status"] == "rejected" and stored(aws, second)["rejection_reason"] == "Used item"
    assert "Used item" in html(get(aws, detail_path(second), cookie))


def test_the_detail_page_offers_only_the_steps_allowed_now(aws):
    [rma_id] = setup_returns(aws)
    cookie = sign_in(aws)
    page = html(get(aws, detail_path(rma_id), cookie))
    offered = set(re.findall(r'name="action" value="([a-z_]+)"', page))
    assert offered == {"approve", "reject"}
    step(aws, cookie, rma_id, action="approve")
    page = html(get(aws, detail_path(rma_id), cookie))
    assert set(re.findall(r'name="action" value="([a-z_]+)"', page)) == {"issue_label"}


@pytest.mark.parametrize("fields, status", [
    ({"action": "fly"}, 400),
    ({"action": ""}, 400),
    ({"action": "approve", "ship_within_days": "soon"}, 400),
    ({"action": "approve", "ship_within_days": "0"}, 400),
    ({"action": "issue_label", "carrier": "ups"}, 400),  # no tracking number
    ({"action": "issue_label", "carrier": "ups", "tracking_number": "1Z1"}, 422),  # not before approval
    ({"action": "inspect", "accepted.MUG-1": "1"}, 422),
    ({"action": "resolve", "kind": "refund", "amount": "1.00"}, 422),
    ({"action": "resolve", "kind": "teleport"}, 400),
])
def test_bad_forms_are_4xx_pages_and_change_nothing(aws, fields, status):
    [rma_id] = setup_returns(aws)
    cookie = sign_in(aws)
    response = step(aws, cookie, rma_id, **fields)
    assert response.status_code == status, html(response)[:800]
    assert "Traceback" not in html(response) and 'role="alert"' in html(response)
    assert stored(aws, rma_id)["status"] == "requested"


def test_a_refund_above_what_inspection_accepted_is_refused(aws):
    [rma_id] = setup_returns(aws)
    cookie = sign_in(aws)
    for fields in ({"action": "approve"}, {"action": "issue_label", "carrier": "ups", "tracking_number": "1Z2"},
                   {"action": "receive"}, {"action": "inspect", "accepted.MUG-1": "1"}):
        assert step(aws, cookie, rma_id, **fields).status_code == 303, fields
    for amount in ("99999.00", "abc", "-1"):  # the API's answer too: 400 naming the field
        response = step(aws, cookie, rma_id, action="resolve", kind="refund", amount=amount)
        assert response.status_code == 400 and "(resolution.amount)" in html(response), amount
    assert stored(aws, rma_id)["status"] == "inspected"


@pytest.mark.parametrize("path", [
    f"{BASE}/returns/{ORDER}/R-NOSUCHRMA1", f"{BASE}/returns/9999/R-NOSUCHRMA1", f"{BASE}/returns/%23x/%20",
    f"{BASE}/returns/{'9' * 300}/R-1",
])
def test_unknown_or_hostile_ids_are_404_pages(aws, path):
    setup_returns(aws)
    cookie = sign_in(aws)
    response = get(aws, path, cookie)
    assert response.status_code in (400, 404) and "Traceback" not in html(response)
    page = html(get(aws, f"{BASE}/returns", cookie))
    assert post(aws, path, {"csrf_token": csrf(page), "action": "approve"}, cookie).status_code in (400, 404)


def test_bad_tabs_cursors_and_shops_are_4xx(aws):
    cookie = sign_in(aws)
    assert get(aws, f"{BASE}/returns", cookie, tab="nope").status_code == 400
    assert get(aws, f"{BASE}/returns", cookie, tab="requested", next="!!!").status_code == 400
    forged = "eyJwayI6IngiLCJzayI6InkiLCJnc2kxcGsiOiJNI290aGVyLXN0b3JlI1JFVFEjcmVxdWVzdGVkIiwiZ3NpMXNrIjoieiJ9"
    assert get(aws, f"{BASE}/returns", cookie, tab="requested", next=forged).status_code == 400
    assert get(aws, "/console/no-such-shop/signin").status_code == 404
    assert get(aws, f"/console/{'x' * 300}/signin").status_code == 404
    assert get(aws, "/console/no-such-shop/returns").status_code == 404
    assert get(aws, "/console/no-such-shop").status_code == 404
    assert post(aws, "/console/no-such-shop/signin", {"api_key": aws.credentials.api_key}).status_code == 404


# ------------------------------------------------------------------------------ tabs and search


def test_tabs_follow_the_rma_and_an_overdue_approval_is_expired_without_a_write(aws):
    first, second = setup_returns(aws, count=2)
    session = {"cookie": sign_in(aws)}

    def tab(name: str) -> str:
        return html(get(aws, f"{BASE}/returns", session["cookie"], tab=name))

    cookie = session["cookie"]

    assert first in tab("requested") and second in tab("requested")
    step(aws, cookie, first, action="approve", ship_within_days="3")
    assert first in tab("approved") and first not in tab("requested") and first not in tab("expired")
    step(aws, cookie, second, action="reject", reason="Too late")
    assert second in tab("resolved")
    aws.clock.advance(timedelta(days=4))
    session["cookie"] = sign_in(aws)  # the first session ended after eight hours
    assert first in tab("expired") and first not in tab("approved")
    assert stored(aws, first)["status"] == "approved"  # expired when read, as the API shows it


def test_a_tab_pages_with_a_cursor(aws, monkeypatch):
    from postpurchase.storage import return_queue

    monkeypatch.setattr(return_queue, "PAGE_SIZE", 2)
    monkeypatch.setattr(return_queue.DynamoReturnQueue.page, "__defaults__", (None, 2))
    ids = setup_returns(aws, count=3)
    cookie = sign_in(aws)
    first = html(get(aws, f"{BASE}/returns", cookie, tab="requested"))
    assert ids[0] in first and ids[1] in first and ids[2] not in first
    next_url = re.search(r'href="([^"]*next=[^"]+)"', first).group(1).replace("&amp;", "&")
    second = html(get(aws, urlsplit(next_url).path + "?" + urlsplit(next_url).query, cookie))
    assert ids[2] in second and ids[0] not in second


def test_search_by_order_number_email_rma_and_tracking_number(aws):
    [rma_id] = setup_returns(aws)
    cookie = sign_in(aws)
    step(aws, cookie, rma_id, action="approve")
    step(aws, cookie, rma_id, action="issue_label", carrier="ups", tracking_number="1ZRETURN77")
    aws.pump.drain()  # return_events starts tracking the return parcel under its number
    email = aws.api_order(ORDER)["email"]
    for text in (ORDER, rma_id, rma_id.lower(), email, email.upper(), "SBX-OK-1001", "1ZRETURN77"):
        page = html(get(aws, f"{BASE}/returns", cookie, q=text))
        assert rma_id in page, text
    for text in ("nothing-like-it", "nobody@example.com", "R-AAAAAAAAAA", "x" * 400):
        page = html(get(aws, f"{BASE}/returns", cookie, q=text))
        assert rma_id not in page and "No return matches" in page, text


def test_approving_in_the_console_shows_on_the_customers_order_page(aws):
    from postpurchase.security.tokens import sign_order_token

    [rma_id] = setup_returns(aws)
    cookie = sign_in(aws)
    step(aws, cookie, rma_id, action="approve")
    token = sign_order_token(aws.link_keys, "demo-store", ORDER, aws.clock.now() + timedelta(days=1))
    customer = html(aws.client.get(f"/pages/demo-store/orders/{ORDER}?token={token}&lang=en", headers={"Host": HOST}))
    assert rma_id in customer and "Approved" in customer


def test_a_step_whose_notice_cannot_be_queued_says_so_and_the_same_step_finishes_it(aws, monkeypatch):
    from postpurchase import services
    from postpurchase.errors import RetryLater

    [rma_id] = setup_returns(aws)
    cookie = sign_in(aws)
    page = html(get(aws, detail_path(rma_id), cookie))
    queue = services.return_events_queue()
    publish, outage = queue.publish, {"on": True}

    def flaky(*args, **kwargs):
        if outage["on"]:
            raise RetryLater("SQS is down")
        return publish(*args, **kwargs)

    monkeypatch.setattr(queue, "publish", flaky)
    response = post(aws, detail_path(rma_id), {"csrf_token": csrf(page), "action": "approve"}, cookie)
    assert response.status_code == 503 and "Take the same step again" in html(response)
    assert stored(aws, rma_id)["status"] == "approved"
    outage["on"] = False
    before = aws.queue_depth("ReturnEventsQueue")
    assert post(aws, detail_path(rma_id), {"csrf_token": csrf(page), "action": "approve"}, cookie).status_code == 303
    assert aws.queue_depth("ReturnEventsQueue") == before + 1 and len(stored(aws, rma_id)["history"]) == 2


# --- shipments needing attention --------------------------------------------------------------


def _tracked(aws, order_id: str, tracking_number: str):
    from postpurchase.storage.tracking import DynamoTrackingStore

    order = aws.api_order(order_id, placed_at=aws.clock.now())
    assert aws.post_order(order).status_code == 202
    assert aws.pump_queue("OrderEventsQueue") == 1
    assert aws.post_shipment(order_id, {"carrier": "ups", "tracking_number": tracking_number}).status_code == 201
    assert aws.pump_queue("OrderEventsQueue") == 1
    (tracked,) = DynamoTrackingStore().order_shipments("demo-store", order_id)
    return tracked


def _save(aws, order_id: str, shipment_id: str, **state):
    """What the tracking worker's save does after applying a carrier answer."""
    from postpurchase.storage.tracking import DynamoTrackingStore

    store = DynamoTrackingStore()
    current = store.load("demo-store", order_id, shipment_id)
    store.save(current, current.tracking.model_copy(update=state), [], aws.clock.now())


def test_shipments_needing_attention_are_one_query_and_leave_the_list_when_they_recover(aws):
    from postpurchase.tracking.model import TrackingStatus
    from postpurchase.tracking.state import NoticeKind

    now = aws.clock.now()
    fine = _tracked(aws, "2001", "SBX-OK-2001")
    broken = _tracked(aws, "2002", "SBX-OK-2002")
    failed = _tracked(aws, "2003", "SBX-OK-2003")
    back = _tracked(aws, "2004", "SBX-OK-2004")
    stalled = _tracked(aws, "2005", "SBX-OK-2005")
    _save(aws, "2001", fine.shipment.shipment_id, status=TrackingStatus.IN_TRANSIT, last_event_at=now,
          status_changed_at=now)
    _save(aws, "2002", broken.shipment.shipment_id, status=TrackingStatus.EXCEPTION, status_changed_at=now,
          notices_sent=frozenset({NoticeKind.SHIPPED, NoticeKind.EXCEPTION}))
    _save(aws, "2003", failed.shipment.shipment_id, status=TrackingStatus.ATTEMPT_FAILED, status_changed_at=now)
    _save(aws, "2004", back.shipment.shipment_id, status=TrackingStatus.RETURNED, status_changed_at=now)
    _save(aws, "2005", stalled.shipment.shipment_id, status=TrackingStatus.IN_TRANSIT,
          last_event_at=now - timedelta(days=10), status_changed_at=now - timedelta(days=10))

    cookie = sign_in(aws)
    with count_aws_requests() as requests:
        page = get(aws, f"{BASE}/shipments", cookie)
    assert page.status_code == 200, html(page)[:500]
    assert dict(requests) == {("DynamoDB", "Query"): 1}
    text = html(page)
    assert 'aria-current="page">Shipments' in text and "<script" not in text
    for number in ("SBX-OK-2002", "SBX-OK-2003", "SBX-OK-2004", "SBX-OK-2005"):
        assert number in text
    assert "SBX-OK-2001" not in text
    for label in ("Delivery problem", "Delivery attempt failed", "Returned to the sender", "No scan for a while",
                  "None sent"):
        assert label in text
    row = text[text.index("SBX-OK-2002"):].split("</tr>", 1)[0]
    assert "<li>Shipped</li>" in row and "<li>Delivery problem</li>" in row

    # the exception recovers, the stalled parcel is delivered: both leave the list
    _save(aws, "2002", broken.shipment.shipment_id, status=TrackingStatus.IN_TRANSIT, last_event_at=now,
          status_changed_at=now)
    _save(aws, "2005", stalled.shipment.shipment_id, status=TrackingStatus.DELIVERED, delivered_at=now,
          last_event_at=now, status_changed_at=now)
    text = html(get(aws, f"{BASE}/shipments", cookie))
    assert "SBX-OK-2002" not in text and "SBX-OK-2005" not in text and "SBX-OK-2003" in text

    for language, words in (("ar", 'dir="rtl"'), ("tr", "İlgi gerektiren gönderiler"), ("th", "การจัดส่ง"),
                            ("ru", "Отправления"), ("id", "Pengiriman"), ("en", "Shipments needing attention")):
        shown = get(aws, f"{BASE}/shipments", cookie, lang=language)
        assert shown.status_code == 200 and words in html(shown), language


def test_the_shipments_view_needs_a_session_and_pages_through_a_cursor_of_its_own(aws):
    from postpurchase.storage import tracking as storage
    from postpurchase.tracking.model import TrackingStatus

    assert get(aws, f"{BASE}/shipments").status_code == 401
    cookie = sign_in(aws)
    assert "No shipment needs attention right now." in html(get(aws, f"{BASE}/shipments", cookie))
    for number in range(3):
        tracked = _tracked(aws, f"30{number}", f"SBX-OK-30{number}")
        _save(aws, f"30{number}", tracked.shipment.shipment_id, status=TrackingStatus.EXCEPTION,
              status_changed_at=aws.clock.now())
        aws.clock.advance(timedelta(minutes=1))
    first = storage.attention_page("demo-store", limit=2)
    assert [t.order_id for t in first.shipments] == ["302", "301"] and first.next_cursor
    second = storage.attention_page("demo-store", first.next_cursor, limit=2)
    assert [t.order_id for t in second.shipments] == ["300"]
    assert get(aws, f"{BASE}/shipments", cookie, next="bm90LWEtY3Vyc29y").status_code == 400
