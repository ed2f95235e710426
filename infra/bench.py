"""`make bench`: cold-start import time, AWS requests per business operation, AWS cost per 1,000 orders.

1. Import time of each function's handler module (functions/*/app.py), median over BENCH_RUNS
   fresh interpreters (default 7), with and without a bytecode cache, plus the heaviest
   imports from `python -X importtime`.
2. AWS requests per business operation, counted for real against the local runtime (moto in
   this process, the real handlers, the API over HTTP): one order end to end, the same order
   posted again, and GET /v1/orders/{id}. DynamoDB request units are computed from the items'
   sizes as moto stores them; SQS requests are counted per 64 KB chunk.
3. AWS cost per 1,000 orders from infra/aws_prices.json (inputs to edit) and the figures of 2.
(Sections 4-9 come from infra/bench_tracking.py, bench_calendar.py, bench_reviews.py and
bench_support.py: requests and cost per 1,000 support messages.)

Prints a Markdown report (paste it into docs/performance.md) and writes it to BENCH_OUTPUT
(default test-artifacts/bench.md). Exits non-zero when anything fails or looks wrong.
The cost arithmetic is pure (`cost_per_thousand`, `write_request_units`, ...) and unit-tested
in tests/unit/test_bench_cost.py.
"""
from __future__ import annotations

import json
import math
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from contextlib import contextmanager, redirect_stdout
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator, Mapping

REPO_ROOT = Path(__file__).resolve().parents[1]
LAYER_PATH = REPO_ROOT / "layers" / "common" / "python"
PRICES_PATH = REPO_ROOT / "infra" / "aws_prices.json"
SAMPLE_ORDER = REPO_ROOT / "events" / "storefronts" / "api" / "order.json"
REGION = "us-east-1"

KB = 1024
GB = 1024 ** 3
SQS_CHUNK_BYTES = 64 * KB
# DynamoDB sizes its request units on items: 1 KB per write unit, 4 KB per read unit.
WRITE_UNIT_BYTES = 1 * KB
READ_UNIT_BYTES = 4 * KB

# ------------------------------------------------------------------------------ assumptions
# Estimates that the local runtime cannot measure. Printed with the report; edit here.

# What Lambda itself writes to CloudWatch Logs per invocation (Tracing: Active adds the XRAY line).
LAMBDA_PLATFORM_LOG_LINES = (
    "START RequestId: 6f7a1c2e-2b9d-4c51-9f0e-1d2c3b4a5f60 Version: $LATEST\n",
    "END RequestId: 6f7a1c2e-2b9d-4c51-9f0e-1d2c3b4a5f60\n",
    "REPORT RequestId: 6f7a1c2e-2b9d-4c51-9f0e-1d2c3b4a5f60\tDuration: 123.45 ms\tBilled Duration: 124 ms\t"
    "Memory Size: 512 MB\tMax Memory Used: 128 MB\t\n",
    "XRAY TraceId: 1-6741a5c3-1a2b3c4d5e6f7a8b9c0d1e2f\tSegmentId: 0a1b2c3d4e5f6a7b\tSampled: true\t\n",
)
# CloudWatch Logs accounts 26 bytes of metadata per log event (PutLogEvents); counted conservatively.
LOG_EVENT_OVERHEAD_BYTES = 26
# X-Ray: API Gateway + the API function make one trace; each SQS-triggered invocation starts a
# new one. The default sampling rule (first request each second, then 5%) samples nearly every
# request below ~1 order/s: 1.0 is the low-volume upper bound; use 0.05 for sustained high volume.
XRAY_SAMPLED_FRACTION = 1.0
XRAY_TRACES_RETRIEVED_PER_ORDER = 0.0  # traces are read only when someone debugs

# Lambda's execution environment for an SQS event source: pollers receive and delete for you
# (billed to you as SQS requests). Those calls are reported apart from the functions' own.
POLLING_OPERATIONS = ("ReceiveMessage", "DeleteMessage", "DeleteMessageBatch", "ChangeMessageVisibility",
                      "ChangeMessageVisibilityBatch")

# ============================================================================== cost arithmetic


def write_request_units(item_bytes: int, *, transactional: bool = False) -> int:
    """On-demand WRUs for writing one item: 1 per started KB (at least 1), doubled in a transaction."""
    units = max(1, math.ceil(item_bytes / WRITE_UNIT_BYTES))
    return units * 2 if transactional else units


def read_request_units(item_bytes: int, *, consistent: bool, transactional: bool = False) -> float:
    """On-demand RRUs for reading `item_bytes` (one item, or a Query's items summed).

    1 per started 4 KB (at least 1) strongly consistent, half that eventually consistent,
    twice that in a transaction.
    """
    units = max(1, math.ceil(item_bytes / READ_UNIT_BYTES))
    if transactional:
        return units * 2.0
    return float(units) if consistent else units / 2


def _number_size(text: str) -> int:
    """1 byte per two significant digits, plus 1 (leading and trailing zeros do not count)."""
    digits = text.lstrip("+-").lower().split("e")[0].replace(".", "").strip("0") or "0"
    return math.ceil(len(digits) / 2) + 1


def dynamodb_value_size(value: Mapping[str, Any]) -> int:
    """Size of one attribute value in DynamoDB's wire form ({"S": ...}, {"M": {...}}, ...)."""
    (kind, data), = value.items()
    if kind == "S":
        return len(data.encode("utf-8"))
    if kind == "N":
        return _number_size(str(data))
    if kind == "B":
        return len(data if isinstance(data, (bytes, bytearray)) else str(data).encode())
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "SS":
        return sum(len(s.encode("utf-8")) for s in data)
    if kind == "NS":
        return sum(_number_size(str(n)) for n in data)
    if kind == "BS":
        return sum(len(b) for b in data)
    if kind == "L":
        return 3 + sum(1 + dynamodb_value_size(v) for v in data)
    if kind == "M":
        return 3 + sum(len(k.encode("utf-8")) + 1 + dynamodb_value_size(v) for k, v in data.items())
    raise ValueError(f"unknown DynamoDB type {kind!r}")


def dynamodb_item_size(item: Mapping[str, Mapping[str, Any]] | None) -> int:
    """Item size as DynamoDB counts it: attribute names plus values (UTF-8 bytes)."""
    if not item:
        return 0
    return sum(len(name.encode("utf-8")) + dynamodb_value_size(value) for name, value in item.items())


def sqs_billable_requests(payload_bytes: int) -> int:
    """SQS bills each 64 KB chunk of a request's payload as one request."""
    return max(1, math.ceil(payload_bytes / SQS_CHUNK_BYTES))


@dataclass(frozen=True)
class OrderUsage:
    """What one order costs in billable quantities (all per order)."""

    requests: Mapping[tuple[str, str], float]  # (service, operation) -> billable requests (SQS: per 64 KB)
    invocations: Mapping[str, float]            # function -> Lambda invocations
    durations_ms: Mapping[str, float]           # function -> duration of one invocation (ms)
    memory_mb: Mapping[str, int]                # function -> configured MemorySize
    api_requests: float = 0.0                   # API Gateway REST requests
    write_units: float = 0.0                    # DynamoDB WRU (transactions and GSI writes included)
    read_units: float = 0.0                     # DynamoDB RRU (eventually consistent already halved)
    log_bytes: float = 0.0                      # CloudWatch Logs ingested
    traces_recorded: float = 0.0
    traces_retrieved: float = 0.0


@dataclass(frozen=True)
class CostLine:
    service: str
    item: str
    quantity: float  # per 1,000 orders, in `unit`
    unit: str
    unit_price: float
    usd: float       # per 1,000 orders


@dataclass(frozen=True)
class CostBreakdown:
    lines: tuple[CostLine, ...]

    @property
    def total(self) -> float:
        return sum(line.usd for line in self.lines)

    def by_service(self) -> dict[str, float]:
        out: dict[str, float] = {}
        for line in self.lines:
            out[line.service] = out.get(line.service, 0.0) + line.usd
        return out


def unit_price(prices: Mapping[str, Any], name: str) -> float:
    entry = prices["prices"][name]
    return float(entry["usd"]) / float(entry["per"])


# Services billed per request (SQS per 64 KB chunk); DynamoDB is billed by request units instead.
_EMAIL_OPERATIONS = {("SESv2", "SendEmail"), ("SES", "SendEmail"), ("SES", "SendRawEmail")}
# S3 (support mail: the raw mail read once, attachments written): PUT-tier and GET-tier requests;
# DeleteObject is free.
_S3_PUT_OPERATIONS = {"PutObject", "CopyObject", "PutObjectTagging", "ListObjectsV2", "ListObjects",
                      "CreateMultipartUpload", "UploadPart", "CompleteMultipartUpload"}
_S3_GET_OPERATIONS = {"GetObject", "HeadObject", "GetObjectTagging"}
_UNIT_BILLED_SERVICES = {"DynamoDB"}


def billed_duration_ms(duration_ms: float) -> int:
    """Lambda bills duration rounded up to the next millisecond."""
    return max(1, math.ceil(duration_ms))


def gb_seconds(duration_ms: float, memory_mb: int) -> float:
    """Lambda's compute unit: seconds x GB of configured memory (duration rounded up to 1 ms)."""
    return billed_duration_ms(duration_ms) / 1000 * memory_mb / 1024


def cost_per_thousand(usage: OrderUsage, prices: Mapping[str, Any]) -> CostBreakdown:
    """Cost of 1,000 orders: every billable quantity per order x 1,000 x its unit price.

    Raises ValueError for a request to a service the price list does not cover, so a new
    dependency cannot silently cost nothing.
    """
    n = 1000
    lines: list[CostLine] = []

    def add(service: str, item: str, quantity: float, unit: str, price_name: str) -> None:
        price = unit_price(prices, price_name)
        lines.append(CostLine(service, item, quantity, unit, price, quantity * price))

    add("Lambda", "requests", n * sum(usage.invocations.values()), "requests", "lambda_request")
    for function, invocations in usage.invocations.items():
        if not invocations:
            continue
        compute = invocations * gb_seconds(usage.durations_ms[function], usage.memory_mb[function])
        add("Lambda", f"duration {function} (arm64, {usage.memory_mb[function]} MB)", n * compute, "GB-s",
            "lambda_gb_second_arm64")
    if usage.api_requests:
        add("API Gateway", "REST requests", n * usage.api_requests, "requests", "apigateway_rest_request")
    add("DynamoDB", "write request units", n * usage.write_units, "WRU", "dynamodb_write_request_unit")
    add("DynamoDB", "read request units", n * usage.read_units, "RRU", "dynamodb_read_request_unit")

    sqs = emails = secrets = s3_put = s3_get = 0.0
    for (service, operation), count in usage.requests.items():
        if service == "SQS":
            sqs += count
        elif service == "S3" and operation in _S3_PUT_OPERATIONS:
            s3_put += count
        elif service == "S3" and operation in _S3_GET_OPERATIONS:
            s3_get += count
        elif (service, operation) == ("S3", "DeleteObject"):
            pass  # free
        elif (service, operation) == ("SecretsManager", "GetSecretValue"):  # the link keys, cached 300 s
            secrets += count
        elif (service, operation) in _EMAIL_OPERATIONS:
            emails += count
        elif service not in _UNIT_BILLED_SERVICES:
            raise ValueError(f"no price for {service} {operation}: add it to infra/aws_prices.json and bench.py")
    add("SQS", "standard requests (64 KB chunks)", n * sqs, "requests", "sqs_standard_request")
    add("SES", "outbound emails", n * emails, "emails", "ses_outbound_email")
    if secrets:
        add("Secrets Manager", "GetSecretValue (link keys)", n * secrets, "calls", "secretsmanager_api_call")
    if s3_put:
        add("S3", "PUT/COPY/POST/LIST requests", n * s3_put, "requests", "s3_put_request")
    if s3_get:
        add("S3", "GET requests", n * s3_get, "requests", "s3_get_request")
    add("CloudWatch Logs", "ingestion", n * usage.log_bytes / GB, "GB", "cloudwatch_logs_ingestion_gb")
    add("X-Ray", "traces recorded", n * usage.traces_recorded, "traces", "xray_trace_recorded")
    if usage.traces_retrieved:
        add("X-Ray", "traces retrieved", n * usage.traces_retrieved, "traces", "xray_trace_retrieved")
    return CostBreakdown(tuple(lines))


def load_prices(path: Path = PRICES_PATH) -> dict[str, Any]:
    prices = json.loads(path.read_text(encoding="utf-8"))
    for name, entry in prices["prices"].items():
        if not {"usd", "per", "unit", "source"} <= entry.keys():
            raise ValueError(f"{path}: price {name} needs usd, per, unit and source")
    return prices


# ============================================================================== 1. import time

_IMPORT_CODE = r"""
import json, sys, time
layer, function_dir, no_pyc = sys.argv[1], sys.argv[2], sys.argv[3] == "1"
module = sys.argv[4] if len(sys.argv) > 4 else "app"
sys.path[:0] = [layer, function_dir]
if no_pyc:
    # As the layer ships: no .pyc and a read-only /opt, so every cold start compiles the
    # third-party and our own sources. The standard library keeps its cache (Lambda has one).
    import _frozen_importlib_external as bootstrap
    import os
    stdlib = os.path.dirname(os.__file__) + os.sep
    original = bootstrap.cache_from_source
    def cache_from_source(path, debug_override=None, *, optimization=None):
        if not path.startswith(stdlib) or "site-packages" in path:
            raise NotImplementedError  # SourceLoader.get_code then compiles and caches nothing
        return original(path, debug_override, optimization=optimization)
    bootstrap.cache_from_source = cache_from_source
    sys.dont_write_bytecode = True
started = time.perf_counter()
# __import__, not importlib.import_module: only the C import path reports to -X importtime, so the
# module itself is a node of the tree and handler_imports finds its children.
__import__(module)
elapsed = time.perf_counter() - started
print(json.dumps({"ms": elapsed * 1000, "modules": len(sys.modules)}))
"""


@dataclass(frozen=True)
class FunctionSpec:
    function_id: str
    directory: Path
    memory_mb: int
    environment: dict[str, str]


def function_specs() -> list[FunctionSpec]:
    """Every functions/*/app.py with its template logical id, MemorySize and resolved environment."""
    from infra.template import SERVERLESS_FUNCTION, function_environment, function_properties, load_template
    from infra.template import resolve_environment, resources

    template = load_template()
    by_dir = {str(props.get("CodeUri", "")).rstrip("/"): function_id
              for function_id, props in resources(template, SERVERLESS_FUNCTION).items()}
    account = "123456789012"
    refs = {
        "Table": "Table", "IdempotencyTable": "IdempotencyTable",
        "OrderEventsQueue": f"https://sqs.{REGION}.amazonaws.com/{account}/OrderEventsQueue",
        "OutboundEmailQueue": f"https://sqs.{REGION}.amazonaws.com/{account}/OutboundEmailQueue",
        "TrackingQueue": f"https://sqs.{REGION}.amazonaws.com/{account}/TrackingQueue",
        "ReturnEventsQueue": f"https://sqs.{REGION}.amazonaws.com/{account}/ReturnEventsQueue",
        "CampaignQueue": f"https://sqs.{REGION}.amazonaws.com/{account}/CampaignQueue",
        "InsertBatchQueue": f"https://sqs.{REGION}.amazonaws.com/{account}/InsertBatchQueue",
        "InsertsBucket": "postpurchase-bench-inserts",
        "EventBus": "postpurchase-bench",
        "EmailConfigurationSet": "EmailConfigurationSet",
        "LinkSigningSecret": "bench-link-signing-secret-0123456789abcdef",
        "LinkSigningKeys": f"arn:aws:secretsmanager:{REGION}:{account}:secret:LinkSigningKeys-AbCdEf",
        "PublicBaseUrl": "", "Api": "bench00000", "AWS::Region": REGION,
        "ReviewMediaBucket": "postpurchase-bench-review-media",
        "ReviewMediaBucket.RegionalDomainName": f"postpurchase-bench-review-media.s3.{REGION}.amazonaws.com",
        "SupportMailBucket": "supportmailbucket", "SupportMailDomain": "",
    }
    specs = []
    for app_file in sorted((REPO_ROOT / "functions").glob("*/app.py")):
        code_uri = app_file.parent.relative_to(REPO_ROOT).as_posix()
        function_id = by_dir.get(code_uri)
        if function_id is None:
            raise RuntimeError(f"{code_uri} is not the CodeUri of any function in template.yaml")
        props = function_properties(template, function_id)
        env = resolve_environment(function_environment(template, function_id), refs, template=template)
        env.update({
            # What Lambda sets: the Tracer is active (Tracing: Active); it patches botocore at the first invocation.
            "AWS_REGION": REGION, "AWS_DEFAULT_REGION": REGION,
            "AWS_LAMBDA_FUNCTION_NAME": f"postpurchase-{function_id}",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(props.get("MemorySize", 128)),
            "AWS_EXECUTION_ENV": "AWS_Lambda_python3.11",
            "LAMBDA_TASK_ROOT": str(app_file.parent),
        })
        specs.append(FunctionSpec(function_id, app_file.parent, int(props.get("MemorySize", 128)), env))
    return specs


@dataclass
class ImportResult:
    function_id: str
    runs_ms: list[float]
    no_pyc_runs_ms: list[float]
    modules: int
    heaviest: list[tuple[str, int, int]]  # (package, cumulative us, self us)
    handler_imports: list[tuple[str, int, int]]  # app.py's own imports: (module, cumulative us, self us)
    boto3_runs_ms: list[float] = field(default_factory=list)  # `import boto3` alone, same env, interleaved

    @property
    def median_ms(self) -> float:
        return statistics.median(self.runs_ms)

    @property
    def boto3_median_ms(self) -> float:
        return statistics.median(self.boto3_runs_ms)

    @property
    def boto3_ratio(self) -> float:
        """Issue 17's yardstick: the handler's import over `import boto3` alone (target <= 1.2, at most 1.6)."""
        return self.median_ms / self.boto3_median_ms

    @property
    def no_pyc_median_ms(self) -> float:
        return statistics.median(self.no_pyc_runs_ms)


def _run_import(spec: FunctionSpec, pycache: Path, *, no_pyc: bool = False,
                importtime: bool = False, module: str = "app") -> tuple[dict[str, Any], str]:
    command = [sys.executable, "-E", "-s", "-X", f"pycache_prefix={pycache}"]
    if importtime:
        command += ["-X", "importtime"]
    command += ["-c", _IMPORT_CODE, str(LAYER_PATH), str(spec.directory), "1" if no_pyc else "0", module]
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8", **spec.environment}
    done = subprocess.run(command, env=env, cwd=spec.directory, capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        raise RuntimeError(f"importing {spec.function_id} failed:\n{done.stderr[-4000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1]), done.stderr


def importtime_tree(stderr: str) -> list[tuple[str, int, int, int | None]]:
    """Parse `-X importtime` lines into (module, self us, cumulative us, parent index)."""
    rows: list[tuple[str, int, int, int]] = []  # module, self, cumulative, depth
    for line in stderr.splitlines():
        if not line.startswith("import time:") or "[us]" in line:
            continue
        head, cumulative_us, module = line.split("|")
        self_us = int(head.split(":")[1])
        depth = (len(module) - len(module.lstrip(" ")) - 1) // 2
        rows.append((module.strip(), self_us, int(cumulative_us), depth))
    parents: list[int | None] = [None] * len(rows)
    pending: list[int] = []
    for index, (_, _, _, depth) in enumerate(rows):  # children come before their parent
        while pending and rows[pending[-1]][3] > depth:
            parents[pending.pop()] = index
        pending.append(index)
    return [(module, self_us, cumulative, parents[i]) for i, (module, self_us, cumulative, _) in enumerate(rows)]


OWN_PACKAGES = ("app", "postpurchase")


def heaviest_packages(stderr: str, top: int | None = 5) -> list[tuple[str, int, int]]:
    """Dependencies (top-level packages other than ours), heaviest first: (package, cumulative us, self us).

    A package's cumulative time is the sum of the cumulative times of its imports made from
    outside it: what importing it lazily could save, including what it pulls in (so rows
    overlap). Self is the sum of its own modules' self times.
    """
    tree = importtime_tree(stderr)
    cumulative: Counter = Counter()
    own: Counter = Counter()
    for module, self_us, cumulative_us, parent in tree:
        package = module.split(".")[0]
        own[package] += self_us
        if parent is None or tree[parent][0].split(".")[0] != package:
            cumulative[package] += cumulative_us
    for package in OWN_PACKAGES:
        cumulative.pop(package, None)
    return [(package, us, own[package]) for package, us in cumulative.most_common(top)]


def handler_imports(stderr: str, top: int | None = 5) -> list[tuple[str, int, int]]:
    """What app.py imports at module level, heaviest first: (module, cumulative us, self us)."""
    tree = importtime_tree(stderr)
    roots = [i for i, (module, _, _, parent) in enumerate(tree) if module == "app" and parent is None]
    if not roots:
        return []
    children = [(module, cumulative_us, self_us) for module, self_us, cumulative_us, parent in tree
                if parent == roots[-1]]
    return sorted(children, key=lambda row: -row[1])[:top]


def median_profile(profiles: list[list[tuple[str, int, int]]], top: int = 5) -> list[tuple[str, int, int]]:
    """Per name, the median cumulative and self time over several `-X importtime` runs."""
    cumulative: dict[str, list[int]] = defaultdict(list)
    own: dict[str, list[int]] = defaultdict(list)
    for profile in profiles:
        for name, cumulative_us, self_us in profile:
            cumulative[name].append(cumulative_us)
            own[name].append(self_us)
    ranked = sorted(cumulative, key=lambda name: -statistics.median(cumulative[name]))
    return [(name, int(statistics.median(cumulative[name])), int(statistics.median(own[name])))
            for name in ranked[:top]]


IMPORTTIME_RUNS = 3


def measure_imports(runs: int, no_pyc_runs: int) -> list[ImportResult]:
    results = []
    with tempfile.TemporaryDirectory(prefix="bench-pycache-") as pycache_dir:
        pycache = Path(pycache_dir)
        for spec in function_specs():
            _run_import(spec, pycache)  # fills the bytecode cache (in a temporary directory)
            _run_import(spec, pycache, module="boto3")
            timings, boto3_timings, modules = [], [], 0
            for _ in range(runs):  # interleaved, so a busy moment slows both sides of the ratio alike
                result, _ = _run_import(spec, pycache)
                timings.append(result["ms"])
                modules = result["modules"]
                boto3_timings.append(_run_import(spec, pycache, module="boto3")[0]["ms"])
            no_pyc = [_run_import(spec, pycache, no_pyc=True)[0]["ms"] for _ in range(no_pyc_runs)]
            profiles = [_run_import(spec, pycache, importtime=True)[1] for _ in range(IMPORTTIME_RUNS)]
            results.append(ImportResult(
                spec.function_id, timings, no_pyc, modules,
                median_profile([heaviest_packages(p, top=None) for p in profiles]),
                median_profile([handler_imports(p, top=None) for p in profiles]), boto3_timings))
    return results


# ============================================================================== 2. AWS requests

@dataclass
class Invocation:
    function_id: str
    ms: float
    records: int
    requests: Counter
    log_bytes: int
    log_events: int


@dataclass
class Operation:
    """One business operation: what each function and the SQS pollers asked of AWS."""

    label: str
    requests: dict[str, Counter] = field(default_factory=lambda: defaultdict(Counter))  # phase -> counts
    billable_sqs: dict[str, float] = field(default_factory=lambda: defaultdict(float))  # phase -> requests
    write_units: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    read_units: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    invocations: list[Invocation] = field(default_factory=list)
    dynamodb: list["UnitDetail"] = field(default_factory=list)
    idle_receives: int = 0
    emails: int = 0
    status: int | None = None


class _LogSink:
    """Where the functions' logs and EMF metrics go during the run: counted, not printed."""

    def __init__(self) -> None:
        self.bytes = 0
        self.events = 0

    def write(self, text: str) -> int:
        self.bytes += len(text.encode("utf-8"))
        self.events += text.count("\n")
        return len(text)

    def flush(self) -> None:
        pass


class _Recorder:
    """Tags every AWS request with the phase it belongs to and prices DynamoDB and SQS requests."""

    def __init__(self, tables: Mapping[str, Any]) -> None:
        self.tables = tables      # table name -> TableSpec
        self.phase = "setup"
        self.operation: Operation | None = None
        self.unexpected: list[str] = []
        self.current_invocations: list[Invocation] = []
        self.max_sqs_payload = 0

    @contextmanager
    def in_phase(self, phase: str) -> Iterator[None]:
        previous, self.phase = self.phase, phase
        try:
            yield
        finally:
            self.phase = previous

    # ---- the hook on botocore's API call
    def call(self, make_call, client, operation: str, params: dict) -> Any:
        service = client.meta.service_model.service_id.replace(" ", "")
        if service == "DynamoDB":
            return self._dynamodb(make_call, client, operation, params)
        response = make_call(client, operation, params)
        if service == "SQS" and self.operation is not None:
            payload = _sqs_payload(operation, params, response)
            self.max_sqs_payload = max(self.max_sqs_payload, payload)
            self.operation.billable_sqs[self.phase] += sqs_billable_requests(payload)
        return response

    def _dynamodb(self, make_call, client, operation: str, params: dict) -> Any:
        writes = _write_targets(operation, params)
        before = {i: self._stored(table, key) for i, (table, key, _, _) in enumerate(writes)}
        response, error = None, None
        try:
            response = make_call(client, operation, params)
        except Exception as exc:  # conditional failures still consume capacity
            error = exc
        if self.operation is not None:
            after = {i: self._stored(table, key) for i, (table, key, _, _) in enumerate(writes)}
            self._price_dynamodb(operation, params, response, error, writes, before, after)
        if error is not None:
            raise error
        return response

    def _stored(self, table: str, key: Mapping[str, Any]) -> dict[str, Any] | None:
        from moto.core import DEFAULT_ACCOUNT_ID
        from moto.dynamodb.models import dynamodb_backends

        spec = self.tables[table]
        key = {k["AttributeName"]: key[k["AttributeName"]] for k in spec.key_schema}
        item = dynamodb_backends[DEFAULT_ACCOUNT_ID][REGION].get_item(table, key)
        return item.to_json()["Attributes"] if item is not None else None

    def _price_dynamodb(self, operation, params, response, error, writes, before, after) -> None:
        op = self.operation
        phase = self.phase
        if operation in ("GetItem", "Query", "Scan"):
            response = response or {}
            items = [response.get("Item")] if operation == "GetItem" else response.get("Items", [])
            size = sum(dynamodb_item_size(item) for item in items if item)
            consistent = bool(params.get("ConsistentRead"))
            units = read_request_units(size, consistent=consistent)
            op.read_units[phase] += units
            what = ", ".join(sorted({_item_kind(params["TableName"], item) for item in items if item})) or "no item"
            op.dynamodb.append(UnitDetail(phase, operation, params["TableName"], what,
                                          "strong" if consistent else "eventual", size, 0, units))
            return
        if operation == "BatchGetItem":  # each item is read (and rounded up to 4 KB) on its own
            for table, items in ((response or {}).get("Responses") or {}).items():
                consistent = bool(params["RequestItems"].get(table, {}).get("ConsistentRead"))
                for item in items:
                    size = dynamodb_item_size(item)
                    units = read_request_units(size, consistent=consistent)
                    op.read_units[phase] += units
                    op.dynamodb.append(UnitDetail(phase, operation, table, _item_kind(table, item),
                                                  "strong" if consistent else "eventual", size, 0, units))
            return
        if operation == "TransactGetItems":
            for entry in (response or {}).get("Responses", []):
                units = read_request_units(dynamodb_item_size(entry.get("Item")), consistent=True, transactional=True)
                op.read_units[phase] += units
                op.dynamodb.append(UnitDetail(phase, operation, "", "", "transaction",
                                              dynamodb_item_size(entry.get("Item")), 0, units))
            return
        if not writes:
            if operation not in ("DescribeTable", "ListTables", "DescribeTimeToLive"):  # control plane: free
                self.unexpected.append(f"DynamoDB {operation}")
            return
        failed = error is not None
        transactional = operation == "TransactWriteItems"
        for index, (table, _key, kind, new_item) in enumerate(writes):
            old, now = before[index], after[index]
            if kind == "Put" and now is None and not failed:
                now = new_item
            size = max(dynamodb_item_size(old), dynamodb_item_size(now if not failed else new_item))
            units = write_request_units(size, transactional=transactional)
            gsi = 0 if failed else _gsi_write_units(self.tables[table], old, now)
            op.write_units[phase] += units + gsi
            note = ("transaction " if transactional else "") + kind + (" (condition failed)" if failed else "")
            op.dynamodb.append(UnitDetail(phase, operation, table, _item_kind(table, now or old or new_item), note,
                                          size, units + gsi, 0.0, gsi))


@dataclass(frozen=True)
class UnitDetail:
    phase: str
    operation: str
    table: str
    item: str
    note: str
    item_bytes: int
    write_units: float
    read_units: float
    gsi_write_units: float = 0.0


def _item_kind(table: str, item: Mapping[str, Any] | None) -> str:
    if table == "IdempotencyTable":
        return "idempotency record"
    kind = (item or {}).get("type", {}).get("S")
    return f"{kind} item" if kind else "item"


def _write_targets(operation: str, params: dict) -> list[tuple[str, dict, str, dict | None]]:
    """(table, key, kind, new item for a Put) of every item a write request touches."""
    if operation == "PutItem":
        return [(params["TableName"], params["Item"], "Put", params["Item"])]
    if operation in ("UpdateItem", "DeleteItem"):
        return [(params["TableName"], params["Key"], operation[:-4], None)]
    if operation == "TransactWriteItems":
        out = []
        for action in params["TransactItems"]:
            (kind, body), = action.items()
            out.append((body["TableName"], body.get("Key") or body["Item"], kind, body.get("Item")))
        return out
    if operation == "BatchWriteItem":
        out = []
        for table, requests in params["RequestItems"].items():
            for request in requests:
                if "PutRequest" in request:
                    out.append((table, request["PutRequest"]["Item"], "Put", request["PutRequest"]["Item"]))
                else:
                    out.append((table, request["DeleteRequest"]["Key"], "Delete", None))
        return out
    return []


def _gsi_write_units(spec, old: dict | None, new: dict | None) -> int:
    """Extra WRUs of the global secondary indexes an item write changes (not doubled in transactions)."""
    units = 0
    key_names = [k["AttributeName"] for k in spec.key_schema]
    for index in spec.global_secondary_indexes:
        names = [k["AttributeName"] for k in index["KeySchema"]]

        def entry(item):
            if not item or not all(name in item for name in names):
                return None
            if index["Projection"]["ProjectionType"] == "ALL":
                return item
            return {name: item[name] for name in [*key_names, *names]}

        was, will = entry(old), entry(new)
        if was == will:
            continue
        same_key = was is not None and will is not None and all(was[n] == will[n] for n in names)
        if same_key:
            units += write_request_units(max(dynamodb_item_size(was), dynamodb_item_size(will)))
        else:
            units += (write_request_units(dynamodb_item_size(was)) if was else 0) + \
                     (write_request_units(dynamodb_item_size(will)) if will else 0)
    return units


def _sqs_payload(operation: str, params: dict, response: Any) -> int:
    def message_size(body: str, attributes: Mapping[str, Any]) -> int:
        size = len(body.encode("utf-8"))
        for name, value in (attributes or {}).items():
            size += len(name) + len(value.get("DataType", "")) + len(str(value.get("StringValue", "")).encode())
        return size

    if operation == "SendMessage":
        return message_size(params["MessageBody"], params.get("MessageAttributes"))
    if operation == "SendMessageBatch":
        return sum(message_size(e["MessageBody"], e.get("MessageAttributes")) for e in params["Entries"])
    if operation == "ReceiveMessage":
        return sum(message_size(m["Body"], m.get("MessageAttributes")) for m in (response or {}).get("Messages", []))
    return 0


class _PollerClient:
    """The pump's SQS client, noting the polls: Lambda's event source mapping makes these."""

    def __init__(self, client) -> None:
        self._client = client
        self.idle_receives = 0

    def receive_message(self, **kwargs):
        response = self._client.receive_message(**kwargs)
        if not response.get("Messages"):
            self.idle_receives += 1
        return response

    def __getattr__(self, name):
        return getattr(self._client, name)


_window_ids = iter(range(1, 1 << 62))


@contextmanager
def _window() -> Iterator[Counter]:
    """count_aws_requests(), safe to nest.

    count_aws_requests() takes its counter off the active list with list.remove, which matches
    by equality: when two nested windows hold the same counts, the outer one is removed and the
    inner one keeps counting. A unique marker key makes every window's counter distinct; it is
    dropped when the window closes.
    """
    from infra.aws_requests import count_aws_requests

    marker = ("bench-window", str(next(_window_ids)))
    with count_aws_requests() as counts:
        counts[marker] = 1
        yield counts
    counts.pop(marker, None)


@contextmanager
def _hooked(recorder: _Recorder) -> Iterator[Counter]:
    """An outer count window for the whole run, with the recorder on top of botocore's API call."""
    from botocore.client import BaseClient

    with _window() as everything:
        below = BaseClient._make_api_call

        def observed(client, operation, params):
            return recorder.call(below, client, operation, params)

        BaseClient._make_api_call = observed
        try:
            yield everything
        finally:
            BaseClient._make_api_call = below


def _order_payload(n: int, now: datetime) -> dict[str, Any]:
    order = json.loads(SAMPLE_ORDER.read_text(encoding="utf-8"))
    email = f"bench.customer{n}@example.com"
    order.update(order_id=f"BENCH-{n}", placed_at=now.isoformat().replace("+00:00", "Z"), email=email)
    order["customer"].update(id=f"c-bench-{n}", email=email)
    return order


@dataclass
class RequestsResult:
    first_order: Operation
    orders: list[Operation]
    duplicate: Operation
    get_order: Operation
    memory_mb: dict[str, int]
    function_ids: list[str]
    sqs_max_message_bytes: int = 0
    analytics: Operation | None = None  # GET /console/{m}/analytics?days=30, signed in, warm
    insert: Operation | None = None  # GET /v1/orders/{id}/insert.pdf
    insert_batch: Operation | None = None  # POST /v1/inserts/batches, rendered, then GET
    insert_batch_pages: int = 0


def instrument_runtime(runtime, sink: "_LogSink", port: int) -> tuple[list[float], "_PollerClient"]:
    """Measure a started LocalRuntime as Lambda would bill it: app logs and EMF lines into
    `sink`, API wall time per request, the pump's SQS polling counted apart; serve the API."""
    os.environ["POWERTOOLS_METRICS_DISABLED"] = "false"  # EMF lines are log volume too
    from postpurchase.observability import logger as app_logger

    for handler in app_logger._logger.handlers:
        if hasattr(handler, "setStream"):
            handler.setStream(sink)
    api_ms: list[float] = []

    def timed(event, get_response):
        started = time.perf_counter()
        try:
            return get_response(event)
        finally:
            api_ms.append((time.perf_counter() - started) * 1000)

    runtime.api.register_middleware(timed, "http")
    _serve_quietly(runtime, port)
    poller = _PollerClient(runtime.pump._sqs)
    runtime.pump._sqs = poller
    return api_ms, poller


def measure_requests(warm_orders: int) -> RequestsResult:
    import urllib.error
    import urllib.request

    from infra.local.runtime import LocalRuntime, free_port
    from infra.template import function_properties, load_template, tables

    template = load_template()
    function_ids = ["ApiFunction", *(c.function_id for c in _consumers(template))]
    from infra.template import SERVERLESS_FUNCTION, resources

    # Every function's, scheduled ones too (the cold-start line covers every function).
    memory_mb = {f: int(function_properties(template, f).get("MemorySize", 128))
                 for f in [*function_ids, *resources(template, SERVERLESS_FUNCTION)]}
    recorder = _Recorder({spec.logical_id: spec for spec in tables(template)})
    sink = _LogSink()

    with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
        port = free_port()
        base_url = f"http://127.0.0.1:{port}"
        # INFO as in template.yaml, so the log volume is the production one.
        runtime = LocalRuntime(outbox_dir=Path(tmp) / "outbox", public_base_url=base_url, log_level="INFO",
                               deployed_shards=True).start()
        try:
            api_ms, poller = instrument_runtime(runtime, sink, port)

            for consumer in runtime.pump.consumers:
                consumer.handler = _timed_consumer(consumer.function_id, consumer.handler, recorder, sink)

            def http(method: str, path: str, body: dict | None = None) -> tuple[int, dict]:
                data = json.dumps(body).encode() if body is not None else None
                pdf = path.endswith(".pdf")  # the packing insert: binary, asked for by Accept
                request = urllib.request.Request(base_url + path, data=data, method=method, headers={
                    "Content-Type": "application/json", **({"Accept": "application/pdf"} if pdf else {}),
                    "Authorization": f"Bearer {runtime.credentials.api_key}"})
                try:
                    with urllib.request.urlopen(request, timeout=60) as response:
                        raw = response.read()
                        if pdf:
                            return (response.status if raw.startswith(b"%PDF-") else 599), {}
                        return response.status, json.loads(raw or b"{}")
                except urllib.error.HTTPError as error:
                    return error.code, json.loads(error.read() or b"{}")

            def api_call(operation: Operation, method: str, path: str, body: dict | None = None) -> None:
                recorder.operation = operation
                before_bytes, before_events, before_calls = sink.bytes, sink.events, len(api_ms)
                with recorder.in_phase("ApiFunction"), _window() as counts:
                    operation.status, _ = http(method, path, body)
                if len(api_ms) != before_calls + 1:
                    raise RuntimeError(f"{method} {path}: expected one API invocation, "
                                       f"saw {len(api_ms) - before_calls}")
                operation.requests["ApiFunction"].update(counts)
                operation.invocations.append(Invocation("ApiFunction", api_ms[-1], 0, Counter(counts),
                                                        sink.bytes - before_bytes, sink.events - before_events))

            def settle(operation: Operation) -> None:
                recorder.operation = operation
                idle_before = poller.idle_receives
                with recorder.in_phase("polling"), _window() as counts:
                    for _ in range(50):
                        if runtime.pump.pump_once() == 0:
                            break
                    else:
                        raise RuntimeError("the queues did not drain in 50 rounds")
                operation.idle_receives = poller.idle_receives - idle_before
                handled = Counter()
                for invocation in operation.invocations:
                    if invocation.function_id != "ApiFunction":
                        handled.update(invocation.requests)
                        operation.requests[invocation.function_id].update(invocation.requests)
                polling = counts - handled
                if any(op not in POLLING_OPERATIONS for _, op in polling):
                    raise RuntimeError(f"unexpected requests outside the handlers while pumping: {dict(polling)}")
                # Empty receives are the pollers' idle cost (continuous, not per order): reported apart.
                polling[("SQS", "ReceiveMessage")] -= operation.idle_receives
                operation.requests["polling"].update(+polling)
                operation.billable_sqs["polling"] -= operation.idle_receives
                operation.emails = len(runtime.outbox.collect())

            def place(label: str, payload: dict) -> Operation:
                operation = Operation(label)
                recorder.current_invocations = operation.invocations
                api_call(operation, "POST", "/v1/orders", payload)
                if operation.status != 202:
                    raise RuntimeError(f"POST /v1/orders answered {operation.status} for {label}")
                settle(operation)
                return operation

            with _hooked(recorder):
                now = datetime.now(timezone.utc)
                # Fresh containers: seeding the demo store filled the (per-process) merchant caches.
                from postpurchase.storage.merchants import clear_caches

                clear_caches()
                first = place("first order (fresh containers)", _order_payload(0, now))
                orders = [place(f"order {n}", _order_payload(n, now)) for n in range(1, warm_orders + 1)]
                for operation in [first, *orders]:
                    if operation.emails != 1:
                        raise RuntimeError(f"{operation.label}: {operation.emails} emails sent, expected 1")

                duplicate = Operation("same order posted again")
                recorder.current_invocations = duplicate.invocations
                api_call(duplicate, "POST", "/v1/orders", _order_payload(1, now))
                if duplicate.status != 202:
                    raise RuntimeError(f"the duplicate POST answered {duplicate.status}, expected 202")
                settle(duplicate)
                if duplicate.emails or any(i.function_id != "ApiFunction" for i in duplicate.invocations):
                    raise RuntimeError("the duplicate POST caused processing or an email")

                warmup = Operation("GET warm-up")
                api_call(warmup, "GET", "/v1/orders/BENCH-1")
                get_order = Operation("GET /v1/orders/{id}")
                api_call(get_order, "GET", "/v1/orders/BENCH-1")
                if get_order.status != 200:
                    raise RuntimeError(f"GET /v1/orders/BENCH-1 answered {get_order.status}")
                analytics = _console_analytics(runtime, base_url, port, recorder, sink, api_ms)

                # The packing insert: one order's PDF (after a warm-up that loads fpdf2 and the
                # fonts), and a batch of the day's orders rendered by functions/insert_batches.
                api_call(Operation("insert warm-up"), "GET", "/v1/orders/BENCH-1/insert.pdf")
                insert = Operation("GET /v1/orders/{id}/insert.pdf")
                api_call(insert, "GET", "/v1/orders/BENCH-1/insert.pdf")
                if insert.status != 200:
                    raise RuntimeError(f"GET /v1/orders/BENCH-1/insert.pdf answered {insert.status}")
                insert_batch = Operation("a day's insert batch")
                recorder.current_invocations = insert_batch.invocations
                recorder.operation = insert_batch
                with recorder.in_phase("ApiFunction"), _window() as counts:
                    status, created = http("POST", "/v1/inserts/batches", {"date": now.date().isoformat()})
                insert_batch.requests["ApiFunction"].update(counts)
                if status != 202:
                    raise RuntimeError(f"POST /v1/inserts/batches answered {status}")
                settle(insert_batch)
                with recorder.in_phase("ApiFunction"), _window() as counts:
                    status, batch = http("GET", f"/v1/inserts/batches/{created['batch_id']}")
                insert_batch.requests["ApiFunction"].update(counts)
                if status != 200 or batch.get("status") != "ready":
                    raise RuntimeError(f"the insert batch did not render: {status} {batch}")
                insert_batch_pages = int(batch["order_count"])
            if recorder.unexpected:
                raise RuntimeError(f"requests the bench cannot price: {sorted(set(recorder.unexpected))}")
        finally:
            runtime.stop()
    return RequestsResult(first, orders, duplicate, get_order, memory_mb, function_ids, recorder.max_sqs_payload,
                          analytics, insert, insert_batch, insert_batch_pages)


def _console_analytics(runtime, base_url: str, port: int, recorder: "_Recorder", sink: "_LogSink",
                       api_ms: list[float]) -> Operation:
    """The console's analytics page over the bench's orders: signed in (form + cookie), once to
    warm the container's caches, then measured. It must read with one DynamoDB Query."""
    import http.client
    from urllib.parse import urlencode

    merchant_id = runtime.credentials.merchant_id

    def page(operation: Operation, method: str, path: str, body: bytes | None = None,
             headers: dict | None = None):
        recorder.operation = operation
        recorder.current_invocations = operation.invocations
        before_bytes, before_events, before_calls = sink.bytes, sink.events, len(api_ms)
        with recorder.in_phase("ApiFunction"), _window() as counts:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            connection.request(method, path, body, headers or {})
            answer = connection.getresponse()
            answer.read()
            connection.close()
        operation.status = answer.status
        if len(api_ms) != before_calls + 1:
            raise RuntimeError(f"{method} {path}: expected one API invocation, saw {len(api_ms) - before_calls}")
        operation.requests["ApiFunction"].update(counts)
        operation.invocations.append(Invocation("ApiFunction", api_ms[-1], 0, Counter(counts),
                                                sink.bytes - before_bytes, sink.events - before_events))
        return answer

    signed = page(Operation("console sign-in"), "POST", f"/console/{merchant_id}/signin",
                  urlencode({"api_key": runtime.credentials.api_key, "lang": "en"}).encode(),
                  {"Content-Type": "application/x-www-form-urlencoded", "Origin": base_url})
    cookie = {"Cookie": (signed.getheader("Set-Cookie") or "").split(";", 1)[0]}
    path = f"/console/{merchant_id}/analytics?days=30"
    page(Operation("analytics warm-up"), "GET", path, headers=cookie)
    analytics = Operation("GET /console/{m}/analytics?days=30")
    page(analytics, "GET", path, headers=cookie)
    dynamodb = {op: n for (service, op), n in analytics.requests["ApiFunction"].items() if service == "DynamoDB"}
    if analytics.status != 200 or dynamodb != {"Query": 1}:
        raise RuntimeError(f"the analytics page answered {analytics.status} with DynamoDB {dynamodb}, "
                           "expected 200 and one Query")
    return analytics


def _serve_quietly(runtime, port: int) -> None:
    """serve_api without Chalice's banner on stdout and request log on stderr."""
    import io
    import socket

    from chalice.local import ChaliceRequestHandler

    ChaliceRequestHandler.log_message = lambda *args, **kwargs: None
    banner = io.StringIO()
    with redirect_stdout(banner):
        runtime.serve_api("127.0.0.1", port)
        deadline = time.monotonic() + 5
        while not banner.getvalue() and time.monotonic() < deadline:
            time.sleep(0.01)
    with socket.create_connection(("127.0.0.1", port), timeout=5):
        pass


def _consumers(template) -> list:
    from infra.template import sqs_consumers

    return sqs_consumers(template)


def _timed_consumer(function_id: str, handler, recorder: _Recorder, sink: _LogSink):
    def timed(event, context):
        before_bytes, before_events = sink.bytes, sink.events
        with recorder.in_phase(function_id), _window() as counts, redirect_stdout(sink):
            started = time.perf_counter()
            result = handler(event, context)
            elapsed = (time.perf_counter() - started) * 1000
        recorder.current_invocations.append(Invocation(function_id, elapsed, len(event["Records"]), Counter(counts),
                                                       sink.bytes - before_bytes, sink.events - before_events))
        return result

    return timed


# ============================================================================== 3. usage and cost


def order_usage(result: RequestsResult) -> OrderUsage:
    """Billable quantities of one warm order (mean over the warm orders)."""
    orders = result.orders
    total: Counter = Counter()
    for operation in orders:
        for counts in operation.requests.values():
            total.update(counts)
    requests = {key: count / len(orders) for key, count in total.items()}
    sqs_billable = sum(sum(o.billable_sqs.values()) for o in orders) / len(orders)
    sqs_raw = sum(count for (service, _), count in requests.items() if service == "SQS")
    if sqs_raw:  # bill SQS by 64 KB chunks: scale the SQS operations to the billable count
        requests = {key: (count * sqs_billable / sqs_raw if key[0] == "SQS" else count)
                    for key, count in requests.items()}

    invocations: dict[str, float] = {f: 0.0 for f in result.function_ids}
    durations: dict[str, list[float]] = defaultdict(list)
    log_bytes = 0.0
    platform_bytes = sum(len(line.encode()) for line in LAMBDA_PLATFORM_LOG_LINES)
    for operation in orders:
        for invocation in operation.invocations:
            invocations[invocation.function_id] += 1 / len(orders)
            durations[invocation.function_id].append(invocation.ms)
            events = invocation.log_events + len(LAMBDA_PLATFORM_LOG_LINES)
            log_bytes += (invocation.log_bytes + platform_bytes + events * LOG_EVENT_OVERHEAD_BYTES) / len(orders)
    return OrderUsage(
        requests=requests,
        invocations=invocations,
        durations_ms={f: statistics.median(durations[f]) for f in durations},
        memory_mb=result.memory_mb,
        api_requests=invocations.get("ApiFunction", 0.0),
        write_units=sum(sum(o.write_units.values()) for o in orders) / len(orders),
        read_units=sum(sum(o.read_units.values()) for o in orders) / len(orders),
        log_bytes=log_bytes,
        traces_recorded=XRAY_SAMPLED_FRACTION * sum(invocations.values()),
        traces_retrieved=XRAY_TRACES_RETRIEVED_PER_ORDER,
    )


# ============================================================================== report

PHASE_TITLES = {"ApiFunction": "API request", "OrderEventsFunction": "order_events processing",
                "EmailSenderFunction": "email_sender processing",
                "polling": "SQS polling (done by Lambda, billed)"}


def _fmt(value: float) -> str:
    return f"{value:g}" if value == int(value) else f"{value:.2f}"


def _request_table(operation: Operation, phases: list[str]) -> list[str]:
    lines = ["| part | service | operation | requests |", "|---|---|---|---:|"]
    for phase in phases:
        counts = operation.requests.get(phase) or Counter()
        for (service, op), count in sorted(counts.items()):
            lines.append(f"| {PHASE_TITLES.get(phase, phase)} | {service} | {op} | {count} |")
        if not counts:
            lines.append(f"| {PHASE_TITLES.get(phase, phase)} | - | - | 0 |")
    by_service: Counter = Counter()
    for counts in operation.requests.values():
        for (service, _), count in counts.items():
            by_service[service] += count
    lines.append(f"| **total** | {', '.join(f'{s} {n}' for s, n in sorted(by_service.items()))} | | "
                 f"**{sum(by_service.values())}** |")
    return lines


def _units_line(operation: Operation) -> str:
    wru = sum(operation.write_units.values())
    rru = sum(operation.read_units.values())
    return f"DynamoDB request units: {_fmt(wru)} WRU, {_fmt(rru)} RRU."


def _units_table(operation: Operation) -> list[str]:
    lines = ["| part | request | table | item | kind | item bytes | WRU (of which GSI) | RRU |",
             "|---|---|---|---|---|---:|---:|---:|"]
    for d in operation.dynamodb:
        gsi = f" ({_fmt(d.gsi_write_units)})" if d.gsi_write_units else ""
        lines.append(f"| {PHASE_TITLES.get(d.phase, d.phase)} | {d.operation} | {d.table} | {d.item} | {d.note} | "
                     f"{d.item_bytes} | {_fmt(d.write_units)}{gsi} | {_fmt(d.read_units)} |")
    lines.append(f"| **total** | | | | | | **{_fmt(sum(operation.write_units.values()))}** | "
                 f"**{_fmt(sum(operation.read_units.values()))}** |")
    return lines


def _diff(first: Operation, warm: Operation) -> list[str]:
    out = []
    for phase in dict.fromkeys([*first.requests, *warm.requests]):
        extra = first.requests.get(phase, Counter()) - warm.requests.get(phase, Counter())
        for (service, op), count in sorted(extra.items()):
            out.append(f"{PHASE_TITLES.get(phase, phase)} +{count} {service} {op}")
    return out


def render_report(imports: list[ImportResult], requests: RequestsResult, usage: OrderUsage,
                  cost: CostBreakdown, prices: Mapping[str, Any], runs: int, no_pyc_runs: int,
                  elapsed_s: float) -> str:
    out: list[str] = []
    w = out.append
    w(f"### Benchmark run {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC")
    w("")
    w(f"Machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
      f"{platform.system()}. All times are this machine's CPU, not Lambda's arm64 (Graviton): at 512 MB "
      "a function gets about 0.3 of a vCPU, so expect CPU-bound work in handlers (rendering, client "
      "creation) to take several times longer there. The INIT phase is reported to get more CPU; read "
      "Init Duration in Lambda's REPORT lines for the real import time.")
    w("")
    w(f"#### 1. Cold-start import time (`import app`, median of {runs} fresh interpreters)")
    w("")
    w("With .pyc: bytecode present, as the layer ships it (layers/common/Makefile compiles it once; "
      "/opt is read-only on Lambda). Without .pyc: what shipping no bytecode would cost, each cold start "
      f"compiling the sources again, median of {no_pyc_runs}. Lambda's "
      "environment is emulated: LAMBDA_TASK_ROOT is set, so the Tracer is active (built, and botocore "
      "patched, at the first invocation: section 1b).")
    w("")
    w("Ratio: the handler's median over the median of `import boto3` alone in the same environment, "
      "measured interleaved with it (issue 17: at most 1.6, target 1.2).")
    w("")
    w("| function | with .pyc (ms) | range (ms) | `import boto3` (ms) | ratio | without .pyc (ms) | modules loaded |")
    w("|---|---:|---:|---:|---:|---:|---:|")
    for r in imports:
        w(f"| {r.function_id} | {r.median_ms:.0f} | {min(r.runs_ms):.0f}-{max(r.runs_ms):.0f} | "
          f"{r.boto3_median_ms:.0f} | {r.boto3_ratio:.2f} | {r.no_pyc_median_ms:.0f} | {r.modules} |")
    w("")
    w(f"Heaviest dependencies (`python -X importtime`, with .pyc, median of {IMPORTTIME_RUNS} runs). Cumulative "
      "= time of the imports of the package made from outside it, including what it imports in turn: what "
      "importing it lazily could save (rows overlap). Own = the self time of its own modules.")
    w("")
    w("| function | package | cumulative (ms) | own modules (ms) |")
    w("|---|---|---:|---:|")
    for r in imports:
        for package, cumulative_us, self_us in r.heaviest:
            w(f"| {r.function_id} | {package} | {cumulative_us / 1000:.0f} | {self_us / 1000:.0f} |")
    w("")
    w("The handler module's own imports (app.py's import lines), heaviest first:")
    w("")
    w("| function | app.py imports | cumulative (ms) |")
    w("|---|---|---:|")
    for r in imports:
        w(f"| {r.function_id} | " + ", ".join(f"{module} {cumulative_us / 1000:.0f}"
                                             for module, cumulative_us, _ in r.handler_imports) + " | "
          f"{sum(c for _, c, _ in r.handler_imports) / 1000:.0f} (top {len(r.handler_imports)}) |")
    w("")
    w("#### 2. AWS requests per business operation (local runtime, `count_aws_requests`)")
    w("")
    phases = [*requests.function_ids, "polling"]
    warm = requests.orders[0]
    same = all(dict(o.requests) == dict(warm.requests) for o in requests.orders)
    w(f"**(a) One order, end to end** (POST /v1/orders -> order_events -> email_sender -> SES), warm "
      f"containers. Measured on {len(requests.orders)} orders of new customers: "
      f"{'identical for each' if same else 'NOT identical (costs use the mean; the table shows the first)'}.")
    w("")
    out.extend(_request_table(warm, phases))
    w("")
    w(_units_line(warm) + f" Largest SQS message {requests.sqs_max_message_bytes} bytes: every SQS request is "
      "one 64 KB chunk.")
    w("")
    out.extend(_units_table(warm))
    w("")
    extra = _diff(requests.first_order, warm)
    w("First order after the containers start (caches empty): " + ("; ".join(extra) if extra else "nothing more")
      + ". Merchant settings and API keys are cached per container for 60 s, so a container that sees less "
        "than one order a minute pays these on every order. The pump's empty receives at the end of each "
        f"drain ({warm.idle_receives} here) are Lambda's idle polling: a fixed cost per queue, not per order, "
        "left out.")
    w("")
    w("**(b) The same order POSTed again** (a storefront retry: 202, nothing enqueued):")
    w("")
    out.extend(_request_table(requests.duplicate, ["ApiFunction"]))
    w("")
    out.extend(_units_table(requests.duplicate))
    w("")
    w("**(c) GET /v1/orders/{id}** (warm, after one call):")
    w("")
    out.extend(_request_table(requests.get_order, ["ApiFunction"]))
    w("")
    out.extend(_units_table(requests.get_order))
    w("")
    if requests.analytics is not None:
        w("**(d) GET /console/{merchant}/analytics?days=30** (signed in, warm; the counters the orders above "
          "kept, one Query of the STATS partition):")
        w("")
        out.extend(_request_table(requests.analytics, ["ApiFunction"]))
        w("")
        out.extend(_units_table(requests.analytics))
    if requests.insert is not None and requests.insert_batch is not None:
        w("**(e) The packing insert**: GET /v1/orders/{id}/insert.pdf (warm, fpdf2 loaded; the order's "
          "partition, and the referral and loyalty programmes looked up for the extras, which the bench store "
          "does not run; the merchant is cached):")
        w("")
        out.extend(_request_table(requests.insert, ["ApiFunction"]))
        w("")
        pages = requests.insert_batch_pages
        batch_phases = [phase for phase in ("ApiFunction", "InsertBatchesFunction", "polling")
                        if requests.insert_batch.requests.get(phase)]
        total = sum(sum(c.values()) for c in requests.insert_batch.requests.values())
        w(f"A day's batch (POST /v1/inserts/batches, the consumer rendering {pages} orders into one PDF in S3, "
          f"then GET with the presigned URL): {total} requests, **{total / max(pages, 1):.2f} per insert**.")
        w("")
        out.extend(_request_table(requests.insert_batch, batch_phases))
        w("")
    w("Handler wall time per invocation on this machine (median over the warm orders; API: the Chalice "
      "view inside its middleware; consumers: the whole handler). AWS is moto in this process, so AWS "
      "latency here is moto's, not DynamoDB's.")
    w("")
    w("| function | invocations per order | median ms | range ms | log bytes per invocation (app + EMF) |")
    w("|---|---:|---:|---:|---:|")
    for function_id in requests.function_ids:
        timings = [i for o in requests.orders for i in o.invocations if i.function_id == function_id]
        if not timings:  # a consumer an order never reaches (the tracking worker): see the Tracking section
            continue
        w(f"| {function_id} | {_fmt(usage.invocations.get(function_id, 0))} | "
          f"{statistics.median(i.ms for i in timings):.1f} | {min(i.ms for i in timings):.1f}-"
          f"{max(i.ms for i in timings):.1f} | {statistics.median(i.log_bytes for i in timings):.0f} |")
    for label, operation in (("first order", requests.first_order), ("duplicate POST", requests.duplicate),
                             ("GET order", requests.get_order)):
        for invocation in operation.invocations:
            w(f"| {invocation.function_id} ({label}) | | {invocation.ms:.1f} | | {invocation.log_bytes} |")
    w("")
    w(f"#### 3. AWS cost per 1,000 orders (us-east-1 list prices as of {prices['as_of']} from "
      "infra/aws_prices.json; free tier excluded)")
    w("")
    w("| service | item | quantity per 1,000 orders | unit price (USD) | USD per 1,000 orders |")
    w("|---|---|---:|---:|---:|")
    for line in cost.lines:
        w(f"| {line.service} | {line.item} | {line.quantity:,.4g} {line.unit} | {line.unit_price:.4g} | "
          f"{line.usd:.4f} |")
    w(f"| **total** | | | | **{cost.total:.4f}** |")
    w("")
    w("By service: " + ", ".join(f"{service} ${usd:.4f}" for service, usd in
                                sorted(cost.by_service().items(), key=lambda kv: -kv[1])) + ".")
    w("")
    platform_bytes = sum(len(line.encode()) for line in LAMBDA_PLATFORM_LOG_LINES)
    w("Estimates and assumptions: Lambda duration = handler wall time measured here, rounded up to 1 ms, x "
      "MemorySize from template.yaml (warm invocations; this machine's CPU, so on Lambda it is likely "
      "higher); one invocation per message (low volume: BatchSize 10 with a 1 s window batches when "
      "busy, which lowers Lambda requests and SQS polling per order); logs = measured app log and EMF "
      f"bytes at POWERTOOLS_LOG_LEVEL=INFO + {platform_bytes} bytes of Lambda START/END/REPORT/XRAY lines + "
      f"{LOG_EVENT_OVERHEAD_BYTES} bytes per log event = {usage.log_bytes:.0f} bytes per order; X-Ray: one "
      f"trace per invocation x sampled fraction {XRAY_SAMPLED_FRACTION} (low-volume upper bound; the "
      "default rule samples 5% above 1 request/s), none retrieved; SQS polling: one receive and one delete "
      "per message (Lambda deletes in batches, so an upper bound), idle polling left out. Not included: "
      "storage and PITR (per GB-month), KMS for the tables' AWS-managed key, CloudWatch custom metrics, "
      "API Gateway detailed metrics and alarms (per metric per month), data transfer.")
    w("")
    gb_second = unit_price(prices, "lambda_gb_second_arm64")
    w("Cold starts: Lambda bills the INIT phase too. One cold start at the import time measured here without "
      ".pyc costs: " + ", ".join(
          f"{r.function_id} {gb_seconds(r.no_pyc_median_ms, requests.memory_mb[r.function_id]):.3f} GB-s "
          f"(${gb_seconds(r.no_pyc_median_ms, requests.memory_mb[r.function_id]) * gb_second * 1000:.4f} "
          "per 1,000 cold starts)" for r in imports) + ".")
    w("")
    w(f"In one line: about ${cost.total:.2f} of AWS per 1,000 orders ({cost.total / 10:.4f} cents per order), "
      f"of which SES's per-email price is {cost.by_service().get('SES', 0) / cost.total:.0%}; that per-order "
      "figure is what to set against per-shipment SaaS pricing.")
    w("")
    w(f"_Bench run time {elapsed_s:.0f} s._")
    return "\n".join(out) + "\n"


def main() -> int:
    started = time.perf_counter()
    runs = int(os.environ.get("BENCH_RUNS", "7"))
    no_pyc_runs = int(os.environ.get("BENCH_NO_PYC_RUNS", "3"))
    warm_orders = int(os.environ.get("BENCH_ORDERS", "5"))
    if runs < 1 or no_pyc_runs < 1 or warm_orders < 1:
        raise SystemExit("BENCH_RUNS, BENCH_NO_PYC_RUNS and BENCH_ORDERS must be at least 1")
    prices = load_prices()
    print(f"bench: import time ({runs} runs with .pyc, {no_pyc_runs} without, per function)...", file=sys.stderr)
    imports = measure_imports(runs, no_pyc_runs)
    from infra import bench_first_call  # section 1b: the first invocation beside the import (issue 17)

    print("bench: first invocations (fresh interpreters against moto's server)...", file=sys.stderr)
    first_calls = bench_first_call.render(bench_first_call.measure())
    print(f"bench: AWS requests (local runtime, 1 + {warm_orders} orders)...", file=sys.stderr)
    requests = measure_requests(warm_orders)
    usage = order_usage(requests)
    cost = cost_per_thousand(usage, prices)
    from infra import bench_tracking  # sections 4-6: carrier tracking

    tracking = bench_tracking.run()
    report = render_report(imports, requests, usage, cost, prices, runs, no_pyc_runs,
                           time.perf_counter() - started)
    report = report.replace("#### 2. AWS requests", "\n".join(first_calls) + "\n\n#### 2. AWS requests", 1)
    report = bench_tracking.append_section(report, bench_tracking.render(tracking, prices))
    from infra import bench_calendar  # section 7: the communication calendar

    report = bench_tracking.append_section(report, bench_calendar.render(bench_calendar.run(), prices))
    from infra import bench_reviews  # section 8: storefront reviews, requests per public read

    report = bench_tracking.append_section(report, bench_reviews.render(bench_reviews.run(), prices))
    from infra import bench_support  # section 9: customer support, per 1,000 support messages

    report = bench_tracking.append_section(report, bench_support.render(bench_support.run(), prices))
    print(report)
    output = Path(os.environ.get("BENCH_OUTPUT", REPO_ROOT / "test-artifacts" / "bench.md"))
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(report, encoding="utf-8")
    print(f"bench: report written to {output}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(LAYER_PATH))
    sys.exit(main())
