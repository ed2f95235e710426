"""The fault-injection suite's short form (`make chaos` runs the full one): every zero holds.

Two scenarios are known to fail today and are marked xfail (the outage one strict, so a fix is noticed):
a redelivered DeliverReturnWebhook POSTs the merchant's webhook again (same delivery id), and a
merchant endpoint down for an hour outlasts the return-events queue's 5 receives x 400 s.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]
KNOWN = {"30% SQS redelivery": "webhook POSTed again on redelivery (at-least-once, deduplicable)",
         "webhook down 1 h": "5 receives x 400 s < 1 h: the webhook is dead-lettered"}


@pytest.fixture(scope="module")
def chaos(tmp_path_factory) -> dict[str, dict]:
    out = tmp_path_factory.mktemp("chaos") / "table.json"
    env = dict(os.environ, CHAOS_ORDERS="2", CHAOS_DAYS="1", CHAOS_JSON=str(out),
               PYTHONPATH=f"{REPO / 'layers' / 'common' / 'python'}{os.pathsep}{REPO}")
    run = subprocess.run([sys.executable, "-m", "infra.chaos"], cwd=REPO, env=env, capture_output=True, text=True,
                         timeout=300)
    assert out.exists(), run.stdout[-3000:] + run.stderr[-3000:]
    return {row["scenario"]: row for row in json.loads(out.read_text())}


SCENARIOS = ["fault-free", "30% SQS redelivery", "crash after write k", "crash after SES accepted",
             "AWS throttling", "webhook down 1 h"]


# The redelivery finding needs the webhook message itself to be among the 30% redelivered,
# which a two-order story does not always draw: not strict. The endpoint outage always fails.
@pytest.mark.parametrize("name", [pytest.param(n, marks=pytest.mark.xfail(reason=KNOWN[n],
                                                                         strict=n == "webhook down 1 h"))
                                  if n in KNOWN else n for n in SCENARIOS])
def test_no_duplicate_no_loss_same_state(chaos, name):
    row = chaos[name]
    assert row["handled"] > 0
    assert name == "fault-free" or row["injected"] > 0  # the faults really happened
    assert (row["duplicates"], row["lost"], row["differences"], row["bad_api_answers"], row["unexpected_dlq"]) \
        == (0, 0, 0, 0, 0)
    assert row["dlq"] == 1  # the poison message the story planted, nothing else
