"""The demo's support chapter: customers write in several languages; "where is my order?" and a
return question are answered from live tracking and the return policy; a damaged item goes to the
merchant with the order attached, who answers and resolves; the customer rates the help with one
tap in the survey email; the support metrics are printed."""
from __future__ import annotations

CUSTOMERS = {
    "ayse": ("ayse.yilmaz@example.com", "A-1001", "tr", "Merhaba, siparişim nerede? Kargom ne zaman gelir?"),
    "dmitri": ("dmitri.ivanov@example.ru", "A-1002", "ru", "Здравствуйте! Можно вернуть футболку? Как оформить возврат?"),
    "budi": ("budi.santoso@example.co.id", "A-1003", "id", "Barang saya datang rusak, gelasnya pecah. Tolong dibantu."),
}


def support(demo) -> None:
    from infra.local.merchant_endpoint import MerchantEndpoint

    endpoint = MerchantEndpoint()  # the merchant's helpdesk: support.conversation.created arrives here
    try:
        _support(demo, endpoint)
    finally:
        # A webhook URL left pointing at a stopped endpoint would be retried for ever on simulated time.
        demo.merchant("PUT", "/v1/settings/webhooks", {"feedback_url": None})
        endpoint.stop()


def _support(demo, endpoint) -> None:
    demo.merchant("PUT", "/v1/settings/webhooks", {"feedback_url": endpoint.start()})
    demo.step("Customers write to support in Turkish, Russian and Indonesian (POST /v1/support/messages)")
    answers = {}
    for name, (email, order_id, language, text) in CUSTOMERS.items():
        status, answer = demo.merchant("POST", "/v1/support/messages",
                                       {"email": email, "order_id": order_id, "text": text, "language": language})
        answers[name] = answer
        print(f"    {name}: {text!r} -> intent {answer.get('intent')}, "
              f"{'answered automatically' if answer.get('auto_answered') else 'to a person: ' + str(answer.get('not_answered_because'))}")
        demo.check(f"{name}'s message is recorded (201)", status == 201 and bool(answer.get("conversation_id")))
    emails = demo.settle()
    replies = {email.recipient: email for email in emails}
    ayse = replies.get(CUSTOMERS["ayse"][0])
    if ayse is not None:
        print("    the reply Ayşe got, first lines:")
        for line in [line for line in ayse.text.splitlines() if line.strip()][:6]:
            print(f"      {line}")
    demo.check("Ayşe's 'where is my order?' is answered from tracking, in Turkish",
               answers["ayse"].get("intent") == "where_is_my_order" and answers["ayse"].get("auto_answered") is True
               and ayse is not None)
    demo.check("Dmitri's return question is answered with the return window",
               answers["dmitri"].get("intent") == "return_exchange" and answers["dmitri"].get("auto_answered") is True)
    demo.check("Budi's broken item is never auto-answered: it waits for the merchant with the order attached",
               answers["budi"].get("intent") == "damaged_wrong_item" and answers["budi"].get("auto_answered") is False
               and CUSTOMERS["budi"][0] not in replies)

    created = [d.json for d in endpoint.deliveries if d.json.get("type") == "support.conversation.created"]
    # A message that joins an earlier conversation (one we opened about a parcel) announces nothing new.
    ids = [e["conversation_id"] for e in created]
    demo.check("Budi's new conversation reaches the merchant's helpdesk once as a signed support.conversation.created",
               ids.count(answers["budi"].get("conversation_id")) == 1 and len(ids) == len(set(ids))
               and all("x-postpurchase-signature" in d.headers for d in endpoint.deliveries))

    demo.step("The merchant answers Budi from the conversation list and resolves it")
    status, listing = demo.merchant("GET", "/v1/support/conversations?status=open")
    waiting = [c for c in listing.get("conversations", []) if c.get("conversation_id") == answers["budi"]["conversation_id"]]
    demo.check("Budi's conversation is in the open list (one Query)", status == 200 and len(waiting) == 1)
    conversation_id = answers["budi"]["conversation_id"]
    status, _ = demo.merchant("POST", f"/v1/support/conversations/{conversation_id}/replies",
                              {"text": "Maaf sekali, Budi! Kami kirim gelas pengganti hari ini, tanpa biaya."})
    emails = demo.settle()
    demo.check("the merchant's reply reaches Budi, threaded", status in (200, 201)
               and any(email.recipient == CUSTOMERS["budi"][0] for email in emails))
    status, resolved = demo.merchant("POST", f"/v1/support/conversations/{conversation_id}/status",
                                     {"status": "resolved"})
    demo.check("the conversation is resolved", status == 200)

    demo.step("Budi gets one survey in Indonesian and rates the help with one tap (5)")
    emails = demo.settle()
    surveys = [email for email in emails if email.recipient == CUSTOMERS["budi"][0] and "/csat/" in email.text]
    links = [line.split(": ", 1)[1] for line in surveys[0].text.splitlines() if "/csat/" in line] if surveys else []
    rated = _open(links[4]) if len(links) == 5 else 0
    again, _ = demo.merchant("POST", f"/v1/support/conversations/{conversation_id}/status", {"status": "resolved"})
    demo.check("one survey per resolution, five one-click links; a retried resolve sends no second one",
               len(surveys) == 1 and len(links) == 5 and again == 200
               and not [e for e in demo.settle() if e.recipient == CUSTOMERS["budi"][0]])
    status, rating = demo.merchant("GET", "/v1/support/metrics?days=30")
    demo.check("the one-tap 5 is recorded and counted in CSAT", rated == 200
               and ((rating.get("csat") or {}).get("count") or 0) >= 1)

    status, metrics = demo.merchant("GET", "/v1/support/metrics?days=30")
    print(f"    support metrics: {metrics.get('conversations')} conversations, WISMO share "
          f"{(metrics.get('wismo') or {}).get('share')}, automated pending the 72 h window: "
          f"{(metrics.get('automated') or {}).get('pending')}")
    # Messages about an order whose parcel had trouble joined the conversation we had opened then.
    demo.check("the support metrics count the WISMO question (one Query)",
               status == 200 and ((metrics.get("wismo") or {}).get("count") or 0) >= 1)


def _open(url: str) -> int:
    """GET a link from an email as the customer's browser would; its status."""
    import urllib.error
    import urllib.request

    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers={"Accept": "text/html"}), timeout=30) as page:
            return page.status
    except urllib.error.HTTPError as error:
        return error.code
