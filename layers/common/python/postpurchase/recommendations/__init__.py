"""Complementary products: merchant rules plus co-purchase counts from the merchant's own orders."""
