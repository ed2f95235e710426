"""The operator CLI as an operator runs it (`make admin`): a separate process against `make local`,
finding the runtime through the stack file serve writes."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def admin(local_api, *argv: str) -> tuple[int, dict]:
    deadline = time.monotonic() + 30
    while not local_api.stack_file.exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "TABLE_NAME"))}
    env["PYTHONPATH"] = f"{REPO / 'layers' / 'common' / 'python'}{os.pathsep}{REPO}"
    done = subprocess.run([sys.executable, "-m", "postpurchase.admin", "--local", str(local_api.stack_file), *argv],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    return done.returncode, json.loads(done.stdout if done.returncode == 0 else done.stderr)


def test_a_merchant_created_with_the_cli_can_place_orders(local_api):
    status, created = admin(local_api, "merchants", "create", "cli-shop", "--name", "CLI Shop",
                            "--from-email", "orders@cli-shop.example")
    assert status == 0, created
    order = json.loads((REPO / "events" / "storefronts" / "api" / "order.json").read_text(encoding="utf-8"))
    order["order_id"] = "CLI-1"
    code, _ = local_api.call("POST", "/v1/orders", order, headers={"Authorization": f"Bearer {created['api_key']}"},
                             auth=False)
    assert code == 202
    status, keys = admin(local_api, "keys", "list", "--merchant", "cli-shop")
    assert status == 0 and [k["status"] for k in keys["keys"]] == ["active"]
    status, queues = admin(local_api, "dlq", "list")
    assert status == 0 and set(queues["queues"]) >= {"order-events", "outbound-email", "tracking"}
