"""The fault-injection suite's short form (`make chaos` runs the full one): every zero holds.

A merchant endpoint down for an hour gets its delivery once it is back (the webhook retries on its
own schedule, returns/webhook_retries.py), and a redelivered webhook message posts nothing twice.
Tracking polls through a fake carrier API that times out, answers 429 + Retry-After, 500 or
garbage end with the fault-free timelines, and no poll comes before the Retry-After it was given.
"""
from __future__ import annotations

import fcntl
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
    """One chaos run per test session: under xdist the tests here land on both workers, and the
    first to come runs it while the other waits for its table (the run is the cost, not the checks)."""
    if not os.environ.get("PYTEST_XDIST_WORKER"):
        return _run_chaos(tmp_path_factory.mktemp("chaos") / "table.json")
    shared = tmp_path_factory.getbasetemp().parent  # this run's, common to its workers
    out = shared / "chaos-table.json"
    with (shared / "chaos.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            return _run_chaos(out) if not out.exists() else \
                {row["scenario"]: row for row in json.loads(out.read_text())}
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _run_chaos(out: Path) -> dict[str, dict]:
    env = dict(os.environ, CHAOS_ORDERS="2", CHAOS_DAYS="1", CHAOS_JSON=str(out),
               PYTHONPATH=f"{REPO / 'layers' / 'common' / 'python'}{os.pathsep}{REPO}")
    run = subprocess.run([sys.executable, "-m", "infra.chaos"], cwd=REPO, env=env, capture_output=True, text=True,
                         timeout=300)
    assert out.exists(), run.stdout[-3000:] + run.stderr[-3000:]
    return {row["scenario"]: row for row in json.loads(out.read_text())}


SCENARIOS = ["fault-free", "30% SQS redelivery", "crash after write k", "crash after SES accepted",
             "AWS throttling", "webhook down 1 h", "carrier API faults"]


@pytest.mark.parametrize("name", SCENARIOS)
def test_no_duplicate_no_loss_same_state(chaos, name):
    row = chaos[name]
    assert row["handled"] > 0
    assert name == "fault-free" or row["injected"] > 0  # the faults really happened
    assert (row["duplicates"], row["lost"], row["differences"], row["bad_api_answers"], row["unexpected_dlq"]) \
        == (0, 0, 0, 0, 0)
    assert row["dlq"] == 1  # the poison message the story planted, nothing else


def test_carrier_faults_are_retried_and_retry_after_is_honoured(chaos):
    carrier = chaos["carrier API faults"]["carrier"]
    assert carrier["calls"] > 0 and sum(carrier["faults"].values()) > 0
    assert carrier["retries"] > 0  # a faulted poll was asked again (within the call or later)
    assert carrier["early"] == 0  # never before the Retry-After it was given
    assert carrier["retry_after_honoured"] <= carrier["retry_after_given"]
