"""Storefront reviews: the published side of the customers' ratings (feedback/), with text, photos,
moderation, the merchant's reply, public reads (JSON, JSON-LD) and the Google reviews feed."""
