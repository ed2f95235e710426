"""Feedback capture: one-tap ratings (1-5) with an optional comment, per order item."""
