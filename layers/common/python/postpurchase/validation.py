"""Turning request bytes into validated models, with errors that name the field at fault."""
from __future__ import annotations

import json
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

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
