"""infra/local/moto_speedups.py changes how much moto works, never what it answers: the same
queries and transactions, with and without the speed-ups, give the same answers and leave the
same table."""
from __future__ import annotations

import random

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from infra.local import moto_speedups

REGION = "us-east-1"


def _table(client) -> None:
    client.create_table(
        TableName="t", BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[{"AttributeName": n, "AttributeType": t} for n, t in
                              (("pk", "S"), ("sk", "S"), ("g", "S"), ("gs", "S"), ("n", "N"))],
        GlobalSecondaryIndexes=[
            {"IndexName": "byG", "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"},
                                               {"AttributeName": "gs", "KeyType": "RANGE"}],
             "Projection": {"ProjectionType": "ALL"}},
            {"IndexName": "byN", "KeySchema": [{"AttributeName": "n", "KeyType": "HASH"}],
             "Projection": {"ProjectionType": "KEYS_ONLY"}}])


def _fill(client, seed: int = 5) -> None:
    rng = random.Random(seed)
    for n in range(240):
        item = {"pk": {"S": f"p{rng.randrange(12)}"}, "sk": {"S": f"s{rng.randrange(40):03d}"},
                "v": {"N": str(n)}}
        if rng.random() < 0.7:  # some items are not in the index (sparse)
            item["g"] = {"S": f"g{rng.randrange(5)}"}
            item["gs"] = {"S": f"{rng.randrange(30):02d}#{n}"}
        if rng.random() < 0.5:
            item["n"] = {"N": rng.choice(["1", "1.0", "2", "10"])}  # numbers equal as numbers, not as text
        client.put_item(TableName="t", Item=item)


QUERIES = [
    {"KeyConditionExpression": "pk = :p", "ExpressionAttributeValues": {":p": {"S": "p3"}}},
    {"KeyConditionExpression": "pk = :p AND begins_with(sk, :s)",
     "ExpressionAttributeValues": {":p": {"S": "p1"}, ":s": {"S": "s01"}}, "ScanIndexForward": False},
    {"KeyConditionExpression": "pk = :p", "ExpressionAttributeValues": {":p": {"S": "nobody"}}},
    {"KeyConditionExpression": "pk = :p", "ExpressionAttributeValues": {":p": {"S": "p2"}}, "Limit": 3},
    {"IndexName": "byG", "KeyConditionExpression": "g = :g", "ExpressionAttributeValues": {":g": {"S": "g2"}}},
    {"IndexName": "byG", "KeyConditionExpression": "g = :g AND gs BETWEEN :a AND :b",
     "ExpressionAttributeValues": {":g": {"S": "g0"}, ":a": {"S": "05"}, ":b": {"S": "20"}},
     "ScanIndexForward": False, "Limit": 4},
    {"IndexName": "byG", "KeyConditionExpression": "g = :g", "FilterExpression": "v > :v",
     "ExpressionAttributeValues": {":g": {"S": "g4"}, ":v": {"N": "100"}}},
    {"IndexName": "byN", "KeyConditionExpression": "n = :n", "ExpressionAttributeValues": {":n": {"N": "1"}}},
]


def _every_page(client, query: dict) -> list:
    pages, start = [], None
    while True:
        answer = client.query(TableName="t", **query, **({"ExclusiveStartKey": start} if start else {}))
        pages.append((answer["Items"], answer.get("LastEvaluatedKey")))
        start = answer.get("LastEvaluatedKey")
        if not start:
            return pages


def _transactions(client) -> list:
    outcomes = []
    ok = [{"Put": {"TableName": "t", "Item": {"pk": {"S": "p1"}, "sk": {"S": "new"}, "v": {"N": "1"}}}},
          {"Update": {"TableName": "t", "Key": {"pk": {"S": "p1"}, "sk": {"S": "new2"}},
                      "UpdateExpression": "SET v = :v", "ExpressionAttributeValues": {":v": {"N": "2"}}}}]
    cancelled = [{"Put": {"TableName": "t", "Item": {"pk": {"S": "p9"}, "sk": {"S": "gone"}, "g": {"S": "g1"},
                                                     "gs": {"S": "00"}}}},
                 {"Update": {"TableName": "t", "Key": {"pk": {"S": "p1"}, "sk": {"S": "new"}},
                             "UpdateExpression": "SET v = :v", "ExpressionAttributeValues": {":v": {"N": "99"}}}},
                 {"Delete": {"TableName": "t", "Key": {"pk": {"S": "p1"}, "sk": {"S": "new2"}}}},
                 {"ConditionCheck": {"TableName": "t", "Key": {"pk": {"S": "p9"}, "sk": {"S": "absent"}},
                                     "ConditionExpression": "attribute_exists(pk)"}}]
    same_key_twice = [{"Put": {"TableName": "t", "Item": {"pk": {"S": "p1"}, "sk": {"S": "twice"}}}},
                      {"Delete": {"TableName": "t", "Key": {"pk": {"S": "p1"}, "sk": {"S": "twice"}}}}]
    for items in (ok, cancelled, same_key_twice):
        try:
            client.transact_write_items(TransactItems=items)
            outcomes.append("ok")
        except ClientError as error:
            outcomes.append((error.response["Error"]["Code"], error.response.get("CancellationReasons")))
    return outcomes


def _everything() -> dict:
    with mock_aws():
        client = boto3.client("dynamodb", region_name=REGION)
        _table(client)
        _fill(client)
        before = [_every_page(client, query) for query in QUERIES]
        outcomes = _transactions(client)
        after = [_every_page(client, query) for query in QUERIES]
        scan = [client.scan(TableName="t", Limit=50)]  # in moto's order: the table walk's sort
        while scan[-1].get("LastEvaluatedKey"):
            scan.append(client.scan(TableName="t", Limit=50, ExclusiveStartKey=scan[-1]["LastEvaluatedKey"]))
        scan = [(page["Items"], page.get("LastEvaluatedKey")) for page in scan]
        return {"before": before, "transactions": outcomes, "after": after, "scan": scan}


@pytest.fixture
def without_speedups():
    moto_speedups.uninstall()
    yield
    moto_speedups.install()


def test_the_same_answers_with_and_without_the_speedups(without_speedups):
    plain = _everything()
    moto_speedups.install()
    fast = _everything()
    assert plain["transactions"][0] == "ok" and plain["transactions"][1][0] == "TransactionCanceledException"
    assert any(page[0] for query in plain["before"] for page in query)  # the queries found something
    assert len(plain["after"][3]) > 1  # a query that really paged
    assert fast == plain


def test_a_cancelled_transaction_leaves_the_table_as_it_was():
    moto_speedups.install()
    with mock_aws():
        client = boto3.client("dynamodb", region_name=REGION)
        _table(client)
        _fill(client)
        before = client.scan(TableName="t")["Items"]
        with pytest.raises(ClientError):
            client.transact_write_items(TransactItems=[
                {"Put": {"TableName": "t", "Item": {"pk": {"S": "p0"}, "sk": {"S": "x"}}}},
                {"Update": {"TableName": "t", "Key": {"pk": before[0]["pk"], "sk": before[0]["sk"]},
                            "UpdateExpression": "SET v = :v", "ExpressionAttributeValues": {":v": {"N": "-1"}}}},
                {"ConditionCheck": {"TableName": "t", "Key": {"pk": {"S": "none"}, "sk": {"S": "none"}},
                                    "ConditionExpression": "attribute_exists(pk)"}}])
        assert client.scan(TableName="t")["Items"] == before


def _size_limit_outcomes() -> list:
    """Items around moto's 400 KB limit, many attributes or one big one: which are refused."""
    outcomes = []
    with mock_aws():
        client = boto3.client("dynamodb", region_name=REGION)
        _table(client)
        for n, (attributes, each) in enumerate([(400, 1000), (400, 1020), (1, 404_900), (1, 405_000), (2000, 10)]):
            item = {"pk": {"S": "big"}, "sk": {"S": f"{n}"},
                    **{f"a{i:04d}": {"S": "x" * each} for i in range(attributes)}}
            try:
                client.put_item(TableName="t", Item=item)
                outcomes.append(("ok", client.get_item(TableName="t", Key={"pk": item["pk"], "sk": item["sk"]})["Item"]
                                 == item))
            except ClientError as error:
                outcomes.append((error.response["Error"]["Code"], error.response["Error"]["Message"]))
    return outcomes


def test_the_item_size_limit_refuses_the_same_items(without_speedups):
    plain = _size_limit_outcomes()
    moto_speedups.install()
    fast = _size_limit_outcomes()
    assert [outcome[0] for outcome in plain] == ["ok", "ValidationException", "ok", "ValidationException", "ok"]
    assert plain[0][1] is True
    assert fast == plain
