"""The local API gateway serves a Chalice app from many threads; and `make load`'s statistics."""
from __future__ import annotations

import threading

import pytest
from chalice import Chalice
from chalice.test import Client

from infra.load import Outcome, percentile, summary
from infra.local.api_server import serve_per_thread


def _app_reading_its_request_after_a_rendezvous(threads: int) -> Chalice:
    app = Chalice(app_name="per-thread")
    rendezvous = threading.Barrier(threads, timeout=10)

    @app.route("/echo", methods=["POST"])
    def echo():
        rendezvous.wait()  # every request has been set on the app before any view reads it
        return {"seen": app.current_request.json_body["n"]}

    return app


def _serve_concurrently(app: Chalice, threads: int) -> list:
    seen: list = [None] * threads
    with Client(app) as client:
        def call(n: int) -> None:
            seen[n] = client.http.post("/echo", body=f'{{"n": {n}}}',
                                       headers={"Content-Type": "application/json"}).json_body["seen"]

        workers = [threading.Thread(target=call, args=(n,)) for n in range(threads)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(20)
    return seen


def test_a_plain_chalice_app_shows_concurrent_views_another_threads_request():
    # The hazard serve_per_thread removes: one current_request on the app for all threads.
    seen = _serve_concurrently(_app_reading_its_request_after_a_rendezvous(4), 4)
    assert seen != [0, 1, 2, 3]


def test_served_per_thread_every_view_reads_its_own_request():
    app = serve_per_thread(_app_reading_its_request_after_a_rendezvous(4))
    assert _serve_concurrently(app, 4) == [0, 1, 2, 3]
    assert serve_per_thread(app) is app and type(app).__mro__[1] is Chalice  # idempotent


@pytest.mark.parametrize("p, expected", [(50, 5), (99, 10), (100, 10), (10, 1), (1, 1)])
def test_percentile_is_nearest_rank(p, expected):
    assert percentile([7, 3, 1, 10, 2, 9, 4, 8, 6, 5], p) == expected


def test_percentile_refuses_nothing_and_out_of_range():
    with pytest.raises(ValueError):
        percentile([], 50)
    with pytest.raises(ValueError):
        percentile([1.0], 0)


def test_summary_counts_failed_statuses_and_connection_errors_as_errors():
    outcome = Outcome(latencies_ms=[10.0, 20.0, 30.0, 40.0])
    outcome.statuses.update({202: 2, 200: 1, 503: 1})
    outcome.errors["ConnectionResetError"] += 1

    stats = summary(outcome, seconds=2.5)

    assert stats["requests"] == 5
    assert stats["throughput_rps"] == 2.0
    assert (stats["p50_ms"], stats["p99_ms"], stats["max_ms"]) == (20.0, 40.0, 40.0)
    assert stats["errors"] == 2


def test_the_shared_metric_set_is_guarded_once_and_still_records():
    from infra.local.api_server import guard_shared_metrics
    from postpurchase.observability import MetricUnit, metrics

    guard_shared_metrics()
    guarded = metrics.provider.add_metric
    guard_shared_metrics()
    assert metrics.provider.add_metric is guarded  # not wrapped twice
    metrics.clear_metrics()
    metrics.add_metric(name="LocalGuardProbe", unit=MetricUnit.Count, value=2)
    try:
        assert metrics.provider.metric_set["LocalGuardProbe"]["Value"] == [2.0]
    finally:
        metrics.clear_metrics()


@pytest.fixture
def served_echo():
    """A bare Chalice app behind the local API gateway on a free loopback port."""
    from infra.local.api_server import api_server
    from infra.local.runtime import free_port

    app = Chalice(app_name="echo")

    @app.route("/echo", methods=["POST"])
    def echo():
        return {"n": app.current_request.json_body["n"]}

    port = free_port()
    server = api_server(app, "127.0.0.1", port)
    thread = threading.Thread(target=server.server.serve_forever, daemon=True)
    thread.start()
    yield port
    server.shutdown()
    server.server.server_close()


def _post(connection, n: int, chunked: bool = False) -> tuple[int, dict]:
    import json

    body = json.dumps({"n": n}).encode()
    if chunked:
        connection.request("POST", "/echo", body=iter([body[:4], body[4:]]), encode_chunked=True,
                           headers={"Content-Type": "application/json", "Transfer-Encoding": "chunked"})
    else:
        connection.request("POST", "/echo", body=body, headers={"Content-Type": "application/json"})
    response = connection.getresponse()
    return response.status, json.loads(response.read())


def test_one_kept_alive_connection_carries_plain_and_chunked_requests_in_turn(served_echo):
    import http.client

    connection = http.client.HTTPConnection("127.0.0.1", served_echo, timeout=10)
    try:
        answers = [_post(connection, 1), _post(connection, 2, chunked=True), _post(connection, 3)]
        assert answers == [(200, {"n": 1}), (200, {"n": 2}), (200, {"n": 3})]
    finally:
        connection.close()


def test_a_burst_of_connections_beyond_the_old_backlog_is_all_answered(served_echo):
    import http.client

    burst = 60
    start = threading.Barrier(burst, timeout=20)
    answers: list = [None] * burst

    def call(n: int) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", served_echo, timeout=20)
        start.wait()
        try:
            answers[n] = _post(connection, n)
        except (OSError, http.client.HTTPException) as error:
            answers[n] = type(error).__name__
        finally:
            connection.close()

    workers = [threading.Thread(target=call, args=(n,)) for n in range(burst)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(30)
    assert answers == [(200, {"n": n}) for n in range(burst)]
