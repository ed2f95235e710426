"""End-to-end: `python -m infra.local.serve` in a subprocess, driven over HTTP like a storefront."""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from email import message_from_bytes
from email.policy import default
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class LocalApi:
    base_url: str
    outbox: Path
    api_key: str = "demo-store-local-key"
    stack_file: Path | None = None  # what serve writes for the operator CLI (--local FILE)
    shopify_secret: str = "demo-shopify-secret"
    shopify_shop_domain: str = "demo-store.myshopify.com"  # infra/local/seed.py

    def call(self, method: str, path: str, body: bytes | dict | None = None, headers: dict | None = None,
             auth: bool = True) -> tuple[int, dict]:
        data = json.dumps(body).encode() if isinstance(body, dict) else body
        all_headers = {"Content-Type": "application/json", **(headers or {})}
        if auth:
            all_headers["Authorization"] = f"Bearer {self.api_key}"
        request = urllib.request.Request(self.base_url + path, data=data, method=method, headers=all_headers)
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, json.loads(response.read() or b"{}")
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read() or b"{}")

    def shopify(self, topic: str, body: bytes, webhook_id: str, secret: str | None = None) -> tuple[int, dict]:
        signature = base64.b64encode(hmac.new((secret or self.shopify_secret).encode(), body,
                                              hashlib.sha256).digest()).decode()
        return self.call("POST", "/webhooks/shopify/demo-store", body, auth=False, headers={
            "X-Shopify-Topic": topic, "X-Shopify-Hmac-Sha256": signature, "X-Shopify-Webhook-Id": webhook_id,
            "X-Shopify-Shop-Domain": self.shopify_shop_domain})

    def emails_for(self, message_key: str, timeout: float = 30.0, expect: int = 1) -> list:
        """Wait until `expect` emails with this ledger key are in outbox/, then a little longer."""
        deadline = time.monotonic() + timeout
        found: list = []
        while time.monotonic() < deadline:
            found = [m for m in (message_from_bytes(p.read_bytes(), policy=default)
                                 for p in sorted(self.outbox.glob("*.eml")))
                     if m["X-Postpurchase-Message"] == message_key]
            if len(found) >= expect:
                break
            time.sleep(0.2)
        return found


@pytest.fixture(scope="session")
def local_api(tmp_path_factory) -> LocalApi:
    port = _free_port()
    outbox = tmp_path_factory.mktemp("outbox")
    stack_file = tmp_path_factory.mktemp("stack") / "stack.json"  # not the checkout's .local/: workers share it
    env = dict(os.environ, PORT=str(port), OUTBOX_DIR=str(outbox), LOCAL_RETRY_DELAY_SECONDS="0",
               POSTPURCHASE_STACK_FILE=str(stack_file),
               PYTHONPATH=f"{REPO / 'layers' / 'common' / 'python'}{os.pathsep}{REPO}")
    log = (tmp_path_factory.mktemp("logs") / "local.log").open("w")
    process = subprocess.Popen([sys.executable, "-m", "infra.local.serve"], cwd=REPO, env=env, stdout=log,
                               stderr=subprocess.STDOUT)
    api = LocalApi(f"http://127.0.0.1:{port}", outbox, stack_file=stack_file)
    deadline = time.monotonic() + 90
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"local runtime exited with {process.returncode}; see {log.name}")
        try:
            if api.call("GET", "/openapi.json", auth=False)[0] == 200:
                break
        except OSError:
            pass
        if time.monotonic() > deadline:
            process.kill()
            raise RuntimeError(f"local runtime did not answer within 90 s; see {log.name}")
        time.sleep(0.3)
    yield api
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()


# --- headless Chromium (Debian's package, `make browser`), driven by Playwright -----------------

CHROMIUM = Path("/usr/bin/chromium")


@pytest.fixture(scope="session")
def browser():
    """One Chromium per worker for every browser test (each module opens its own contexts)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=[
            "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
            "--disable-component-update", "--disable-sync"])
        yield launched
        launched.close()
