"""Surveys on the one table (low-level DynamoDB: counters are attributes named by the answer).

| item | pk | sk |
|---|---|---|
| definition (the merchant's list) | `M#{m}#SURVEYS` | `SURVEY#{id}` |
| definition copy + counters per question | `M#{m}#SURVEY#{id}` | `DEF`, `Q#{question}` (`n`, `c_{value}`) |
| a respondent's answers, detractor message | `M#{m}#SURVEY#{id}#R#{customer}` | `A#{question}`, `DETRACTOR` |

An answer and its counter change are one TransactWriteItems (the answer put only if absent,
or updated only on the version read): a repeated or concurrent submission can never count
twice, so `GET /v1/surveys/{id}/results` is one Query of the counters partition, never a scan
of answers. `GET /v1/surveys` is one Query; a customer's survey page one Query of its
respondent partition, with the definitions from a per-container cache (CACHE_SECONDS).
"""
from __future__ import annotations

import time
from datetime import datetime, timezone
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from ..adapters.aws import client
from ..config import settings
from ..errors import RetryLater
from ..surveys.model import Survey
from ..surveys.rules import StoredAnswer
from ..surveys.service import StaleAnswer

CACHE_SECONDS = 60


class StaleDefinition(Exception):
    """The definition changed between reading and writing it."""


def list_pk(m: str) -> str:
    return f"M#{m}#SURVEYS"


def survey_pk(m: str, survey_id: str) -> str:
    return f"M#{m}#SURVEY#{survey_id}"


def respondent_pk(m: str, survey_id: str, customer_id: str) -> str:
    return f"M#{m}#SURVEY#{survey_id}#R#{customer_id}"


def _iso(at: datetime) -> str:
    return at.astimezone(timezone.utc).isoformat()


def _s(value: str) -> dict[str, str]:
    return {"S": value}


def _n(value: int) -> dict[str, str]:
    return {"N": str(value)}


def _cancelled(error: ClientError) -> list[str]:
    return [reason.get("Code", "") for reason in error.response.get("CancellationReasons", [])]


class DynamoSurveyStore:
    def __init__(self) -> None:
        self._cache: dict[str, tuple[float, list[Survey]]] = {}

    @property
    def _table(self) -> str:
        return settings().table_name

    def _query(self, pk: str) -> list[dict[str, Any]]:
        items, start = [], None
        while True:
            request: dict[str, Any] = dict(TableName=self._table, KeyConditionExpression="pk = :pk",
                                           ExpressionAttributeValues={":pk": _s(pk)}, ConsistentRead=True)
            if start:
                request["ExclusiveStartKey"] = start
            try:
                response = client("dynamodb").query(**request)
            except (ClientError, BotoCoreError) as error:
                raise RetryLater(f"survey query failed: {error}") from error
            items += response.get("Items", [])
            start = response.get("LastEvaluatedKey")
            if not start:
                return items

    # ------------------------------------------------------------------ definitions

    def definitions(self, merchant_id: str, *, fresh: bool = False) -> list[Survey]:
        """The merchant's surveys (one Query; cached per container for CACHE_SECONDS)."""
        hit = self._cache.get(merchant_id)
        if hit and hit[0] > time.monotonic() and not fresh:
            return hit[1]
        surveys = [Survey.model_validate_json(item["document"]["S"]) for item in self._query(list_pk(merchant_id))
                   if item["sk"]["S"].startswith("SURVEY#")]
        self._cache[merchant_id] = (time.monotonic() + CACHE_SECONDS, surveys)
        return surveys

    def definition(self, merchant_id: str, survey_id: str, *, fresh: bool = False) -> Survey | None:
        return next((s for s in self.definitions(merchant_id, fresh=fresh) if s.survey_id == survey_id), None)

    def stored_definition(self, merchant_id: str, survey_id: str) -> Survey | None:
        """The definition as stored now (one consistent GetItem; for a PUT)."""
        response = client("dynamodb").get_item(TableName=self._table, ConsistentRead=True,
                                               Key={"pk": _s(list_pk(merchant_id)), "sk": _s(f"SURVEY#{survey_id}")})
        item = response.get("Item")
        return Survey.model_validate_json(item["document"]["S"]) if item else None

    def save_definition(self, survey: Survey, previous: Survey | None, now: datetime) -> None:
        """The list item and the results partition's copy, in one transaction, on the version read."""
        document = survey.model_dump_json()
        m, sid = survey.merchant_id, survey.survey_id
        condition: dict[str, Any] = ({"ConditionExpression": "attribute_not_exists(pk)"} if previous is None else
                                     {"ConditionExpression": "version = :v",
                                      "ExpressionAttributeValues": {":v": _n(previous.version)}})
        common = {"document": _s(document), "version": _n(survey.version), "updated_at": _s(_iso(now)),
                  "merchant_id": _s(m), "survey_id": _s(sid)}
        try:
            client("dynamodb").transact_write_items(TransactItems=[
                {"Put": {"TableName": self._table, **condition,
                         "Item": {"pk": _s(list_pk(m)), "sk": _s(f"SURVEY#{sid}"), "type": _s("survey"), **common}}},
                {"Put": {"TableName": self._table,
                         "Item": {"pk": _s(survey_pk(m, sid)), "sk": _s("DEF"), "type": _s("survey_definition"),
                                  **common}}}])
        except ClientError as error:
            if "ConditionalCheckFailed" in _cancelled(error) or "TransactionConflict" in _cancelled(error):
                raise StaleDefinition(sid) from None
            raise RetryLater(f"survey not saved: {error}") from error
        self._cache.pop(m, None)

    # ------------------------------------------------------------------ results

    def results(self, merchant_id: str, survey_id: str) -> tuple[Survey | None, dict[str, dict[str, int]]]:
        """The definition and every question's counters: one Query."""
        survey, counters = None, {}
        for item in self._query(survey_pk(merchant_id, survey_id)):
            sk = item["sk"]["S"]
            if sk == "DEF":
                survey = Survey.model_validate_json(item["document"]["S"])
            elif sk.startswith("Q#"):
                counters[sk[2:]] = {name: int(value["N"]) for name, value in item.items()
                                    if (name == "n" or name.startswith("c_")) and "N" in value}
        return survey, counters

    # ------------------------------------------------------------------ a respondent

    def respondent(self, merchant_id: str, survey_id: str,
                   customer_id: str) -> tuple[dict[str, StoredAnswer], dict[str, Any] | None]:
        """The respondent's answers and detractor message (one Query)."""
        answers: dict[str, StoredAnswer] = {}
        detractor = None
        for item in self._query(respondent_pk(merchant_id, survey_id, customer_id)):
            sk = item["sk"]["S"]
            if sk.startswith("A#"):
                answers[sk[2:]] = StoredAnswer(
                    question_id=sk[2:], value=item["value"]["S"],
                    other_text=item["other_text"]["S"] if "other_text" in item else None,
                    order_id=item["order_id"]["S"], answered_at=datetime.fromisoformat(item["answered_at"]["S"]),
                    updated_at=datetime.fromisoformat(item["updated_at"]["S"]), version=int(item["version"]["N"]))
            elif sk == "DETRACTOR":
                detractor = {"message": item["message"]["S"], "order_id": item["order_id"]["S"],
                             "score": int(item["score"]["N"]), "at": item["at"]["S"],
                             "notified": item.get("notified", {}).get("BOOL", False)}
        return answers, detractor

    def record_answer(self, merchant_id: str, survey_id: str, customer_id: str, order_id: str,
                      question_id: str, value: str, other_text: str | None, existing: StoredAnswer | None,
                      deltas: dict[str, int], now: datetime) -> None:
        """The answer and its counters in one transaction; StaleAnswer when someone else wrote first."""
        key = {"pk": _s(respondent_pk(merchant_id, survey_id, customer_id)), "sk": _s(f"A#{question_id}")}
        if existing is None:
            item = {**key, "type": _s("survey_answer"), "value": _s(value), "order_id": _s(order_id),
                    "answered_at": _s(_iso(now)), "updated_at": _s(_iso(now)), "version": _n(1)}
            if other_text:
                item["other_text"] = _s(other_text)
            answer = {"Put": {"TableName": self._table, "Item": item,
                              "ConditionExpression": "attribute_not_exists(pk)"}}
        else:
            text = "SET #v = :v, updated_at = :u, version = :next, order_id = :o"
            values = {":v": _s(value), ":u": _s(_iso(now)), ":next": _n(existing.version + 1), ":o": _s(order_id),
                      ":seen": _n(existing.version)}
            if other_text:
                text += ", other_text = :t"
                values[":t"] = _s(other_text)
            else:
                text += " REMOVE other_text"
            answer = {"Update": {"TableName": self._table, "Key": key, "UpdateExpression": text,
                                 "ConditionExpression": "version = :seen",
                                 "ExpressionAttributeNames": {"#v": "value"}, "ExpressionAttributeValues": values}}
        items = [answer]
        if deltas:
            names = {f"#a{i}": name for i, name in enumerate(deltas)}
            values = {f":d{i}": _n(delta) for i, delta in enumerate(deltas.values())}
            values[":t"] = _s("survey_counter")
            items.append({"Update": {
                "TableName": self._table,
                "Key": {"pk": _s(survey_pk(merchant_id, survey_id)), "sk": _s(f"Q#{question_id}")},
                "UpdateExpression": "SET #type = :t ADD " + ", ".join(f"#a{i} :d{i}" for i in range(len(deltas))),
                "ExpressionAttributeNames": {**names, "#type": "type"}, "ExpressionAttributeValues": values}})
        try:
            client("dynamodb").transact_write_items(TransactItems=items)
        except ClientError as error:
            reasons = _cancelled(error)
            if "ConditionalCheckFailed" in reasons or "TransactionConflict" in reasons:
                raise StaleAnswer(question_id) from None
            raise RetryLater(f"survey answer not saved: {error}") from error

    def record_detractor(self, merchant_id: str, survey_id: str, customer_id: str, order_id: str, score: int,
                         message: str, now: datetime) -> bool:
        """The detractor's message, once (True when stored now; False when it already was)."""
        try:
            client("dynamodb").put_item(
                TableName=self._table, ConditionExpression="attribute_not_exists(pk)",
                Item={"pk": _s(respondent_pk(merchant_id, survey_id, customer_id)), "sk": _s("DETRACTOR"),
                      "type": _s("survey_detractor"), "message": _s(message), "order_id": _s(order_id),
                      "score": _n(score), "at": _s(_iso(now)), "notified": {"BOOL": False}})
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return False
            raise RetryLater(f"detractor message not saved: {error}") from error
        return True

    def mark_detractor_notified(self, merchant_id: str, survey_id: str, customer_id: str) -> None:
        client("dynamodb").update_item(
            TableName=self._table, Key={"pk": _s(respondent_pk(merchant_id, survey_id, customer_id)),
                                        "sk": _s("DETRACTOR")},
            UpdateExpression="SET notified = :t", ConditionExpression="attribute_exists(pk)",
            ExpressionAttributeValues={":t": {"BOOL": True}})
