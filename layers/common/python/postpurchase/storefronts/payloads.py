"""Shared parsing for storefront webhook bodies.

- JSON is parsed with `parse_float=Decimal`: a number never passes through a float, and
  integers (Shopify ids exceed 2**53) stay exact Python ints.
- Payload models name fields as the storefront does, so a pydantic error already carries the
  storefront's path; errors raised while building our canonical models are renamed back to
  the storefront's field through a small per-storefront table.
- Every failure leaves as `MalformedJson` or `InvalidInput(message, field)`.
"""
from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from decimal import ROUND_HALF_UP, Decimal
from typing import Annotated, Any, TypeVar

from pydantic import BaseModel, BeforeValidator, ConfigDict, TypeAdapter, ValidationError

from ..errors import InvalidInput, MalformedJson
from ..orders.models import Identifier

_DECIMAL_TEXT = re.compile(r"^-?\d+(\.\d+)?$")


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not allowed")


def parse_object(raw_body: bytes) -> dict[str, Any]:
    """The body as a JSON object, numbers with a fraction as Decimal."""
    try:
        data = json.loads(raw_body, parse_float=Decimal, parse_constant=_reject_constant)
    except (ValueError, TypeError, RecursionError):  # JSONDecodeError/UnicodeDecodeError are ValueErrors
        raise MalformedJson("request body is not valid JSON") from None
    if not isinstance(data, dict):
        raise MalformedJson("request body must be a JSON object")
    return data


# --- field types for payload models --------------------------------------------------------


def _id_text(value: object) -> object:
    if isinstance(value, bool):
        raise ValueError("must be an integer or a string id")
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return value
    # A number with a fraction or an exponent is not an id, and may already have lost digits.
    raise ValueError("must be an integer or a string id")


def _money_text(value: object) -> object:
    if isinstance(value, bool):
        raise ValueError('must be a decimal amount such as "12.50"')
    if isinstance(value, int):
        return str(value)
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError('must be a decimal amount such as "12.50"')
        return format(value, "f")  # 1E+2 -> "100": our Money wants plain digits
    if isinstance(value, str):
        return value.strip()
    raise ValueError('must be a decimal amount such as "12.50"')


def _loose_text(value: object) -> object:
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return value


StorefrontId = Annotated[str, BeforeValidator(_id_text)]
"""A storefront id: a JSON integer (exact) or string, always carried on as a string."""

MoneyText = Annotated[str, BeforeValidator(_money_text)]
"""An amount as a decimal string; JSON numbers (Decimal via parse_float, or int) accepted."""

LooseText = Annotated[str, BeforeValidator(_loose_text)]
"""Text that some stores send as a number (WooCommerce order `number`)."""


class PayloadModel(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


M = TypeVar("M", bound=BaseModel)

_identifier: TypeAdapter[str] = TypeAdapter(Identifier)


def blank(value: str | None) -> str | None:
    """None for None or whitespace-only text, the stripped text otherwise."""
    if value is None:
        return None
    value = value.strip()
    return value or None


# --- errors ----------------------------------------------------------------------------------


def field_path(loc: Sequence[int | str]) -> str | None:
    """('line_items', 0, 'quantity') -> 'line_items[0].quantity'."""
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += ("." if path else "") + str(part)
    return path or None


def rename_path(path: str, renames: Mapping[str, str]) -> str:
    """Map a canonical path to the storefront's, by its longest mapped prefix.

    Keys use `[]` for any index: {"items[].price": "line_items[].subtotal"} turns
    "items[3].price" into "line_items[3].subtotal". Unmapped paths come back unchanged.
    """
    indices = re.findall(r"\[(\d+)\]", path)
    template = re.sub(r"\[\d+\]", "[]", path)
    candidate = template
    mapped = template
    while candidate:
        if candidate in renames:
            mapped = renames[candidate] + template[len(candidate):]
            break
        cut = max(candidate.rfind("."), candidate.rfind("["))
        if cut <= 0:
            break
        candidate = candidate[:cut]
    remaining = iter(indices)
    return re.sub(r"\[\]", lambda _: f"[{next(remaining, '')}]", mapped)


def _message(error: Mapping[str, Any]) -> str:
    message = str(error.get("msg", "is invalid"))
    for prefix in ("Value error, ", "Assertion failed, "):
        if message.startswith(prefix):
            message = message[len(prefix):]
    return message


def invalid_input(exc: ValidationError, renames: Mapping[str, str] | None = None) -> InvalidInput:
    """The first error of `exc` as InvalidInput, its field in the storefront's names."""
    errors = exc.errors(include_url=False, include_input=False)
    if not errors:  # pragma: no cover - pydantic always reports at least one
        return InvalidInput("payload is invalid")
    error = errors[0]
    path = field_path(error["loc"])
    if path is not None and renames:
        path = rename_path(path, renames)
    return InvalidInput(_message(error), field=path)


def validate_payload(model: type[M], data: Any) -> M:
    """`data` as a storefront payload model; errors name the storefront's fields."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise invalid_input(exc) from None


def build(model: type[M], data: Mapping[str, Any], renames: Mapping[str, str]) -> M:
    """A canonical model from `data`; errors renamed to the storefront's fields."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise invalid_input(exc, renames) from None


def identifier(value: str, field: str) -> str:
    """`value` checked as one of our Identifiers (ids end up inside table keys)."""
    try:
        return _identifier.validate_python(value)
    except ValidationError as exc:
        raise InvalidInput(_message(exc.errors(include_url=False)[0]), field=field) from None


def decimal_amount(text: str, field: str) -> Decimal:
    """A validated money string as Decimal, for sums we compute ourselves."""
    if not _DECIMAL_TEXT.match(text):
        raise InvalidInput('must be a decimal amount such as "12.50"', field=field)
    return Decimal(text)


def unit_price(line_total: Decimal, quantity: int) -> Decimal:
    """line_total / quantity, kept to the line total's decimal places (at least two)."""
    exponent = min(int(line_total.as_tuple().exponent), -2)
    return (line_total / quantity).quantize(Decimal(1).scaleb(exponent), rounding=ROUND_HALF_UP)
