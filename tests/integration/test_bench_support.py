"""`make bench` section 9 (infra/bench_support.py) on one message of each kind: the real handlers
on in-process moto, the requests counted where they are made, and the section's report."""
from __future__ import annotations

import os

import pytest


@pytest.fixture
def restored_environment():
    saved = dict(os.environ)
    yield
    os.environ.clear()
    os.environ.update(saved)
    from postpurchase import config

    config.reset()


def test_the_support_section_counts_each_kind_of_message(restored_environment):
    from infra import bench_support
    from infra.bench import load_prices

    result = bench_support.measure(1)
    [wismo], [damaged], [mail] = (result.operations[kind] for kind in bench_support.KINDS)
    assert wismo.emails == 1 and wismo.requests["EmailSenderFunction"][("SESv2", "SendEmail")] == 1
    assert wismo.requests["ApiFunction"][("SQS", "SendMessage")] == 1  # the answer, queued
    assert damaged.emails == 0 and not damaged.requests.get("EmailSenderFunction")
    assert damaged.requests["ApiFunction"][("DynamoDB", "TransactWriteItems")] == 1
    inbound = mail.requests["SupportInboundFunction"]
    assert inbound[("S3", "GetObject")] == 1 and inbound[("S3", "PutObject")] == 1 and mail.emails == 0
    costs = bench_support.costs(result, load_prices())
    assert costs["damaged"].total < costs["wismo"].total < costs["email"].total
    assert costs["wismo"].by_service()["SES"] == pytest.approx(0.10)  # one email per message
    report = bench_support.render(result, load_prices())
    assert "## 9. Customer support" in report and "| WISMO via the API, answered automatically | " in report
