"""`make bench` section 1b: each function's first invocation after its cold start (issue 17).

For each function, a fresh `python -E -s` interpreter with the function's environment from
template.yaml and what Lambda sets (LAMBDA_TASK_ROOT, a sampled `_X_AMZN_TRACE_ID`: the Tracer is
active, as in `Tracing: Active`) imports `app`, then calls its handler twice on its sample event
from events/ against moto's server (run by this process, so the interpreter measured imports
nothing of moto): invocation 1 pays what a cold container builds on first use (clients, the
X-Ray SDK, templates, catalogs, secrets), invocation 2 is the same work warm.
- The API: `api_place_order.json`, then the same request with another order id (a new order each
  time). The consumers and the scheduled functions: their sample event, then the same records
  again with new message ids (for consumers that is the redelivery path: the idempotency checks
  answer "done", so invocation 2 does less than a new message would; an upper bound on warm work
  it is not, a lower bound on what invocation 1 adds it is).
- moto is reset and the resources and the demo store re-created before each interpreter, so every
  run starts from the same state.
- Times are wall (`perf_counter`) and CPU (`process_time`) of the interpreter: on this shared
  machine CPU time is the steadier figure; the median of BENCH_FIRST_CALL_RUNS (default 5) runs.
"""
from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from infra.bench import LAYER_PATH, REPO_ROOT, FunctionSpec, function_specs

EVENTS = REPO_ROOT / "events"
# An unsampled trace would make the SDK skip its work; Lambda samples the first request each second.
TRACE_HEADER = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"

_CHILD = r"""
import json, sys, time, uuid
layer, function_dir, handler_name, events_json = sys.argv[1:5]
sys.path[:0] = [layer, function_dir]
events = json.loads(events_json)

class Context:
    def __init__(self, name):
        self.function_name = name; self.memory_limit_in_mb = 512; self.aws_request_id = str(uuid.uuid4())
        self.invoked_function_arn = f"arn:aws:lambda:us-east-1:123456789012:function:{name}"
        self.function_version = "$LATEST"; self.log_group_name = f"/aws/lambda/{name}"; self.log_stream_name = "s"
    def get_remaining_time_in_millis(self):
        return 60000

def timed(call):
    wall, cpu = time.perf_counter(), time.process_time()
    result = call()
    return result, (time.perf_counter() - wall) * 1000, (time.process_time() - cpu) * 1000

import importlib
app, import_ms, import_cpu = timed(lambda: importlib.import_module("app"))
handler = getattr(app, handler_name)
rows = {"import": [import_ms, import_cpu]}
for n, event in enumerate(events, start=1):
    result, wall, cpu = timed(lambda: handler(event, Context("bench")))
    status = result.get("statusCode") if isinstance(result, dict) else None
    failures = len(result.get("batchItemFailures", [])) if isinstance(result, dict) else 0
    rows[f"invocation {n}"] = [wall, cpu, status, failures]
print("BENCH-FIRST-CALL " + json.dumps(rows))
"""


@dataclass
class FirstCallResult:
    function_id: str
    sample: str
    runs: list[dict[str, list[float]]]  # per interpreter: phase -> [wall ms, cpu ms, ...]

    def median(self, phase: str, index: int) -> float:
        return statistics.median(run[phase][index] for run in self.runs)

    @property
    def ratio(self) -> float:
        """CPU of invocation 1 over the CPU of the import: > 1 means the first call costs more than INIT."""
        return self.median("invocation 1", 1) / self.median("import", 1)


def _sample(function_dir: Path) -> str:
    if function_dir.name == "api":
        return "api_place_order.json"
    names = sorted(p.name for p in EVENTS.glob(f"{function_dir.name}_*.json"))
    if not names:
        raise RuntimeError(f"no sample event for {function_dir.name} in events/ (python -m infra.sample_events)")
    return names[0]


def _events(sample: str) -> list[dict[str, Any]]:
    first = json.loads((EVENTS / sample).read_text(encoding="utf-8"))
    second = json.loads(json.dumps(first))
    if "Records" in second:
        for record in second["Records"]:
            record["messageId"] = "second-" + record["messageId"]
    elif second.get("httpMethod") == "POST" and sample == "api_place_order.json":
        body = json.loads(second["body"])
        body["order_id"] = f"{body['order_id']}-2"
        second["body"] = json.dumps(body)
    return [first, second]


def _handler_name(spec: FunctionSpec) -> str:
    from infra.template import function_properties, load_template

    return str(function_properties(load_template(), spec.function_id)["Handler"]).split(".", 1)[1]


def _reset(runtime) -> dict[str, str]:
    """moto empty again, then the template's resources and the demo store as the runtime made them."""
    from infra.local.resources import create_resources, function_environment
    from infra.local.runtime import reset_process_caches
    from infra.local.seed import seed_demo_store

    request = urllib.request.Request(f"{runtime.endpoint_url}/moto-api/reset", method="POST")
    urllib.request.urlopen(request, timeout=30).read()
    parameters = {"LinkSigningSecret": os.environ.get("LINK_SIGNING_SECRET", "bench-link-secret-0123456789abcdef")}
    names = create_resources(runtime.template, "us-east-1", parameters)
    env = function_environment(runtime.template, names, {**parameters, "PublicBaseUrl": runtime.public_base_url})
    os.environ.update(env)
    reset_process_caches()
    seed_demo_store()
    return env


def _stage_objects(runtime, events: list[dict[str, Any]]) -> None:
    """An S3 "Object Created" sample (support_inbound) names a stored mail: put one there (a plain
    English support email from events/support/), as SES would have before the event."""
    import boto3

    s3 = boto3.client("s3", endpoint_url=runtime.endpoint_url, region_name="us-east-1",
                      aws_access_key_id="local", aws_secret_access_key="local")
    mail = (EVENTS / "support" / "outlook_plain_en.eml").read_bytes()
    for event in events:
        detail = event.get("detail") if event.get("detail-type") == "Object Created" else None
        if detail:
            s3.put_object(Bucket=detail["bucket"]["name"], Key=detail["object"]["key"], Body=mail)


def measure(runs: int | None = None) -> list[FirstCallResult]:
    from infra.local.runtime import LocalRuntime

    runs = runs or int(os.environ.get("BENCH_FIRST_CALL_RUNS", "5"))
    results = []
    with tempfile.TemporaryDirectory(prefix="bench-first-call-") as scratch:
        saved = dict(os.environ)
        runtime = LocalRuntime(outbox_dir=Path(scratch) / "outbox", public_base_url="https://shop.bench",
                               deployed_shards=True).start()
        pycache = Path(scratch) / "pycache"
        try:
            for spec in function_specs():
                sample = _sample(spec.directory)
                events = json.dumps(_events(sample))
                handler = _handler_name(spec)
                measured = []
                for attempt in range(runs + 1):  # the first fills the bytecode cache, unmeasured
                    resources = _reset(runtime)
                    _stage_objects(runtime, json.loads(events))
                    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8",
                           **spec.environment,
                           **{k: v for k, v in resources.items() if k in spec.environment},
                           "AWS_ENDPOINT_URL": runtime.endpoint_url, "AWS_ACCESS_KEY_ID": "local",
                           "AWS_SECRET_ACCESS_KEY": "local", "_X_AMZN_TRACE_ID": TRACE_HEADER,
                           "WEBHOOKS_ALLOW_HTTP": "true", "WEBHOOKS_ALLOW_LOOPBACK": "true"}
                    done = subprocess.run(
                        [sys.executable, "-E", "-s", "-X", f"pycache_prefix={pycache}", "-c", _CHILD,
                         str(LAYER_PATH), str(spec.directory), handler, events],
                        env=env, cwd=spec.directory, capture_output=True, text=True, timeout=300)
                    lines = [line for line in done.stdout.splitlines() if line.startswith("BENCH-FIRST-CALL ")]
                    if done.returncode != 0 or not lines:
                        raise RuntimeError(f"first invocation of {spec.function_id} failed:\n{done.stderr[-4000:]}")
                    row = json.loads(lines[-1].split(" ", 1)[1])
                    for phase in ("invocation 1", "invocation 2"):
                        status = row[phase][2]
                        if status is not None and status >= 300:
                            raise RuntimeError(f"{spec.function_id} {phase} on {sample}: status {status}"
                                               f"\n{done.stderr[-4000:]}")
                    if attempt:
                        measured.append(row)
                results.append(FirstCallResult(spec.function_id, sample, measured))
        finally:
            runtime.stop()
            os.environ.clear()
            os.environ.update(saved)
    return results


def render(results: list[FirstCallResult], import_ratio: dict[str, float] | None = None) -> list[str]:
    runs = len(results[0].runs) if results else 0
    out = [f"#### 1b. First invocation after the cold start (fresh interpreter, moto's server, median of {runs})",
           "",
           "`import app`, then the handler twice on its sample event (`infra/bench_first_call.py`): invocation 1 "
           "builds what a cold container builds on first use (clients, the X-Ray SDK and its botocore patch, the "
           "batch processor, templates, catalogs, secrets); invocation 2 is the same request again (the API: "
           "another new order; consumers: the same records with new message ids, i.e. the idempotent redelivery "
           "path). CPU time of the interpreter, the steadier figure on a shared machine; wall time in brackets. "
           "Ratio = invocation 1 CPU / import CPU. Failed records: a sample whose records need state a fresh "
           "store lacks (return_events: the sample RMA) fails them, through the same partial-batch path.",
           "",
           "| function | sample event | import ms CPU (wall) | invocation 1 ms CPU (wall) | invocation 2 ms CPU (wall) "
           "| invocation 1 / import | failed records (1, 2) |",
           "|---|---|---:|---:|---:|---:|---|"]
    for r in results:
        cells = [f"{r.median(phase, 1):.0f} ({r.median(phase, 0):.0f})"
                 for phase in ("import", "invocation 1", "invocation 2")]
        failed = ", ".join(str(r.runs[0][phase][3]) for phase in ("invocation 1", "invocation 2"))
        out.append(f"| {r.function_id} | {r.sample} | " + " | ".join(cells) + f" | {r.ratio:.2f} | {failed} |")
    return out


if __name__ == "__main__":
    sys.path.insert(0, str(LAYER_PATH))
    print("\n".join(render(measure())))
