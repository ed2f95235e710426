"""The fault-injection suite's short form (`make chaos` runs the full one): every zero holds.

A merchant endpoint down for an hour gets its delivery once it is back (the webhook retries on its
own schedule, returns/webhook_retries.py), and a redelivered webhook message posts nothing twice.
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


@pytest.mark.parametrize("name", SCENARIOS)
def test_no_duplicate_no_loss_same_state(chaos, name):
    row = chaos[name]
    assert row["handled"] > 0
    assert name == "fault-free" or row["injected"] > 0  # the faults really happened
    assert (row["duplicates"], row["lost"], row["differences"], row["bad_api_answers"], row["unexpected_dlq"]) \
        == (0, 0, 0, 0, 0)
    assert row["dlq"] == 1  # the poison message the story planted, nothing else
