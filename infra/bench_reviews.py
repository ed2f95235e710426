"""`make bench`, section 8: storefront reviews - AWS requests per public review read.

In-process moto with the real API handler (Chalice test client): N orders are recorded, each
customer rates the product through `POST /v1/feedback/{token}` (title and text; every fifth one
is held by a content rule), then the public reads are counted at botocore's choke point
(infra/aws_requests.py): a page of reviews in each sort, the summary and the JSON-LD. Each is
expected to be ONE DynamoDB Query; the bench fails loudly when one is not.
"""
from __future__ import annotations

import json
import os
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

REGION = "us-east-1"
START = datetime(2026, 11, 20, 10, 0, tzinfo=timezone.utc)
EXPECTED = {("DynamoDB", "Query"): 1}


@dataclass
class ReviewsResult:
    reviews: int
    published: int
    reads: dict[str, Counter] = field(default_factory=dict)  # label -> requests
    read_ms: dict[str, float] = field(default_factory=dict)
    rate_requests: Counter = field(default_factory=Counter)  # all ratings (sum)


def measure(reviews: int = 25) -> ReviewsResult:
    from chalice.test import Client
    from moto import mock_aws

    from infra.aws_requests import count_aws_requests
    from infra.local.resources import create_resources, function_environment
    from infra.local.runtime import aws_environment, load_function_module, reset_process_caches
    from infra.template import load_template

    template = load_template()
    os.environ.pop("AWS_ENDPOINT_URL", None)
    os.environ.update(aws_environment(None))
    os.environ.update({"POWERTOOLS_TRACE_DISABLED": "true", "POWERTOOLS_METRICS_NAMESPACE": "Bench",
                       "POWERTOOLS_LOG_LEVEL": "WARNING"})
    result = ReviewsResult(reviews, 0)
    with mock_aws():
        parameters = {"LinkSigningSecret": "bench-link-signing-secret-0123456789abcdef"}
        names = create_resources(template, REGION, parameters)
        os.environ.update(function_environment(template, names, {**parameters, "PublicBaseUrl": "http://bench"}))
        reset_process_caches()
        from infra.local.seed import seed_demo_store
        from postpurchase import clock as clock_module
        from postpurchase import services
        from postpurchase.clock import SimulatedClock
        from postpurchase.orders.models import Order
        from postpurchase.security.tokens import sign_claims

        simulated = SimulatedClock(START)
        clock_module.use(simulated)
        try:
            seed_demo_store(START)
            api = load_function_module("functions/api", "fn_bench_reviews_api").app
            sample = json.loads((_repo() / "events" / "storefronts" / "api" / "order.json").read_text("utf-8"))
            with Client(api) as client:
                for i in range(reviews):
                    email = f"bench-{i}@example.com"
                    order = Order.model_validate({**sample, "order_id": f"R-{i:05d}", "placed_at": START.isoformat(),
                                                  "email": email,
                                                  "customer": {**sample["customer"], "id": f"c-{i}", "email": email}})
                    services.order_store().record_order("demo-store", order, START)
                    simulated.advance(timedelta(minutes=1))
                    link = sign_claims(services.link_keys(), "feedback", ["demo-store", order.order_id, "MUG-1"],
                                       simulated.now() + timedelta(days=30))
                    text = "see www.elsewhere.example" if i % 5 == 4 else f"Review number {i}"
                    body = json.dumps({"rating": 1 + i % 5, "title": f"Title {i}", "comment": text})
                    with count_aws_requests() as counts:
                        answer = client.http.post(f"/v1/feedback/{link}", body=body,
                                                  headers={"Content-Type": "application/json"})
                    if answer.status_code != 201:
                        raise RuntimeError(f"rating {i} answered {answer.status_code}: {answer.body[:300]!r}")
                    result.rate_requests.update(counts)
                base = "/v1/public/demo-store/products/MUG-1/reviews"
                for label, path in (("page, newest", f"{base}?limit=10"),
                                    ("page, highest", f"{base}?sort=highest&limit=10"),
                                    ("page, with_photos", f"{base}?sort=with_photos&limit=10"),
                                    ("summary", f"{base}/summary"), ("JSON-LD", f"{base}/jsonld")):
                    with count_aws_requests() as counts:
                        started = time.perf_counter()
                        response = client.http.get(path)
                        result.read_ms[label] = (time.perf_counter() - started) * 1000
                    if response.status_code != 200:
                        raise RuntimeError(f"GET {path} answered {response.status_code}")
                    result.reads[label] = Counter(counts)
                    if label == "summary":
                        result.published = json.loads(response.body)["count"]
        finally:
            clock_module.reset()
    reset_process_caches()
    wrong = {label: dict(c) for label, c in result.reads.items() if dict(c) != EXPECTED}
    if wrong:
        raise RuntimeError(f"a public review read is not one DynamoDB Query: {wrong}")
    return result


def _repo():
    from pathlib import Path

    return Path(__file__).resolve().parent.parent


def _fmt(counts: Counter, per: int = 1) -> str:
    return ", ".join(f"{service} {operation} {n / per:g}" for (service, operation), n in sorted(counts.items()))


def render(result: ReviewsResult, prices: dict | None = None) -> str:
    lines = [
        "## 8. Storefront reviews (public reads)",
        "",
        f"{result.reviews} customers rate MUG-1 through POST /v1/feedback/{{token}} ({result.published} published, "
        f"the rest held by a content rule); then the public reads (in-process moto, real API handler).",
        "",
        "| read | AWS requests | by operation | ms (moto) |",
        "|---|---|---|---|",
    ]
    for label, counts in result.reads.items():
        lines.append(f"| {label} | {sum(counts.values())} | {_fmt(counts)} | {result.read_ms[label]:.0f} |")
    per = max(result.reviews, 1)
    lines += ["",
              f"A rating with its review: {sum(result.rate_requests.values()) / per:.2f} requests "
              f"({_fmt(result.rate_requests, per)}): the answer and its review are read in one BatchGetItem; "
              f"the answer and the review (with its public copies and the product's counters) are one "
              f"transaction each.",
              ""]
    return "\n".join(lines)


def run() -> ReviewsResult:
    return measure(int(os.environ.get("BENCH_REVIEWS", "25")))


if __name__ == "__main__":
    print(render(run()))
