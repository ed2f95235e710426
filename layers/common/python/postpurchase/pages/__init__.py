"""The customer's pages (My Account without an account): order, tracking, returns, preferences."""
