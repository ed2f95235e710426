"""`make demo` (what the README's first command runs) completes with every check passing."""
import os
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
                            timeout=300)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "FAILED" not in result.stdout
    emails = sorted(tmp_path.glob("*.eml"))
    confirmations = [p for p in emails if "confirmed" in p.name]
    notices = [p for p in emails if "confirmed" not in p.name]
    assert len(confirmations) == 6 and len(notices) >= 15
    index = (tmp_path / "index.html").read_text(encoding="utf-8")
    assert index.count("<tr><td>") == len(emails)
