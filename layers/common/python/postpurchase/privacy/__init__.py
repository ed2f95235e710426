"""Customers' data rights: export and erasure (storage/privacy.py), requested by storefronts'
compliance webhooks (the order-events queue) or by the operator (postpurchase.admin)."""
