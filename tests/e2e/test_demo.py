"""`make demo` (what the README's first command runs) completes with every check passing."""
import os
from email import message_from_bytes
from email.policy import default
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e
REPO = Path(__file__).resolve().parents[2]


def test_demo_runs_and_every_check_passes(tmp_path):
    env = dict(os.environ, OUTBOX_DIR=str(tmp_path),
               PYTHONPATH=f"{REPO / 'layers' / 'common' / 'python'}{os.pathsep}{REPO}")
    result = subprocess.run([sys.executable, "-m", "infra.demo"], cwd=REPO, env=env, capture_output=True, text=True,
                            timeout=900)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "FAILED" not in result.stdout
    # It ends with the merchant console's link, the key that signs in to it, and the analytics page.
    last = result.stdout.strip().splitlines()[-3:]
    assert last[0].startswith("Merchant console") and last[0].endswith("/console/demo-store/signin"), last
    assert last[1].strip() == "sign in with the API key demo-store-local-key", last
    assert last[2].strip().startswith("analytics: ") and last[2].endswith("/console/demo-store/analytics?days=90"), last
    emails = sorted(tmp_path.glob("*.eml"))
    keys = [" ".join(str(message_from_bytes(p.read_bytes(), policy=default)["X-Postpurchase-Message"]).split())
            for p in emails]
    assert len(keys) == len(set(keys))  # never the same email twice
    # Six orders in the first chapters; seven first orders and two repeat orders in the year.
    assert sum("/order_confirmation#" in key for key in keys) == 15
    # The year's scheduled kinds all happened (the demo's own checks hold their counts).
    for kind in ("review_request", "review_reminder", "birthday_offer", "anniversary", "win_back", "campaign"):
        assert any(f"/{kind}#" in key for key in keys), kind
    assert sum("/shipment_" in key for key in keys) >= 15
    index = (tmp_path / "index.html").read_text(encoding="utf-8")
    assert index.count("<tr><td>") == len(emails)
