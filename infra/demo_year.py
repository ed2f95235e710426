"""The demo's last chapter: a year of six customers' lives, one per language, on simulated time.

The merchant sets up lifecycle messaging, loyalty, referrals and a catalog; six new customers
place first orders in January; then the clock runs for a year. Between the story's own steps the
clock jumps from one due message to the next (a discrete-event simulation: `next_due_at` reads
the table the way an admin tool would), and message_scheduler runs until it has caught up, as
its every-5-minutes EventBridge rule would. The checks at the end hold the year to the issue:
exactly the right emails, in each customer's language, at sensible local times, once each, with
opt-outs honoured.
"""
from __future__ import annotations

import email
import email.policy
import re
from collections import Counter, defaultdict
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

YEAR_CUSTOMERS = {  # one per language; birthdays spread over the year
    "emma": {"id": "c-emma", "email": "emma.brooks@example.com", "first_name": "Emma", "last_name": "Brooks",
             "locale": "en-US", "timezone": "America/New_York", "birthday": "1991-03-14",
             "address": {"address1": "12 Orchard St", "city": "New York", "zip": "10002", "country_code": "US"}},
    "siti": {"id": "c-siti", "email": "siti.rahma@example.co.id", "first_name": "Siti", "last_name": "Rahmawati",
             "locale": "id-ID", "timezone": "Asia/Jakarta", "birthday": None,  # gives it in June, too late
             "address": {"address1": "Jl. Kemang Raya 8", "city": "Jakarta", "zip": "12730", "country_code": "ID"}},
    "niran": {"id": "c-niran", "email": "niran.w@example.co.th", "first_name": "นิรันดร์", "last_name": "วงศ์ใหญ่",
              "locale": "th-TH", "timezone": "Asia/Bangkok", "birthday": "1988-09-05",
              "address": {"address1": "99 ถนนสุขุมวิท", "city": "กรุงเทพฯ", "zip": "10110", "country_code": "TH"}},
    "elif": {"id": "c-elif", "email": "elif.kaya@example.com.tr", "first_name": "Elif", "last_name": "Kaya",
             "locale": "tr-TR", "timezone": "Europe/Istanbul", "birthday": "1990-04-02",
             "address": {"address1": "Bağdat Caddesi 200", "city": "İstanbul", "zip": "34728", "country_code": "TR"}},
    "layla": {"id": "c-layla", "email": "layla.h@example.sa", "first_name": "ليلى", "last_name": "الحربي",
              "locale": "ar-SA", "timezone": "Asia/Riyadh", "birthday": "1993-11-30",
              "address": {"address1": "طريق الملك فهد 10", "city": "الرياض", "zip": "12211", "country_code": "SA"}},
    "olga": {"id": "c-olga", "email": "olga.petrova@example.ru", "first_name": "Ольга", "last_name": "Петрова",
             "locale": "ru-RU", "timezone": "Europe/Moscow", "birthday": "1985-08-08",
             "address": {"address1": "Невский проспект, 20", "city": "Санкт-Петербург", "zip": "191186",
                         "country_code": "RU"}},
}
LANGUAGE = {who: c["locale"][:2] for who, c in YEAR_CUSTOMERS.items()}

CATALOG = [  # demo-store's catalog: what "you may also like" chooses from
    {"product_id": "p-mug", "sku": "MUG-1", "title": "Ceramic mug", "category": "home", "price": "12.50"},
    {"product_id": "p-tee", "sku": "TEE-2", "title": "Organic T-shirt", "category": "apparel", "price": "24.00"},
    {"product_id": "p-lamp", "sku": "LAMP-3", "title": "Desk lamp", "category": "home", "price": "49.90"},
    {"product_id": "p-coaster", "sku": "COAST-4", "title": "Cork coasters (set of 4)", "category": "kitchen",
     "price": "9.00"},
    {"product_id": "p-bulb", "sku": "BULB-5", "title": "Warm LED bulb", "category": "lighting", "price": "7.50"},
    {"product_id": "p-teapot", "sku": "POT-6", "title": "Glass teapot", "category": "kitchen", "price": "29.00"},
    {"product_id": "p-tote", "sku": "TOTE-7", "title": "Canvas tote bag", "category": "accessories", "price": "15.00"},
]
PRICES = {p["sku"]: (p["title"], p["price"], p["category"]) for p in CATALOG}
for product in CATALOG:
    product.update(currency="USD", image_url=f"https://cdn.demo-store.example/{product['product_id']}.jpg",
                   product_url=f"https://demo-store.example/products/{product['product_id']}")

MESSAGING = {
    "review_delay_days": {"home": 10, "apparel": 5, "kitchen": 10},
    "default_review_delay_days": 7,
    "review_reminder_days": 4,
    "win_back_days": 60,
    "win_back_offer": {"discount_type": "percent", "value": "15", "valid_days": 21},
    "birthday_offer": {"discount_type": "percent", "value": "20", "valid_days": 14},
    "anniversary_offer": {"discount_type": "amount", "value": "10", "min_spend": "40", "currency": "USD",
                          "valid_days": 30},
    "feedback_thank_you": {"discount_type": "percent", "value": "10", "valid_days": 60},
    "confirmation_rules": [{"variant": "welcome", "first_order": True},
                           {"variant": "recommendations", "categories": ["home"]},
                           {"variant": "enticing", "min_total": "60"},
                           {"variant": "reassuring"}],
    "confirmation_offer": {"discount_type": "percent", "value": "10", "valid_days": 30},
    "frequency_cap": {"max_messages": 2, "per_days": 7},
    "quiet_hours": {"start_hour": 21, "end_hour": 9},
}
LOYALTY = {"points_per_unit": "1", "category_multipliers": {"home": "2"}, "review_bonus": 50, "birthday_bonus": 100,
           "expiry_months": 12, "notice_days": 14, "point_value": "0.05", "min_redemption": 100}
REFERRALS = {"referrer_reward": {"discount_type": "amount", "value": "10", "valid_days": 90},
             "friend_reward": {"discount_type": "percent", "value": "10", "valid_days": 90}, "monthly_cap": 5}
RECOMMENDATIONS = {"categories": {"home": {"kitchen": 1, "lighting": 0.8}, "apparel": ["accessories"]}}
MARKETING = {"review_request", "review_reminder", "birthday_offer", "anniversary", "win_back", "campaign",
             "points_expiring"}


def year_order(order_id: str, who: str, placed_at: datetime, lines: dict[str, int], **extra) -> dict:
    customer = YEAR_CUSTOMERS[who]
    items = [{"sku": sku, "title": PRICES[sku][0], "quantity": qty, "price": PRICES[sku][1],
              "category": PRICES[sku][2]} for sku, qty in lines.items()]
    subtotal = sum(float(PRICES[sku][1]) * qty for sku, qty in lines.items())
    profile = {k: customer[k] for k in ("id", "email", "first_name", "last_name", "locale", "timezone")}
    if customer.get("birthday"):
        profile["birthday"] = customer["birthday"]
    return {
        "order_id": order_id, "placed_at": placed_at.isoformat().replace("+00:00", "Z"), "currency": "USD",
        "email": customer["email"], "customer": profile, "items": items,
        "shipping_address": dict(customer["address"], name=f"{customer['first_name']} {customer['last_name']}"),
        "totals": {"subtotal": f"{subtotal:.2f}", "shipping": "5.00", "tax": "0.00", "total": f"{subtotal + 5:.2f}"},
        **extra,
    }


def kind_of(outboxed) -> str:
    """The message kind of an outbox email (its ledger key is merchant/kind#ref)."""
    return outboxed.message_key.split("/", 1)[1].split("#")[0]


def headers_of(outboxed):
    with open(outboxed.eml_path, "rb") as handle:
        return email.message_from_binary_file(handle, policy=email.policy.default)


def next_due_at(runtime) -> datetime | None:
    """When the next scheduled message falls due (those still in the due index). A simulation
    aid, like an admin tool: it reads the in-process moto's table directly (the product finds due
    messages by Querying gsi3, never like this)."""
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.dynamodb.models import dynamodb_backends

    table = dynamodb_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].get_table(runtime.names["Table"])
    keys = [item.attrs["gsi3sk"].value for item in table.all_items() if "gsi3sk" in item.attrs]
    return datetime.fromisoformat(min(keys).split("|", 1)[0].replace("Z", "+00:00")) if keys else None


def run_until(demo, until: datetime, *, poll_every: timedelta | None = None) -> list:
    """Move the clock to `until`, stopping at every due message (and every `poll_every` while
    parcels move); each stop runs the schedules as EventBridge would and delivers what follows."""
    rt, sent = demo.runtime, []
    while True:
        now = demo.clock.now()
        if now >= until:
            break
        stops = [until]
        due = next_due_at(rt)
        if due is not None:
            stops.append(max(due, now) + timedelta(minutes=1))
        if poll_every is not None:
            stops.append(now + poll_every)
        demo.clock.set(max(min(stops), now + timedelta(minutes=1)))
        # While parcels move every schedule fires; otherwise only the message scheduler has work.
        # It runs until it has caught up, as its every-5-minutes rule would have by then.
        only = None if poll_every is not None else "MessageSchedulerFunction"
        for _ in range(60):
            results = rt.tick(only=only)
            if results.get("MessageSchedulerFunction", {}).get("caught_up", True):
                break
            only = "MessageSchedulerFunction"
        for outboxed in rt.settle():
            sent.append(outboxed)
            print(f"    {demo.clock.now():%a %d %b %Y %H:%M}  email -> {outboxed.recipient}: {outboxed.subject}")
    return sent


def year(demo) -> None:
    rt = demo.runtime
    merchant_id = rt.credentials.merchant_id
    emails: list = []
    start = demo.clock.now()

    from infra.local.merchant_endpoint import MerchantEndpoint

    endpoint = MerchantEndpoint()  # the merchant's own systems: resolved returns and feedback arrive here
    demo.step("New year: the merchant sets up lifecycle messaging, loyalty, referrals and the catalog")
    url = endpoint.start()
    answers = [demo.merchant("PUT", "/v1/settings/webhooks", {"returns_url": url, "feedback_url": url}),demo.merchant("PUT", "/v1/settings/messaging", MESSAGING),
               demo.merchant("PUT", "/v1/settings/loyalty", LOYALTY),
               demo.merchant("PUT", "/v1/settings/referrals", REFERRALS),
               demo.merchant("PUT", "/v1/catalog", {"products": CATALOG}),
               demo.merchant("PUT", "/v1/settings/recommendations", RECOMMENDATIONS)]
    demo.check("messaging, loyalty, referral, catalog and recommendation settings accepted",
               all(status == 200 for status, _ in answers))
    bad, body = demo.merchant("PUT", "/v1/settings/messaging", {**MESSAGING, "quiet_hours": {"start_hour": 25}})
    demo.check("a bad setting is refused naming the field",
               bad == 400 and body["error"].get("field") == "quiet_hours.start_hour")

    demo.step("Six new customers, one per language, place their first orders", timedelta(hours=2))
    first = {"emma": {"MUG-1": 2, "LAMP-3": 2}, "siti": {"TEE-2": 1}, "niran": {"MUG-1": 1, "COAST-4": 1},
             "elif": {"LAMP-3": 1, "MUG-1": 1}, "layla": {"TEE-2": 2}}
    for number, (who, lines) in enumerate(first.items(), start=1):
        status, _ = demo.merchant("POST", "/v1/orders", year_order(f"Y-{number:03d}", who, demo.clock.now(), lines))
        assert status == 202, status
        demo.clock.advance(timedelta(minutes=7))
    emails += demo.settle()
    status, invite = demo.merchant("GET", "/v1/customers/c-emma/referral")
    print(f"    Emma's referral code {invite.get('code')}: {invite.get('share_url')}")
    status, _ = demo.merchant("POST", "/v1/orders", year_order("Y-006", "olga", demo.clock.now(), {"MUG-1": 1,
                                                                                                  "POT-6": 1},
                                                              referral_code=invite.get("code", "").lower()))
    # Elif tries her own code from a second account: another email, the same address and card.
    status, elif_invite = demo.merchant("GET", "/v1/customers/c-elif/referral")
    twin = year_order("Y-007", "elif", demo.clock.now(), {"TEE-2": 1}, referral_code=elif_invite.get("code"),
                      payment_fingerprint="card-elif-4242")
    twin["customer"] = dict(twin["customer"], id="c-elif-2", email="e.kaya.shop@example.com.tr")
    twin["email"] = "e.kaya.shop@example.com.tr"
    demo.merchant("POST", "/v1/orders", twin)
    emails += demo.settle()
    status, listing = demo.merchant("GET", "/v1/referrals")
    by_order = {r["order_id"]: r for r in listing.get("referrals", [])}
    demo.check("Olga's first order with Emma's code is an accepted referral, rewards pending the return window",
               by_order.get("Y-006", {}).get("status") == "accepted"
               and all(r.get("status") == "pending" for r in by_order["Y-006"].get("rewards", [{}])))
    demo.check("Elif's second account using her own code is refused as a self-referral (same address)",
               by_order.get("Y-007", {}).get("status") == "refused"
               and any(reason.startswith("self_referral") for reason in by_order["Y-007"].get("reasons", [])))
    welcomes = [e for e in emails if kind_of(e) == "order_confirmation"]
    demo.check("seven welcome confirmations, each in its customer's language",
               len(welcomes) == 7 and all(f'lang="{LANGUAGE[_who(e)]}' in e.html for e in welcomes if _who(e)))

    demo.step("The merchant ships every order; parcels are tracked to the door", timedelta(hours=20))
    for number in range(1, 8):
        demo.merchant("POST", f"/v1/orders/Y-{number:03d}/shipments",
                      {"carrier": "ups", "tracking_number": f"SBX-OK-YEAR{number}"})
    demo.settle()
    emails += run_until(demo, demo.clock.now() + timedelta(days=6), poll_every=timedelta(hours=8))

    demo.step("Reviews fall due days after delivery (apparel 5 days, home 10), at 10:00 local time")
    emails += run_until(demo, demo.clock.now() + timedelta(days=9))
    elif_review = _latest(emails, "review_request", "elif")
    # Niran turns review emails off with one click in his mail app (RFC 8058): no reminder follows.
    niran_review = _latest(emails, "review_request", "niran")
    unsubscribe = headers_of(niran_review)["List-Unsubscribe"].strip("<>") if niran_review else ""
    one_click = urllib_post(unsubscribe, b"List-Unsubscribe=One-Click")
    demo.check("review emails carry List-Unsubscribe and List-Unsubscribe-Post; the one-click POST answers 200",
               niran_review is not None and headers_of(niran_review)["List-Unsubscribe-Post"]
               == "List-Unsubscribe=One-Click" and one_click == 200)
    emma_review = _latest(emails, "review_request", "emma")
    rating = re.search(r"/feedback/([\w.\-]+)\?rating=5", emma_review.html if emma_review else "")
    status, answer = demo.http("POST", f"/v1/feedback/{rating.group(1) if rating else 'x'}",
                               {"rating": 5, "comment": "The lamp is lovely. Warm light, sturdy base."})
    demo.check("Emma rates her lamp 5 from the email's link and gets a thank-you code",
               status == 201 and answer.get("rating") == 5 and (answer.get("thank_you_coupon") or {}).get("code"))
    status, feedback = demo.merchant("GET", "/v1/feedback")
    demo.check("the merchant reads Emma's answer (GET /v1/feedback)",
               status == 200 and any(item.get("comment", "").startswith("The lamp") for item in feedback["items"]))
    demo.settle()
    posted = [d.json for d in endpoint.deliveries if d.status == 200]
    demo.check("and receives it by signed webhook", any(body.get("rating") == 5 for body in posted))
    print(f"    Elif's review email links: {len(re.findall('rating=', elif_review.html)) if elif_review else 0} ratings")

    demo.step("Elif returns the lamp (home, auto-approved); the merchant refunds it", timedelta(days=1))
    status, rma = demo.merchant("POST", "/v1/orders/Y-004/returns",
                                {"items": [{"sku": "LAMP-3", "quantity": 1}], "reason": "damaged",
                                 "resolution": "refund"})
    steps = f"/v1/orders/Y-004/returns/{rma.get('rma_id')}/transitions"
    for action in ({"action": "issue_drop_off_code", "drop_off_code": "DROP-ELIF-1"}, {"action": "receive"}, {"action": "inspect", "lines": [{"sku": "LAMP-3", "accepted_quantity": 1}]},
                   {"action": "resolve", "resolution": {"kind": "refund", "amount": "49.90"}}):
        demo.merchant("POST", steps, action)
    emails += demo.settle()
    status, elif_points = demo.merchant("GET", "/v1/customers/c-elif/loyalty")
    reversed_points = [h for h in elif_points.get("history", []) if h.get("kind") == "reverse"]
    demo.check("her lamp's points are reversed in proportion; the mug's stay",
               status == 200 and reversed_points and elif_points.get("pending", 0) + elif_points.get(
                   "balance", 0) > 0)

    demo.step("Valentine's Day: the merchant's campaign to everyone who bought for the home")
    status, campaign = demo.merchant("POST", "/v1/campaigns", {
        "campaign_id": "valentines-2027", "occasion": "valentines_day", "send_on": "2027-02-14", "local_hour": 10,
        "segment": {"categories": ["home", "kitchen"]}, "shop_url": "https://demo-store.example/valentines",
        "offer": {"discount_type": "percent", "value": "14", "valid_days": 7}})
    demo.check("the campaign is accepted (202) and fans out to its segment", status == 202)
    emails += run_until(demo, datetime(2027, 2, 16, tzinfo=demo.clock.now().tzinfo))

    demo.step("Points vest once the return windows have closed; Emma redeems 200 and orders again")
    emails += run_until(demo, datetime(2027, 3, 1, 12, tzinfo=demo.clock.now().tzinfo))
    status, account = demo.merchant("GET", "/v1/customers/c-emma/loyalty")
    print(f"    Emma: {account.get('balance')} points available, {account.get('pending')} pending, "
          f"tier {account.get('tier', {}).get('name')}")
    demo.check("Emma's points vested after the return window", status == 200 and account.get("balance", 0) >= 200)
    status, redemption = demo.http("POST", "/v1/customers/c-emma/loyalty/redemptions",
                                   {"points": 200, "currency": "USD"},
                                   {"Authorization": f"Bearer {rt.credentials.api_key}",
                                    "Idempotency-Key": "emma-checkout-1"})
    code = (redemption.get("code") or {}).get("code", "")
    again, same = demo.http("POST", "/v1/customers/c-emma/loyalty/redemptions", {"points": 200, "currency": "USD"},
                            {"Authorization": f"Bearer {rt.credentials.api_key}", "Idempotency-Key": "emma-checkout-1"})
    demo.check("200 points become one $10 code; the storefront's retry gets the same code, no points taken twice",
               status == 201 and again == 200 and (same.get("code") or {}).get("code") == code and code)
    used, _ = demo.merchant("POST", f"/v1/coupons/{code}/redeem",
                            {"order_id": "Y-008", "order_total": "46.50", "currency": "USD", "customer_id": "c-emma"})
    twice, refused = demo.merchant("POST", f"/v1/coupons/{code}/redeem",
                                   {"order_id": "Y-009", "order_total": "46.50", "currency": "USD"})
    demo.check("the code is redeemed at checkout once; a second order is refused (409 already_used)",
               used == 200 and twice == 409 and refused["error"].get("reason") == "already_used")
    demo.merchant("POST", "/v1/orders", year_order("Y-008", "emma", demo.clock.now(), {"MUG-1": 1, "POT-6": 1}))
    confirmation = [e for e in demo.settle() if kind_of(e) == "order_confirmation"]
    emails += confirmation
    status, recs = demo.merchant("GET", "/v1/customers/c-emma/recommendations")
    titles = [p["title"] for p in recs.get("products", [])]
    print(f"    recommended for Emma: {', '.join(titles)}")
    demo.check("her repeat order's confirmation is 'you may also like', with products from the catalog she "
               "has not bought", len(confirmation) == 1 and "Cork coasters" in confirmation[0].html
               and "Ceramic mug" not in titles)

    demo.step("The rest of the year: birthdays, win-backs, Siti's late birthday, anniversaries, expiring points")
    emails += run_until(demo, datetime(2027, 6, 25, 3, tzinfo=demo.clock.now().tzinfo))
    siti = dict(YEAR_CUSTOMERS["siti"], birthday="1994-06-21")  # given with her second order, after the day
    YEAR_CUSTOMERS["siti"] = siti
    demo.merchant("POST", "/v1/orders", year_order("Y-010", "siti", demo.clock.now(), {"TOTE-7": 1}))
    emails += demo.settle()
    # A year and three weeks: the anniversaries, then the notice two weeks before points expire.
    emails += run_until(demo, start.replace(year=start.year + 1) + timedelta(days=21))

    _year_checks(demo, emails)
    endpoint.stop()


def _who(outboxed) -> str | None:
    return next((who for who, c in YEAR_CUSTOMERS.items() if c["email"] == outboxed.recipient), None)


def _latest(emails: list, kind: str, who: str):
    matching = [e for e in emails if kind_of(e) == kind and _who(e) == who]
    return matching[-1] if matching else None


def urllib_post(url: str, body: bytes) -> int:
    import urllib.error
    import urllib.request

    request = urllib.request.Request(url, data=body, method="POST",
                                     headers={"Content-Type": "application/x-www-form-urlencoded"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code
    except ValueError:
        return 0


def _year_checks(demo, emails: list) -> None:
    by_customer: dict[str, list] = defaultdict(list)
    for outboxed in demo.runtime.outbox.emails:
        who = _who(outboxed)
        if who:
            by_customer[who].append(outboxed)
    print("\n    The year, per customer (kind: count):")
    for who, received in by_customer.items():
        print(f"      {who:<6} " + ", ".join(f"{k} {n}" for k, n in sorted(Counter(map(kind_of, received)).items())))

    kinds = {who: Counter(map(kind_of, received)) for who, received in by_customer.items()}
    demo.check("every customer got exactly one anniversary email, a year after the first order",
               all(kinds[who]["anniversary"] == 1 for who in YEAR_CUSTOMERS))
    demo.check("a birthday offer for each of the five who gave their birthday before it came; none for Siti, "
               "who gave hers after her day",
               all(kinds[who]["birthday_offer"] == 1 for who in ("emma", "niran", "elif", "olga", "layla"))
               and kinds["siti"]["birthday_offer"] == 0)
    demo.check("one review request per delivered order; Emma (answered) and Niran (unsubscribed) got no reminder",
               kinds["emma"]["review_reminder"] == 0 and kinds["niran"]["review_reminder"] == 0
               and kinds["niran"]["review_request"] == 1 and kinds["layla"]["review_reminder"] == 1)
    expiring = [e for e in by_customer["emma"] if kind_of(e) == "points_expiring"]
    demo.check("Emma is told two weeks ahead that her unspent points expire a year after they vested",
               len(expiring) == 1 and headers_of(expiring[0])["Date"].datetime.date().isoformat() >= "2028-01-30")
    demo.check("win-back after 60 days without an order, at most one per last order",
               all(1 <= kinds[who]["win_back"] <= 2 for who in YEAR_CUSTOMERS))
    demo.check("the Valentine's campaign reached the home/kitchen buyers only",
               all(kinds[who]["campaign"] == (1 if who in ("emma", "niran", "elif", "olga") else 0)
                   for who in YEAR_CUSTOMERS))
    late_night, crowded, wrong_language = [], [], []
    for who, received in by_customer.items():
        zone = ZoneInfo(YEAR_CUSTOMERS[who]["timezone"])
        marketing = sorted(headers_of(e)["Date"].datetime for e in received if kind_of(e) in MARKETING)
        for sent_at in marketing:
            if not 9 <= sent_at.astimezone(zone).hour < 21:
                late_night.append((who, sent_at))
            if sum(1 for other in marketing if sent_at <= other < sent_at + timedelta(days=7)) > 2:
                crowded.append((who, sent_at))
        wrong_language += [(who, e.subject) for e in received if f'lang="{LANGUAGE[who]}' not in e.html]
    demo.check("every marketing email arrived between 09:00 and 21:00 in the customer's own time zone",
               not late_night)
    demo.check("no customer got more than two marketing emails in any seven days (the frequency cap)", not crowded)
    dead = {queue: demo.runtime.queue_depth(queue) for queue in demo.runtime.names if queue.endswith("DLQ")}
    print(f"    dead-letter queues: {', '.join(f'{q} {n}' for q, n in dead.items() if n) or 'empty'}")
    demo.check("nothing waits in a dead-letter queue but the story's one poison order event",
               sum(dead.values()) == 1 and dead.get("OrderEventsDLQ") == 1)
    demo.check("every email is in its customer's language (ar right-to-left)",
               not wrong_language and all('dir="rtl"' in e.html for e in by_customer["layla"]))
