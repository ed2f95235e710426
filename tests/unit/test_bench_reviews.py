"""The bench's reviews section (infra/bench_reviews.py): its report, from measured counts (pure)."""
from collections import Counter

from infra.bench_reviews import EXPECTED, ReviewsResult, render


def test_the_section_reports_one_query_per_public_read():
    result = ReviewsResult(reviews=4, published=3, rate_requests=Counter({("DynamoDB", "BatchGetItem"): 4,
                                                                         ("DynamoDB", "TransactWriteItems"): 8}))
    for label in ("page, newest", "summary"):
        result.reads[label] = Counter(EXPECTED)
        result.read_ms[label] = 3.0
    text = render(result)
    assert "## 8. Storefront reviews" in text
    assert "| page, newest | 1 | DynamoDB Query 1 | 3 |" in text and "| summary | 1 | DynamoDB Query 1 | 3 |" in text
    assert "3.00 requests (DynamoDB BatchGetItem 1, DynamoDB TransactWriteItems 2)" in text
