"""The arithmetic and event choices of `make bench` section 1b (infra/bench_first_call.py); no timing."""
import json

from infra.bench_first_call import FirstCallResult, _events, _sample, render
from infra.bench import REPO_ROOT


def _run(import_cpu: float, first_cpu: float, second_cpu: float) -> dict:
    return {"import": [import_cpu * 2, import_cpu], "invocation 1": [first_cpu * 2, first_cpu, None, 0],
            "invocation 2": [second_cpu * 2, second_cpu, None, 1]}


def test_ratio_is_median_first_invocation_cpu_over_median_import_cpu():
    result = FirstCallResult("F", "f.json", [_run(100, 300, 10), _run(200, 100, 20), _run(150, 450, 30)])
    assert result.median("import", 1) == 150
    assert result.median("invocation 1", 1) == 300
    assert result.median("invocation 1", 0) == 600
    assert result.ratio == 2.0
    [row] = [line for line in render([result]) if line.startswith("| F |")]
    assert row == "| F | f.json | 150 (300) | 300 (600) | 20 (40) | 2.00 | 0, 1 |"


def test_second_api_call_is_another_new_order_and_second_batch_has_new_message_ids():
    first, second = _events("api_place_order.json")
    assert json.loads(second["body"])["order_id"] == json.loads(first["body"])["order_id"] + "-2"
    assert second["headers"] == first["headers"]
    first, second = _events("order_events_order_placed.json")
    assert [r["body"] for r in second["Records"]] == [r["body"] for r in first["Records"]]
    assert all(a["messageId"] != b["messageId"] for a, b in zip(first["Records"], second["Records"]))


def test_every_function_has_its_sample():
    for app in sorted((REPO_ROOT / "functions").glob("*/app.py")):
        assert (REPO_ROOT / "events" / _sample(app.parent)).is_file()
