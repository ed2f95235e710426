"""`inserts backfill-day-keys` (the operator CLI) against moto: orders recorded before the day key
existed (no gsi4) get it, so their day's packing-insert batch finds them; a re-run and a dry run
write nothing; a newer write between the scan and the update wins."""
from __future__ import annotations

from datetime import datetime, timezone

from tests.integration.test_admin_cli import cli  # noqa: F401 - the CLI fixture

DAY = datetime(2026, 11, 20, tzinfo=timezone.utc)
WINDOW = (datetime(2026, 11, 20, tzinfo=timezone.utc), datetime(2026, 11, 21, tzinfo=timezone.utc))


def _orders(aws, other_store: str) -> None:
    for order_id, hour in (("OLD-1", 6), ("OLD-2", 9), ("NEW-1", 12)):
        assert aws.post_order(aws.api_order(order_id, placed_at=DAY.replace(hour=hour))).status_code == 202
    assert aws.post_order(aws.api_order("THEIRS-OLD", placed_at=DAY.replace(hour=7)),
                          api_key=other_store).status_code == 202
    aws.pump.drain()


def _as_recorded_before_day_keys(*order_ids: str) -> None:
    from postpurchase.storage.table import OrderRecord

    for record in OrderRecord.scan():
        if record.order_id in order_ids:
            record.update(actions=[OrderRecord.gsi4pk.remove(), OrderRecord.gsi4sk.remove()])


def _days_orders(merchant_id: str) -> list[str]:
    from postpurchase.storage.insert_batches import DynamoInsertBatchStore

    return DynamoInsertBatchStore().order_ids(merchant_id, "2026-11-20", *WINDOW)


def _day_key_items() -> dict[str, tuple[str | None, str | None]]:
    from postpurchase.storage.table import OrderRecord

    return {record.order_id: (record.gsi4pk, record.gsi4sk) for record in OrderRecord.scan()}


def test_older_orders_get_their_day_key_once_and_a_dry_run_writes_nothing(aws, cli, other_store):  # noqa: F811
    _orders(aws, other_store)
    written = _day_key_items()
    _as_recorded_before_day_keys("OLD-1", "OLD-2", "THEIRS-OLD")
    assert _days_orders("demo-store") == ["NEW-1"]  # the older orders are missing from their day's batch

    status, dry = cli("inserts", "backfill-day-keys", "--merchant", "demo-store", "--dry-run")
    assert status == 0, dry
    assert (dry["dry_run"], dry["scanned"], dry["would_be_set"], dry["unchanged"]) == (True, 3, 2, 1), dry
    assert "set" not in dry
    assert _days_orders("demo-store") == ["NEW-1"]  # nothing written

    status, done = cli("inserts", "backfill-day-keys", "--merchant", "demo-store")
    assert status == 0 and (done["scanned"], done["set"], done["unchanged"]) == (3, 2, 1), done
    assert _days_orders("demo-store") == ["OLD-1", "OLD-2", "NEW-1"]  # in the order they were placed
    now_keys = _day_key_items()
    # The very keys an order write gives (storage/orders.record_order), not just some key.
    assert now_keys["OLD-1"] == written["OLD-1"] and now_keys["OLD-2"] == written["OLD-2"]
    assert now_keys["THEIRS-OLD"] == (None, None)  # another merchant's orders untouched
    assert _days_orders("other-store") == []

    status, everyone = cli("inserts", "backfill-day-keys")  # every merchant
    assert status == 0 and (everyone["scanned"], everyone["set"], everyone["unchanged"]) == (4, 1, 3), everyone
    assert _days_orders("other-store") == ["THEIRS-OLD"]
    assert _day_key_items()["THEIRS-OLD"] == written["THEIRS-OLD"]

    status, again = cli("inserts", "backfill-day-keys")  # idempotent: a re-run changes nothing
    assert status == 0 and again["unchanged"] == 4 and "set" not in again and "would_be_set" not in again, again
    assert _day_key_items() == now_keys | {"THEIRS-OLD": written["THEIRS-OLD"]}


def test_a_newer_write_between_the_scan_and_the_update_wins(aws, other_store, monkeypatch):
    from postpurchase.admin import inserts
    from postpurchase.storage.table import OrderRecord

    _orders(aws, other_store)
    _as_recorded_before_day_keys("OLD-1", "OLD-2")
    newer = ("M#demo-store#ODAY#2026-11-20", "2026-11-20T06:00:00.000000Z|OLD-1")
    real_scan = OrderRecord.scan

    def scan_then_a_newer_write(*args, **kwargs):
        for record in real_scan(*args, **kwargs):
            if record.order_id == "OLD-1":  # a newer writer keys OLD-1 after the backfill read it
                OrderRecord(record.pk, record.sk).update(
                    actions=[OrderRecord.gsi4pk.set(newer[0]), OrderRecord.gsi4sk.set(newer[1] + "#newer")])
            if record.order_id == "OLD-2":  # and OLD-2 is gone (deleted) before its update
                OrderRecord(record.pk, record.sk).delete()
            yield record

    monkeypatch.setattr(OrderRecord, "scan", scan_then_a_newer_write)
    result = inserts.backfill_day_keys("demo-store")
    assert (result["changed_meanwhile"], result["unchanged"]) == (2, 1) and "set" not in result, result
    monkeypatch.setattr(OrderRecord, "scan", real_scan)
    items = _day_key_items()
    assert items["OLD-1"] == (newer[0], newer[1] + "#newer")  # the newer write was not overwritten
    assert "OLD-2" not in items  # not brought back as a half item
