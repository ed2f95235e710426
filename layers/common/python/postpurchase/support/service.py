"""Support intake: one customer message, on any channel, into its conversation — and the
automated answer when live data can give one.

`receive_message` matches the message to its conversation (our Message-IDs in In-Reply-To /
References), to the order (a signed link, an order or tracking number in the text whose order
belongs to the sender's address, the order id a merchant gives), detects the intent, and
decides whether we answer: only WISMO / delivery date / return / refund questions with an order
matched, never automated mail, never twice a day in one conversation, never when a person must
look (needs_human). Everything it writes is one transaction (storage/support.py), keyed by the
message's identity, so a redelivery finds what it wrote and re-publishes the same reply (the
email sender's ledger sends it once).

`reply` and `set_status` are the merchant's hand-off actions.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from ..errors import NotFound
from ..messaging.requests import EmailRequest, SupportReply
from ..orders.models import Customer, Order
from . import model
from .intents import Intent, IntentMatch, detect_intent, needs_human
from .model import Author, Channel, Conversation, Direction, SupportMessage
from .references import find_references

MAX_SAVE_ATTEMPTS = 3  # a concurrent writer on the same conversation: read again, decide again


@dataclass(frozen=True)
class Incoming:
    """One customer message as a channel received it."""

    merchant_id: str
    channel: Channel
    identity: str  # what makes a redelivery the same message: the S3 key, the form/API request key
    text: str
    email: str | None = None
    name: str | None = None
    subject: str = ""
    language: str | None = None
    order_id: str | None = None  # the order the channel vouches for (signed link, merchant's API call)
    email_message_id: str | None = None
    in_reply_to: str | None = None
    references: tuple[str, ...] = ()
    attachments: tuple[str, ...] = ()  # S3 keys
    raw_key: str | None = None
    automated: str | None = None  # inbound_mail's reason we must never answer automatically
    problems: tuple[str, ...] = ()
    named_order: bool = False  # the customer typed an order number (lookup form): no guessing another


@dataclass(frozen=True)
class Received:
    conversation: Conversation
    message: SupportMessage
    match: IntentMatch | None
    auto_answered: bool
    why_not_answered: str | None  # None when answered
    duplicate: bool = False
    reply: SupportMessage | None = None
    requests: tuple[EmailRequest, ...] = field(default=(), repr=False)


# --- matching ------------------------------------------------------------------------------


def _same_address(a: str | None, b: str | None) -> bool:
    return bool(a and b) and a.strip().casefold() == b.strip().casefold()


def match_order(merchant_id: str, incoming: Incoming) -> tuple[Order | None, tuple[str, ...]]:
    """(the order, order numbers named whose owner is not the sender). An order found by a
    number in the text counts only when it was placed under the sender's address: anyone can
    type a number, and the answer tells where the parcel is."""
    from ..security.order_access import email_digest, normalise_order_number
    from ..services import order_numbers, order_store, tracking_store
    from ..errors import InvalidInput

    store = order_store()
    mentioned: list[str] = []
    if incoming.order_id:
        order = store.get_order(merchant_id, incoming.order_id)
        # A signed order link (the page's form) proves the order; a merchant's API call may pass on
        # a number a chat visitor typed, so there the order must also be the sender's.
        # The lookup page's form is like the API: only an address was typed, so it must be the order's.
        typed = incoming.channel in (Channel.API, Channel.LOOKUP_FORM)
        vouched = not typed or _same_address(order.recipient, incoming.email) if order else False
        if order is not None and vouched:
            return order, ()
        if order is not None:
            mentioned.append(order.order_id)
    refs = find_references(f"{incoming.subject}\n{incoming.text}")
    sender = email_digest(incoming.email) if incoming.email else None
    for number in refs.order_numbers[:5]:
        try:
            found = order_numbers().email_digest_for(merchant_id, normalise_order_number(number))
        except InvalidInput:
            continue
        if found is None:
            continue
        order_id, owner = found
        if sender is not None and owner == sender:
            order = store.get_order(merchant_id, order_id)
            if order is not None:
                return order, tuple(mentioned)
        mentioned.append(order_id)
    for tracking_number in refs.tracking_numbers[:5]:
        for order_id, _shipment in tracking_store().shipments_for_tracking_number(merchant_id, tracking_number)[:1]:
            order = store.get_order(merchant_id, order_id)
            if order is not None and _same_address(order.recipient, incoming.email):
                return order, tuple(mentioned)
            mentioned.append(order_id)
    if incoming.email and not refs.order_numbers and not refs.tracking_numbers and not incoming.named_order:
        return _senders_newest_order(merchant_id, incoming.email), tuple(mentioned)
    return None, tuple(dict.fromkeys(mentioned))


def _senders_newest_order(merchant_id: str, email: str) -> Order | None:
    """The sender's newest order when the message names none: guest checkouts are keyed by their
    address (Customer.customer_id), so the address finds them; a storefront's own customer ids
    do not come from an address, and those customers are asked for the number by a person."""
    from ..storage.orders import newest_orders

    try:
        guest = Customer(email=email).customer_id()
    except ValueError:
        return None
    for order in newest_orders(merchant_id, guest, limit=1):
        if _same_address(order.recipient, email):
            return order
    return None


# --- the automated answer ---------------------------------------------------------------------


def _mail_domain(merchant_id: str) -> str:
    from ..config import settings
    from ..services import merchant_store

    domain = settings().support_mail_domain
    if domain:
        return domain
    merchant = merchant_store().get(merchant_id)
    return merchant.branding.from_email.rpartition("@")[2] if merchant else "support.invalid"


def reply_address(merchant_id: str) -> str | None:
    """The conversation's inbound address (mail to it comes back through support_inbound)."""
    from ..config import settings

    domain = settings().support_mail_domain
    return f"{merchant_id}@{domain}" if domain else None


def outbound_message_id(conversation_id: str, message_id: str, merchant_id: str) -> str:
    return f"<{conversation_id}.{message_id}@{_mail_domain(merchant_id)}>"


def _thread_headers(messages: list[SupportMessage]) -> tuple[str | None, list[str]]:
    """In-Reply-To (the newest message with a Message-ID) and References (all of them, oldest first)."""
    from ..messaging.requests import MESSAGE_ID

    # Only ids safe in a header we write (a customer's odd Message-ID is kept, not echoed).
    ids = [m.email_message_id for m in messages if m.email_message_id and MESSAGE_ID.match(m.email_message_id)]
    return (ids[-1] if ids else None), list(dict.fromkeys(ids))[-20:]


def email_request(conversation: Conversation, reply: SupportMessage, *, variant: str, order: Order | None,
                  history: list[SupportMessage], answer=None, order_link: str | None, now: datetime) -> EmailRequest:
    in_reply_to, references = _thread_headers(history)
    support = SupportReply(
        conversation_id=conversation.conversation_id, message_id=reply.email_message_id,
        in_reply_to=in_reply_to, references=references, automated=reply.author is Author.AUTOMATION,
        reply_to=reply_address(conversation.merchant_id), subject=conversation.subject,
        shipments=list(answer.shipments) if answer else [], return_items=list(answer.return_items) if answer else [],
        start_return_url=answer.start_return_url if answer else None, refund=answer.refund if answer else None,
        text=reply.text if variant in ("merchant_reply", "faq") else None, author_name=reply.author_name)
    fields: dict = dict(kind="support_reply", variant=variant, merchant_id=conversation.merchant_id,
                        ref=f"{conversation.conversation_id}.{reply.message_id}",
                        recipient=conversation.customer_email, locale=conversation.language,
                        requested_at=now, support=support, order_page_url=order_link)
    if order is not None:
        fields.update(order=order, timezone=order.customer.timezone, locale=conversation.language or order.customer.locale)
    else:
        fields["customer"] = Customer(email=conversation.customer_email, first_name=conversation.customer_name)
    return EmailRequest(**fields)


def _why_not(conversation: Conversation, incoming: Incoming, match: IntentMatch, order: Order | None,
             now: datetime) -> str | None:
    """None when we may try an automated answer; else why a person (or nobody) answers."""
    blocked = model.may_auto_reply(conversation, now=now, automated=incoming.automated)
    if blocked:
        return blocked
    if incoming.problems:
        return "mail_problem"
    if match.intent is Intent.THANKS and not match.angry:
        return "no_reply_needed"
    if needs_human(match):
        return "needs_human"
    if order is None:
        return "no_order_matched"
    return None


# --- receiving ----------------------------------------------------------------------------------


def _known_conversation(incoming: Incoming) -> Conversation | None:
    from ..services import support_store

    store = support_store()
    ids = [mid for mid in (incoming.in_reply_to, *incoming.references) if mid]
    if not ids:
        return None
    found = store.conversations_for(incoming.merchant_id, ids[-50:])
    for mid in reversed(ids):  # the newest reference first
        if mid in found:
            conversation = store.get(incoming.merchant_id, found[mid])
            if conversation is not None and _same_address(conversation.customer_email, incoming.email):
                return conversation
    return None


def _publish(requests: tuple[EmailRequest, ...]) -> None:
    from ..services import outbound_email_queue

    for request in requests:
        outbound_email_queue().publish(request.model_dump_json(), kind=request.kind, merchant_id=request.merchant_id)


def _replay(incoming: Incoming, conversation_id: str, message_id: str) -> Received | None:
    """A redelivered message: what it wrote, its reply re-published (the sender's ledger dedupes)."""
    from ..services import support_store

    found = support_store().thread(incoming.merchant_id, conversation_id, consistent=True)
    if found is None:
        return None
    conversation, stored = found
    inbound = next((s.message for s in stored if s.message.message_id == message_id), None)
    if inbound is None:
        return None
    reply_id = model.stable_id(message_id, "auto")
    reply = next((s for s in stored if s.message.message_id == reply_id), None)
    requests = (EmailRequest.model_validate_json(reply.outbox),) if reply and reply.outbox else ()
    _publish(requests)
    from .forward import forward

    forward(conversation, inbound, inbound.created_at)  # again: the send ledger forwards it once
    if stored and stored[0].message.message_id == message_id and conversation.source is model.Source.CUSTOMER:
        # This message opened the conversation: announce it again (the webhook's delivered marker
        # POSTs it once), in case the first attempt stopped between the write and the queue.
        from .webhook import announce_created

        announce_created(conversation, first_message=inbound.text, auto_answered=bool(requests))
    return Received(conversation, inbound, None, auto_answered=bool(requests),
                    why_not_answered=None if requests else "duplicate", duplicate=True,
                    reply=reply.message if reply else None, requests=requests)


def receive_message(incoming: Incoming, now: datetime) -> Received:
    from ..services import support_store
    from ..storage.support import AlreadyRecorded, StaleConversation, StoredMessage, Write

    store = support_store()
    seen = store.receipt(incoming.merchant_id, incoming.identity)
    if seen is not None:
        replayed = _replay(incoming, *seen)
        if replayed is not None:
            return replayed
    order, mentioned = match_order(incoming.merchant_id, incoming)
    match = detect_intent(incoming.text, incoming.language)
    message_id = model.stable_id(incoming.merchant_id, incoming.identity)
    flags = ((f"automated:{incoming.automated}",) if incoming.automated else ()) + incoming.problems
    for attempt in range(MAX_SAVE_ATTEMPTS):
        existing = _known_conversation(incoming)
        if existing is None and order is not None:
            # The conversation a tracking problem opened for this order (support/proactive.py).
            from .proactive import joinable

            existing = joinable(incoming.merchant_id, order.order_id)
            if existing is not None and existing.messages == 0:
                # Its subject says why we opened it ("exception: <code>"), for the merchant; the
                # customer's reply must read "Re: <what they wrote>".
                existing = existing.model_copy(update={"subject": incoming.subject})
        if existing is None:
            conversation = model.start(
                conversation_id=model.conversation_id_for(now, f"{incoming.merchant_id}\x1f{incoming.identity}"),
                merchant_id=incoming.merchant_id, channel=incoming.channel, now=now,
                customer_email=incoming.email, customer_name=incoming.name, subject=incoming.subject)
        else:
            conversation = existing
        why_not = _why_not(conversation, incoming, match, order, now)
        conversation = model.customer_wrote(conversation, now=now, intent=match.intent.value,
                                            confidence=match.confidence, angry=match.angry,
                                            language=match.language, needs_human=True)
        updates: dict = {"mentioned_orders": tuple(dict.fromkeys(conversation.mentioned_orders + mentioned))[:20]}
        if order is not None and conversation.order_id is None:
            updates.update(order_id=order.order_id, customer_id=order.customer.customer_id())
        if incoming.name and not conversation.customer_name:
            updates["customer_name"] = incoming.name
        conversation = conversation.model_copy(update=updates)
        if order is None and conversation.order_id:  # matched by an earlier message of the thread
            from ..services import order_store

            order = order_store().get_order(incoming.merchant_id, conversation.order_id)
            if why_not == "no_order_matched" and order is not None:
                why_not = None
        inbound = SupportMessage(
            message_id=message_id, conversation_id=conversation.conversation_id, merchant_id=incoming.merchant_id,
            direction=Direction.IN, author=Author.CUSTOMER, text=incoming.text[:model.MAX_TEXT],
            subject=incoming.subject[:500], created_at=now, attachments=incoming.attachments, raw_key=incoming.raw_key,
            email_message_id=incoming.email_message_id, in_reply_to=incoming.in_reply_to,
            references=incoming.references[-20:], flags=flags, intent=match.intent.value,
            confidence=match.confidence, language=match.language, author_name=incoming.name)
        messages = [StoredMessage(inbound)]
        thread_ids = [(inbound.email_message_id, "in")] if inbound.email_message_id else []
        reply: SupportMessage | None = None
        requests: tuple[EmailRequest, ...] = ()
        if why_not is None:
            reply, request = _automated_reply(conversation, inbound, match, order, existing, now)
            if reply is None or request is None:
                why_not = "no_answer_in_data"
            else:
                conversation = model.auto_replied(conversation, now=now)
                messages.append(StoredMessage(reply, request.model_dump_json()))
                thread_ids.append((reply.email_message_id, "out"))
                requests = (request,)
        if why_not is not None:
            # A person answers, with the order attached (conversation.order_id), unless nothing is asked.
            human = why_not != "no_reply_needed"
            conversation = conversation.model_copy(update={"needs_human": human})
            messages[0] = StoredMessage(inbound.model_copy(update={
                "flags": inbound.flags + (("needs_human",) if human else ()) + (f"not_answered:{why_not}",)}))
        try:
            store.record(Write(conversation, None if existing is None else existing.revision, tuple(messages),
                               tuple(thread_ids), receipt=incoming.identity, receipt_message_id=message_id,
                               previous=existing))
        except AlreadyRecorded:
            seen = store.receipt(incoming.merchant_id, incoming.identity)
            replayed = _replay(incoming, *seen) if seen else None
            if replayed is not None:
                return replayed
            raise
        except StaleConversation:
            if attempt + 1 == MAX_SAVE_ATTEMPTS:
                raise
            continue
        _publish(requests)
        from .forward import forward

        forward(conversation, messages[0].message, now)  # to the merchant's helpdesk, if they set one
        if existing is None:  # a new conversation: the merchant's systems hear of it (support/webhook.py)
            from .webhook import announce_created

            announce_created(conversation, first_message=inbound.text, auto_answered=bool(requests))
        return Received(conversation, messages[0].message, match, auto_answered=bool(requests), why_not_answered=why_not,
                        reply=reply, requests=requests)
    raise AssertionError("unreachable")


def _automated_reply(conversation: Conversation, inbound: SupportMessage, match: IntentMatch, order: Order,
                     existing: Conversation | None, now: datetime) -> tuple[SupportMessage | None, EmailRequest | None]:
    from ..messaging.links import customer_order_link
    from ..services import support_store
    from .replies import grounded_answer

    link = customer_order_link(conversation.merchant_id, order.order_id, now)
    answer = grounded_answer(match.intent, conversation.merchant_id, order, now, link)
    if answer is None:
        return None, None
    history: list[SupportMessage] = []
    if existing is not None:
        found = support_store().thread(conversation.merchant_id, conversation.conversation_id)
        history = [s.message for s in found[1]] if found else []
    history.append(inbound)
    reply_id = model.stable_id(inbound.message_id, "auto")
    reply = SupportMessage(
        message_id=reply_id, conversation_id=conversation.conversation_id, merchant_id=conversation.merchant_id,
        direction=Direction.OUT, author=Author.AUTOMATION, subject=conversation.subject, created_at=now,
        email_message_id=outbound_message_id(conversation.conversation_id, reply_id, conversation.merchant_id),
        in_reply_to=inbound.email_message_id, flags=("auto_reply", f"answer:{answer.variant}"),
        intent=match.intent.value, language=conversation.language)
    request = email_request(conversation, reply, variant=answer.variant, order=order, history=history,
                            answer=answer, order_link=link, now=now)
    return reply, request


# --- the merchant's hand-off -------------------------------------------------------------------


def thread_or_404(merchant_id: str, conversation_id: str, consistent: bool = False):
    from ..services import support_store

    found = support_store().thread(merchant_id, conversation_id, consistent=consistent)
    if found is None:
        raise NotFound(f"conversation {conversation_id} not found", field="conversation_id")
    return found


def reply(merchant_id: str, conversation_id: str, text: str, author_name: str | None, client_key: str,
          now: datetime) -> tuple[Conversation, SupportMessage]:
    """The merchant's answer: stored, emailed threaded under the customer's last message, and the
    conversation waits on the customer. The same client_key twice sends once."""
    from ..services import order_store, support_store
    from ..storage.support import AlreadyRecorded, StaleConversation, StoredMessage, Write

    store = support_store()
    identity = f"reply\x1f{conversation_id}\x1f{client_key}"
    for attempt in range(MAX_SAVE_ATTEMPTS):
        conversation, stored = thread_or_404(merchant_id, conversation_id, consistent=True)
        message_id = model.stable_id(merchant_id, identity)
        done = next((s for s in stored if s.message.message_id == message_id), None)
        if done is not None:
            if done.outbox:
                _publish((EmailRequest.model_validate_json(done.outbox),))
            return conversation, done.message
        if not conversation.customer_email:
            from ..errors import NotAllowed

            raise NotAllowed("this conversation has no customer address to answer", field="conversation_id")
        message = SupportMessage(
            message_id=message_id, conversation_id=conversation_id, merchant_id=merchant_id,
            direction=Direction.OUT, author=Author.MERCHANT, text=text, subject=conversation.subject,
            created_at=now, email_message_id=outbound_message_id(conversation_id, message_id, merchant_id),
            author_name=author_name, language=conversation.language)
        history = [s.message for s in stored]
        message = message.model_copy(update={"in_reply_to": _thread_headers(history)[0]})
        order = order_store().get_order(merchant_id, conversation.order_id) if conversation.order_id else None
        request = email_request(conversation, message, variant="merchant_reply", order=order, history=history,
                                order_link=None, now=now)
        updated = model.merchant_replied(conversation, now=now)
        try:
            store.record(Write(updated, conversation.revision, (StoredMessage(message, request.model_dump_json()),),
                               ((message.email_message_id, "out"),), receipt=identity, receipt_message_id=message_id,
                               previous=conversation))
        except (StaleConversation, AlreadyRecorded):
            if attempt + 1 == MAX_SAVE_ATTEMPTS:
                raise
            continue
        _publish((request,))
        return updated, message
    raise AssertionError("unreachable")


UNSET = object()


def set_status(merchant_id: str, conversation_id: str, status: str | None, now: datetime,
               assignee: object = UNSET) -> Conversation:
    """Resolve, reopen, and/or (un)assign; the same request twice changes nothing more.

    A resolution writes its CSAT survey (support/csat.py) in the same transaction and sends it
    once: the survey message is keyed by the resolution, and a repeated resolve re-publishes the
    stored request (the email sender's ledger sends it once)."""
    from ..services import support_store
    from ..storage.support import StaleConversation, StoredMessage, Write

    store = support_store()
    resolving = status == model.Status.RESOLVED.value
    for attempt in range(MAX_SAVE_ATTEMPTS):
        if resolving:  # the thread: its Message-IDs thread the survey, and a repeat finds it
            conversation, stored = thread_or_404(merchant_id, conversation_id, consistent=True)
        else:
            conversation, stored = store.get(merchant_id, conversation_id), []
        if conversation is None:
            raise NotFound(f"conversation {conversation_id} not found", field="conversation_id")
        updated = model.change_status(conversation, status, now=now) if status is not None else conversation
        if assignee is not UNSET:
            updated = model.assign(updated, assignee, now=now)  # type: ignore[arg-type]
        if resolving and conversation.status is model.Status.RESOLVED:
            _republish_survey(conversation, stored)
        if updated == conversation:
            return conversation
        messages: tuple[StoredMessage, ...] = ()
        thread_ids: tuple[tuple[str, str], ...] = ()
        requests: tuple[EmailRequest, ...] = ()
        if updated.status is model.Status.RESOLVED and conversation.status is not model.Status.RESOLVED:
            survey = _survey(updated, [s.message for s in stored], now)
            if survey is not None:
                message, request = survey
                messages, thread_ids, requests = ((StoredMessage(message, request.model_dump_json()),),
                                                  ((message.email_message_id, "out"),), (request,))
        try:
            store.record(Write(updated, conversation.revision, messages, thread_ids, previous=conversation))
        except StaleConversation:
            if attempt + 1 == MAX_SAVE_ATTEMPTS:
                raise
            continue
        _publish(requests)
        return updated.model_copy(update={"revision": conversation.revision + 1})
    raise AssertionError("unreachable")


def _survey(conversation: Conversation, history: list[SupportMessage], now: datetime):
    from ..services import order_store
    from .csat import survey_email

    order = order_store().get_order(conversation.merchant_id, conversation.order_id) if conversation.order_id else None
    return survey_email(conversation, history, order, now)


def _republish_survey(conversation: Conversation, stored) -> None:
    """A repeated resolve: the survey this resolution stored goes out again (sent once by the ledger)."""
    from .csat import survey_message_id

    if conversation.resolved_at is None:
        return
    wanted = survey_message_id(conversation)
    found = next((s for s in stored if s.message.message_id == wanted and s.outbox), None)
    if found is not None:
        _publish((EmailRequest.model_validate_json(found.outbox),))
