"""What messaging asks of recommendations ("you may also like" emails use the API's function)."""
from __future__ import annotations

from typing import Protocol

from ..messaging.requests import ProductCard
from ..orders.models import Order


class Recommender(Protocol):
    def for_customer(self, merchant_id: str, customer_id: str, *, limit: int = 4,
                     order: Order | None = None) -> list[ProductCard]:
        """Products to suggest, never one the customer bought or returned. With `order`, the
        suggestions complement that order (it may not be stored yet)."""
        ...
