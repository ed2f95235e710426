"""Turning request bytes into validated models, with errors that name the field at fault."""
from __future__ import annotations

import json
import re
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any, TypeVar

from pydantic import BaseModel, BeforeValidator, ValidationError

from .errors import InvalidInput, MalformedJson

M = TypeVar("M", bound=BaseModel)


def parse_json_object(raw: bytes | str | None) -> dict[str, Any]:
    if not raw:
        raise MalformedJson("request body is empty; expected a JSON object")
    try:
        # Numbers stay floats here on purpose: money must arrive as a decimal string, and the
        # model refuses a float (a Decimal would pass). Python ints are exact (Shopify ids).
        value = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as error:
        raise MalformedJson(f"request body is not valid JSON: {error}") from None
    except RecursionError:  # e.g. 100,000 nested '[': the decoder gives up, so do we
        raise MalformedJson("request body is nested too deeply") from None
    if not isinstance(value, dict):
        raise MalformedJson("request body must be a JSON object")
    return value


def field_path(location: tuple[int | str, ...]) -> str:
    path = ""
    for part in location:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else str(part)
    return path


def invalid_input(error: ValidationError, prefix: str = "") -> InvalidInput:
    first = error.errors()[0]
    # Tagged unions and function validators add their own names to the location; drop them.
    location = tuple(part for part in first["loc"] if not (isinstance(part, str) and part.startswith("function-")))
    field = field_path(location)
    if prefix:
        field = f"{prefix}.{field}" if field else prefix
    message = first["msg"].removeprefix("Value error, ")
    return InvalidInput(f"{field or 'body'}: {message}", field=field or None)


def validate(model: type[M], data: Any, prefix: str = "") -> M:
    try:
        return model.model_validate(data)
    except ValidationError as error:
        raise invalid_input(error, prefix) from None


_PLAIN_DECIMAL = re.compile(r"^-?[0-9]{1,12}(\.[0-9]{1,6})?$")


def _plain_decimal(value: object) -> Decimal:
    """A setting's number as a plain decimal: no exponent ("1e999999999" would make every later
    quantize or comparison a bomb), no NaN/Infinity, ASCII digits, at most 12 + 6 digits."""
    if isinstance(value, bool):
        raise ValueError('must be a decimal such as "0.05"')
    if isinstance(value, Decimal):
        text = format(value, "f") if value.is_finite() and abs(value.adjusted()) <= 12 else "x"
    elif isinstance(value, (int, float, str)):
        text = str(value).strip()
    else:
        raise ValueError('must be a decimal such as "0.05"')
    if not _PLAIN_DECIMAL.match(text):
        raise ValueError('must be a decimal such as "0.05" (no exponent, at most 12 digits before the point)')
    try:
        number = Decimal(text)
    except InvalidOperation:  # pragma: no cover - the pattern excludes it
        raise ValueError('must be a decimal such as "0.05"') from None
    return number.copy_abs() if number == 0 else number  # no "-0"


PlainDecimal = Annotated[Decimal, BeforeValidator(_plain_decimal)]
