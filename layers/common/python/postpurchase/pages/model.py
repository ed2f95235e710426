"""What a customer page shows, as data: built by pages/build.py, rendered by pages/rendering.py.

Values are raw (Decimal, datetime, enum values); rendering formats them in the page's language
and the customer's time zone, and every sentence comes from the templates' catalogs.
"""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from pydantic import BaseModel, ConfigDict


class _Page(BaseModel):
    model_config = ConfigDict(frozen=True)


class Shop(_Page):
    merchant_id: str
    name: str
    logo_url: str | None = None
    brand_color: str = "#1f6feb"
    support_email: str | None = None
    website_url: str | None = None


class PageContext(_Page):
    """What every page shares: who it is for, in which language, and how to post back."""

    shop: Shop
    language: str  # the catalog language the page is in ("ar")
    locale: str | None = None  # the customer's locale for formatting ("ar-SA")
    timezone: str | None = None
    languages: list[str]  # offered in the language switcher
    now: datetime
    # The order link's token and the form token: every form on the page carries both.
    token: str | None = None
    csrf_token: str | None = None


class Address(_Page):
    lines: list[str]


class Item(_Page):
    sku: str
    title: str
    variant_title: str | None = None
    image_url: str | None = None
    product_url: str | None = None
    quantity: int
    unit_price: Decimal
    line_total: Decimal


class Totals(_Page):
    subtotal: Decimal
    shipping: Decimal
    tax: Decimal
    discount: Decimal
    total: Decimal


class TimelineStep(_Page):
    at: datetime
    status: str  # tracking.model.TrackingStatus value
    place: str | None = None
    description: str = ""


class Parcel(_Page):
    shipment_id: str
    carrier: str
    tracking_number: str
    tracking_url: str | None = None
    status: str  # TrackingStatus value
    eta: datetime | None = None  # the current estimate
    original_eta: datetime | None = None
    is_late: bool = False
    delivered_at: datetime | None = None
    timeline: list[TimelineStep]  # newest first
    items: list[Item]  # what this parcel carries


class Returnable(_Page):
    """One line of the order as the return form sees it (from eligibility)."""

    sku: str
    title: str
    variant_title: str | None = None
    image_url: str | None = None
    returnable: bool
    reason: str | None = None  # why not (window_closed, final_sale, ...)
    returnable_quantity: int
    last_day: date | None = None
    resolutions: list[str]  # returns.policy.Resolution values offered


class ReturnLine(_Page):
    sku: str
    title: str
    quantity: int
    reason: str  # ReturnReason value
    resolution: str  # Resolution value
    accepted_quantity: int | None = None


class ReturnStep(_Page):
    status: str  # returns.rma.RmaStatus value
    at: datetime
    by: str  # actor kind: customer | merchant | carrier | system


class ExistingReturn(_Page):
    rma_id: str
    status: str  # RmaStatus value
    requested_at: datetime
    lines: list[ReturnLine]
    history: list[ReturnStep]  # oldest first
    ship_by: datetime | None = None
    carrier: str | None = None
    tracking_number: str | None = None
    label_url: str | None = None
    drop_off_code: str | None = None
    rejection_reason: str | None = None
    resolution: str | None = None  # Resolution value, once resolved
    amount: Decimal | None = None
    can_cancel: bool = False  # the customer may withdraw it (before it ships)


class Faq(_Page):
    """The answers to "where is my order / how do I return / how long do refunds take",
    from the merchant's settings and the policy version the order was placed under."""

    window_days: int  # the default rule's window (0 = no returns)
    window_starts: str  # delivery | fulfilment | order
    label_provided: bool
    drop_off_options: list[str]  # DropOffOption values
    processing_days: int
    refund_days: int
    conditions: list[str]  # Condition values
    support_email: str | None = None
    # The merchant's own entries (PUT /v1/support/faq), in the page's language or the shop's default
    entries: list["FaqItem"] = []


class FaqItem(_Page):
    """One of the merchant's FAQ entries as the page shows it; `language` is the text's own
    (the shop's default when the entry has no translation in the page's language)."""

    entry_id: str
    language: str
    question: str
    answer: str


class ContactForm(_Page):
    """The order page's "message us" form as entered, and what was wrong (required | invalid)."""

    text: str = ""
    error: str | None = None


class ReturnForm(_Page):
    """What the customer entered in the return form, and what was wrong with it (re-rendered)."""

    quantities: dict[str, int] = {}  # sku -> quantity asked
    reason: str | None = None
    resolution: str | None = None
    comment: str = ""
    errors: dict[str, str] = {}  # field ("items", "reason", "resolution", "comment", "items.<sku>") -> error code


class OrderPage(_Page):
    context: PageContext
    order_id: str
    order_number: str
    placed_at: datetime
    status: str  # placed | cancelled
    customer_name: str | None = None
    email: str
    shipping_address: Address | None = None
    currency: str
    financial_status: str | None = None
    items: list[Item]
    totals: Totals
    parcels: list[Parcel]
    returnables: list[Returnable]
    returns: list[ExistingReturn]
    reasons: list[str]  # ReturnReason values, in the order the form lists them
    faq: Faq
    form: ReturnForm = ReturnForm()
    # A notice after a redirect: return_requested | return_cancelled | preferences_saved
    notice: str | None = None
    # A fresh id per rendered return form (hidden input `form_id`): submitting the same form
    # twice makes one return.
    form_id: str | None = None
    preferences_url: str | None = None  # the customer's email preferences page
    survey_url: str | None = None  # a post-purchase survey to answer (postpurchase.surveys.invitation)
    contact: ContactForm = ContactForm()  # support: a question about this order (support/service.py)


class LookupContactForm(_Page):
    """The lookup page's "message us" form as entered (pages/lookup_contact.py): field -> error
    code (required | invalid | invalid_email | too_many_attempts | expired; "form" for the whole form)."""

    email: str = ""
    order_number: str = ""
    text: str = ""
    errors: dict[str, str] = {}
    # Per render: "{issued epoch}.{random}" and its HMAC (security.tokens.form_token); the nonce is
    # also the message's identity, so a double submit is one message.
    form_nonce: str | None = None
    csrf_token: str | None = None


class LookupPage(_Page):
    context: PageContext
    order_number: str = ""
    email: str = ""
    # not_found (one message whichever was wrong) | too_many_attempts | invalid_link | expired_link
    error: str | None = None
    contact: LookupContactForm = LookupContactForm()
    notice: str | None = None  # message_sent (after the contact form; the same whatever matched)


class PreferenceKind(_Page):
    kind: str  # message kind (review_request, birthday_offer, ...)
    subscribed: bool


class PreferencesPage(_Page):
    context: PageContext
    order_id: str
    email: str
    kinds: list[PreferenceKind]  # marketing kinds the customer can turn off one by one
    unsubscribed_all: bool  # no marketing at all (transactional email is never turned off)
    language: str | None = None  # the customer's chosen email language, if any
    notice: str | None = None  # preferences_saved
    # Whom the preferences link is for: the form posts it back (hidden `customer`) and the
    # language switcher keeps it, as the handlers read it with the token.
    customer_id: str | None = None


class UnsubscribePage(_Page):
    """The List-Unsubscribe link's page: a one-click button (GET), or the confirmation (after the POST)."""

    context: PageContext
    email: str
    kind: str  # a marketing kind, or "all"
    done: bool  # True once the kind (or all marketing) is off
    action: str  # where the button POSTs (the same link)
    preferences_url: str | None = None  # the full preferences page, for finer choices


class ErrorPage(_Page):
    context: PageContext
    # not_found | invalid_link (with the lookup form offered) | bad_request | server_error
    error: str
