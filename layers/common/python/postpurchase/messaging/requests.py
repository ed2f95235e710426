"""What travels on the outbound-email queue: one request for one email to one customer."""
from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from ..orders.models import Customer, Email, Identifier, Order

# An RFC 5322 msg-id as we accept it in headers we write: printable ASCII, no space or brackets
# inside (a customer's Message-ID goes into In-Reply-To: nothing that could break the header).
MESSAGE_ID = re.compile(r"^<[!-;=?-~]{1,250}>$")

MessageKind = Literal["order_confirmation", "shipment_notice", "return_update",
                      # Scheduled (the communication calendar, postpurchase.messaging.schedule):
                      "review_request", "review_reminder", "birthday_offer", "anniversary", "win_back",
                      "campaign", "points_expiring",
                      # A post-purchase survey email (postpurchase.surveys.calendar).
                      "survey",
                      # An answer in a support conversation (postpurchase.support): automated or the merchant's.
                      "support_reply",
                      # The one-click CSAT survey of a resolved support conversation (support/csat.py).
                      "support_csat",
                      # A customer's message forwarded to the merchant's helpdesk (support/forward.py):
                      # merchant-facing, English, never gated by the customer's consent.
                      "support_forward"]
# Transactional mail is the service the customer paid for: never capped, never deferred.
TRANSACTIONAL_KINDS: frozenset[str] = frozenset({"order_confirmation", "shipment_notice", "return_update",
                                                  "support_reply", "support_forward"})
# Mail to the merchant's own staff, not to a customer: the customer's suppression and consent
# do not apply (functions/email_sender's gate lets them through).
MERCHANT_KINDS: frozenset[str] = frozenset({"support_forward"})
# One template family; the merchant's rules pick one (postpurchase.messaging.confirmation).
ConfirmationVariant = Literal["plain", "welcome", "reassuring", "enticing", "recommendations"]
# A shipment notice's variant is the notice kind (postpurchase.tracking.state.NoticeKind).
ShipmentNoticeVariant = Literal["shipped", "out_for_delivery", "delivered", "delayed", "attempt_failed",
                                "ready_for_pickup", "exception", "returned_to_sender"]
# One return notice per step that matters to the customer (postpurchase.returns.notices).
ReturnUpdateVariant = Literal["requested", "approved", "rejected", "received", "refunded", "credit_issued",
                              "exchange_shipped"]
# What a support reply answers with (postpurchase.support.replies): live parcel status, the return
# window, the refund's state, a FAQ entry, or the merchant's own words.
SupportReplyVariant = Literal["tracking", "return_window", "refund_status", "faq", "merchant_reply"]


class MerchantBranding(BaseModel):
    """What an email needs to look like the merchant's own."""

    model_config = ConfigDict(frozen=True)

    merchant_id: Identifier
    name: Annotated[str, Field(min_length=1, max_length=200)]
    from_email: Email
    reply_to: Email | None = None
    support_email: Email | None = None
    logo_url: str | None = None
    brand_color: Annotated[str, Field(pattern=r"^#[0-9a-fA-F]{6}$")] = "#1f6feb"
    default_locale: str = "en"
    website_url: str | None = None


class TimelineEntry(BaseModel):
    model_config = ConfigDict(frozen=True)

    occurred_at: datetime
    status: str  # postpurchase.tracking.model.TrackingStatus value
    description: str = ""  # the carrier's own words
    location: str | None = None


class ShipmentNotice(BaseModel):
    """What a tracking notice says about one parcel (the order itself is EmailRequest.order)."""

    model_config = ConfigDict(frozen=True)

    shipment_id: Identifier
    carrier: str
    tracking_number: str
    tracking_url: str | None = None
    status: str  # TrackingStatus value
    latest: TimelineEntry | None = None
    eta: datetime | None = None  # current estimate, when still meaningful
    original_eta: datetime | None = None
    eta_is_late: bool = False
    delivered_at: datetime | None = None
    signed_by: str | None = None
    items: list[dict] = []  # [{"sku", "quantity"}] in this parcel; titles come from the order


class ReturnNoticeLine(BaseModel):
    model_config = ConfigDict(frozen=True)

    sku: str
    quantity: int  # units asked to return
    reason: str  # postpurchase.returns.policy.ReturnReason value
    resolution: str  # Resolution value the customer asked for
    accepted_quantity: int | None = None  # after inspection


class ReturnNotice(BaseModel):
    """What a return notice says about one RMA (the order itself is EmailRequest.order).

    Everything is data; the sentences come from the templates. Fields that do not apply to a
    variant are None / empty."""

    model_config = ConfigDict(frozen=True)

    rma_id: Identifier
    status: str  # postpurchase.returns.rma.RmaStatus value
    lines: list[ReturnNoticeLine]
    requested_at: datetime
    # approved: how to send the parcel back, and by when
    ship_by: datetime | None = None
    label_provided: bool = False
    carrier: str | None = None
    tracking_number: str | None = None
    label_url: str | None = None
    drop_off_code: str | None = None
    drop_off_options: list[str] = []  # postpurchase.returns.policy.DropOffOption values
    conditions: list[str] = []  # Condition values the items must meet
    processing_days: int | None = None  # from receipt to decision
    refund_days: int | None = None  # from approval to money back
    # rejected
    rejection_reason: str | None = None  # the merchant's own words
    # received / resolved
    inspection_outcome: str | None = None  # accepted | partially_accepted | rejected
    amount: Decimal | None = None  # refund or store-credit amount, in the order's currency
    credit_code: str | None = None  # store-credit or gift-card code, when the merchant sent one
    exchange_tracking_number: str | None = None
    exchange_carrier: str | None = None


class OfferNotice(BaseModel):
    """A single-use code the email hands over (birthday, anniversary, win-back, campaign,
    feedback thank-you, the enticing confirmation). Issued by postpurchase.rewards."""

    model_config = ConfigDict(frozen=True)

    code: str
    discount_type: Literal["percent", "amount"]
    value: Decimal  # percent (e.g. 15) or an amount in `currency`
    currency: str | None = None  # for amount discounts and min_spend
    min_spend: Decimal | None = None
    expires_at: datetime | None = None


class ReferralInvite(BaseModel):
    """The customer's own referral code, to share (postpurchase.rewards.referrals)."""

    model_config = ConfigDict(frozen=True)

    code: str
    share_url: str
    friend_offer: OfferNotice | None = None  # what the friend gets on a first order (as a template for wording)


class ProductCard(BaseModel):
    """One product to show ("you may also like"), from the merchant's catalog."""

    model_config = ConfigDict(frozen=True)

    product_id: str
    title: str
    price: Decimal | None = None
    currency: str | None = None
    image_url: str | None = None
    product_url: str | None = None


class ReviewItem(BaseModel):
    """One product the customer is asked to rate; rating_url + "?rating=N" records N (1-5)."""

    model_config = ConfigDict(frozen=True)

    sku: str
    title: str
    image_url: str | None = None
    rating_url: str


class PointsNotice(BaseModel):
    """Loyalty points about to expire (postpurchase.rewards.loyalty)."""

    model_config = ConfigDict(frozen=True)

    expiring_points: int
    expires_at: datetime
    balance: int


class CampaignNotice(BaseModel):
    """A merchant campaign for a special date; the occasion picks the translated wording."""

    model_config = ConfigDict(frozen=True)

    campaign_id: Identifier
    occasion: Literal["valentines_day", "mothers_day", "black_friday", "new_year", "ramadan", "seasonal_sale"]
    shop_url: str | None = None


class SurveyScore(BaseModel):
    model_config = ConfigDict(frozen=True)

    value: int
    url: str  # signed: recording this score is one click


class SurveyNotice(BaseModel):
    """A survey email's first question, with one signed link per score (postpurchase.surveys).

    The text comes per language as the merchant gave it; the rendering picks the email's
    language, else the survey's default language."""

    model_config = ConfigDict(frozen=True)

    survey_id: str
    kind: Literal["nps", "csat", "single_choice"]
    text: dict[str, str]
    default_language: str
    scores: list[SurveyScore] = []  # nps 0-10, csat 1-5; none for a single choice question
    page_url: str  # the survey page (every question)
class SupportReturnItem(BaseModel):
    model_config = ConfigDict(frozen=True)

    sku: str
    returnable: bool
    last_day: datetime | None = None  # the last day a return can be started


class SupportReply(BaseModel):
    """An answer in a support conversation: threading headers and what it says (data only; the
    sentences are in the support_reply templates, the merchant's own words in `text`)."""

    model_config = ConfigDict(frozen=True)

    conversation_id: str
    message_id: str  # this email's Message-ID, "<...@...>", kept so the customer's reply threads
    in_reply_to: str | None = None
    references: list[str] = []
    automated: bool = True  # Auto-Submitted: auto-replied
    reply_to: Email | None = None  # the conversation's inbound address, when mail is received
    subject: str = ""  # the customer's subject ("Re: " is added)
    shipments: list[ShipmentNotice] = []  # tracking: every parcel of the order
    return_items: list[SupportReturnItem] = []  # return_window
    start_return_url: str | None = None
    refund: ReturnNotice | None = None  # refund_status: the order's newest RMA
    text: str | None = None  # merchant_reply: their words; faq: the entry's answer
    author_name: str | None = None
    # Auto-Submitted when automated (RFC 3834): a survey is not an answer, a forward is forwarded.
    auto_submitted: Literal["auto-replied", "auto-generated", "auto-forwarded"] = "auto-replied"
    csat_scores: list[SurveyScore] = []  # support_csat: 1..5, each a signed one-click link
    answer_by: datetime | None = None  # support_csat: the last moment a score is recorded
    reply_to_name: str | None = None  # support_forward: the customer's name on Reply-To
    conversation_url: str | None = None  # support_forward: the conversation's thread

    @field_validator("message_id", "in_reply_to")
    @classmethod
    def _one_id(cls, value: str | None) -> str | None:
        if value is not None and not MESSAGE_ID.match(value):
            raise ValueError("must be a Message-ID such as <abc@example.com>")
        return value

    @field_validator("references")
    @classmethod
    def _ids(cls, value: list[str]) -> list[str]:
        return [cls._one_id(item) for item in value]  # type: ignore[misc]


class EmailRequest(BaseModel):
    """A request to send one message; (ledger partition, kind, ref) is its identity."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: MessageKind
    variant: ConfirmationVariant | ShipmentNoticeVariant | ReturnUpdateVariant | SupportReplyVariant = "plain"
    merchant_id: Identifier
    ref: Identifier
    recipient: Email
    locale: str | None = None  # the customer's; rendering falls back to the merchant's default
    timezone: str | None = None
    # Order-level messages carry the order; customer-level ones (birthday, anniversary,
    # win-back, campaign, points) carry the customer instead. One of the two is required.
    order: Order | None = None
    customer: Customer | None = None
    order_page_url: str | None = None
    requested_at: datetime
    shipment: ShipmentNotice | None = None
    return_notice: ReturnNotice | None = None
    offer: OfferNotice | None = None
    referral: ReferralInvite | None = None
    products: list[ProductCard] = []
    review_items: list[ReviewItem] = []
    points: PointsNotice | None = None
    campaign: CampaignNotice | None = None
    survey: SurveyNotice | None = None
    support: SupportReply | None = None
    # Marketing mail only: RFC 8058 one-click unsubscribe (POST) and the preferences page.
    unsubscribe_url: str | None = None
    preferences_url: str | None = None

    @classmethod
    def about_order(cls, order: Order, *, order_page_url: str | None, now: datetime, **fields: Any) -> "EmailRequest":
        """An order-level message: to the order's recipient, in the customer's locale and time zone,
        with the order and its page (the confirmation, shipment notices, return updates)."""
        return cls(recipient=order.recipient, locale=order.customer.locale, timezone=order.customer.timezone,
                   order=order, order_page_url=order_page_url, requested_at=now, **fields)

    @model_validator(mode="after")
    def _has_subject(self) -> "EmailRequest":
        if self.order is None and self.customer is None:
            raise ValueError("an email request needs its order or its customer")
        return self

    @property
    def is_marketing(self) -> bool:
        return self.kind not in TRANSACTIONAL_KINDS

    @property
    def recipient_customer(self) -> Customer:
        return self.customer if self.customer is not None else self.order.customer  # type: ignore[union-attr]

    @property
    def ledger_scope(self) -> tuple[Literal["order", "customer"], str]:
        """Where the send ledger keeps this email: under its order, or under its customer."""
        if self.order is not None:
            return "order", self.order.order_id
        return "customer", self.recipient_customer.customer_id()

    @property
    def message_key(self) -> str:
        # One email per (order, confirmation) and per (shipment, notice kind).
        if self.kind == "shipment_notice":
            return f"shipment_{self.variant}#{self.ref}"
        if self.kind == "return_update":
            return f"return_{self.variant}#{self.ref}"
        return f"{self.kind}#{self.ref}"


def kind_of(message_key: str) -> str:
    """The message kind of a send-ledger key (EmailRequest.message_key): `shipment_delivered#S1`
    -> shipment_notice, `return_approved#R-1` -> return_update, `birthday_offer#2027` -> itself."""
    head = message_key.split("#", 1)[0]
    if head.startswith("shipment_"):
        return "shipment_notice"
    if head.startswith("return_"):
        return "return_update"
    return head
