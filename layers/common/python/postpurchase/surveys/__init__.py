"""Post-purchase surveys: NPS, CSAT and single-choice questions a merchant defines, answered
from an email's one-click links or on the order page, counted as answers arrive."""
