"""`make local`: the API on http://127.0.0.1:$PORT (default 3000) against moto, with pump and outbox."""
from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path

from infra.local.runtime import REPO_ROOT, LocalRuntime

BANNER = """\
Local runtime ready: API on http://{host}:{port}  (AWS: moto at {endpoint})
  merchant: {merchant}   API key: {api_key}
  shopify secret: {shopify}   woocommerce secret: {woo}
  emails land in {outbox}/ (open index.html)
  operator CLI: make admin ARGS="merchants show {merchant}"   (reads {stack_file})

Place an order:
  curl -s -X POST http://{host}:{port}/v1/orders -H 'Authorization: Bearer {api_key}' \\
       -H 'Content-Type: application/json' -d @events/storefronts/api/order.json
"""


def _replay_demo(runtime: LocalRuntime, base_url: str) -> None:
    """`make local DEMO=1`: play the demo's story into this runtime (on its simulated clock, which
    then stays at the story's end) so the order-page links `make demo` prints open here."""
    from infra.demo import START, Demo, play, print_console, print_links
    from postpurchase import clock
    from postpurchase.clock import SimulatedClock

    simulated = SimulatedClock(START)
    clock.use(simulated)
    demo = Demo(runtime, base_url, simulated)
    play(demo)
    print_links(demo, base_url, "served here")
    print_console(demo, base_url, "served here")


def write_stack_file(runtime: LocalRuntime, api_url: str) -> Path:
    """The local stack's Outputs and moto endpoint, for `python -m postpurchase.admin --local`."""
    from infra.local.resources import stack_outputs
    from infra.local.runtime import REGION
    from postpurchase.admin.stack import write_local_stack

    path = Path(os.environ.get("POSTPURCHASE_STACK_FILE", REPO_ROOT / ".local" / "stack.json"))
    return write_local_stack(path, stack_outputs(runtime.template, runtime.names, api_url), region=REGION,
                             endpoint_url=runtime.endpoint_url)


def main() -> int:
    host = os.environ.get("HOST", "127.0.0.1")
    port = int(os.environ.get("PORT", "3000"))
    outbox = Path(os.environ.get("OUTBOX_DIR", REPO_ROOT / "outbox"))
    demo = os.environ.get("LOCAL_DEMO") in ("1", "true", "yes")
    # The demo's story runs on simulated time: real-second delays (retries, debounce) would stall it.
    runtime = LocalRuntime(outbox_dir=outbox, public_base_url=f"http://{host}:{port}",
                           retry_delay_seconds=0 if demo else int(os.environ.get("LOCAL_RETRY_DELAY_SECONDS", "2")),
                           log_level=os.environ.get("LOCAL_LOG_LEVEL", "WARNING"),
                           notice_debounce_seconds=0 if demo else int(os.environ.get("NOTICE_DEBOUNCE_SECONDS",
                                                                                      "5"))).start()
    runtime.serve_api(host, port)
    stack_file = write_stack_file(runtime, f"http://{host}:{port}")
    credentials = runtime.credentials
    if demo:
        _replay_demo(runtime, f"http://{host}:{port}")
    print(BANNER.format(host=host, port=port, endpoint=runtime.endpoint_url, merchant=credentials.merchant_id,
                        api_key=credentials.api_key, shopify=credentials.shopify_secret,
                        woo=credentials.woocommerce_secret, outbox=outbox, stack_file=stack_file), flush=True)
    stopping = False

    def stop(*_):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    # EventBridge schedules fire on this clock (moto never fires them): every 30 s by default.
    schedule_every = float(os.environ.get("LOCAL_SCHEDULE_SECONDS", "30"))
    next_tick = time.monotonic()
    while not stopping:
        if time.monotonic() >= next_tick:
            runtime.tick()
            next_tick = time.monotonic() + schedule_every
        if runtime.pump.pump_once() == 0:
            time.sleep(0.2)
        for email in runtime.outbox.collect():
            print(f"email -> {email.recipient}: {email.subject}  ({email.html_path or email.eml_path})", flush=True)
    runtime.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
