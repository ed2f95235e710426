"""Customer support: what a message asks (intents), what it refers to (references), inbound
mail parsing and the merchant's FAQ. Pure Python; the conversations and AWS live elsewhere."""
