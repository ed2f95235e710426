"""The local queue pump with SQS's failure modes, on simulated time.

* redelivery: a handled message is sent again with probability `redeliver` (SQS is
  at-least-once), after the rest of the queue: duplicates arrive late and out of order;
* reordering: every received batch is shuffled;
* crashes: `crash_plan(consumer, messages)` may name a write after which the invocation dies;
  the whole batch fails;
* visibility timeouts: a failed message is hidden for the queue's VisibilityTimeout in
  *simulated* seconds (the real pump retries at once), so claims and retries age as in AWS.
"""
from __future__ import annotations

import random
from datetime import datetime, timezone
from typing import Callable

from infra.local.pump import Consumer, QueuePump

from .faults import Faults, InjectedCrash

PARK_SECONDS = 36000  # hidden until the simulated timeout passes (SQS caps the total at 12 h)


class SimulatedDelays:
    """SQS DelaySeconds in simulated time: a delayed send is made at once, remembered by its
    MessageId with its simulated release time, and parked by the pump until then (moto would
    hide it for real seconds while the story's clock jumps hours)."""

    def __init__(self) -> None:
        self.release_at: dict[str, float] = {}

    def attach(self, client) -> None:
        if client.meta.service_model.service_name != "sqs":
            return
        client.meta.events.register("provide-client-params.sqs.SendMessage", self._take_delay,
                                    unique_id=f"chaos-delay-{id(self)}")
        client.meta.events.register("after-call.sqs.SendMessage", self._remember,
                                    unique_id=f"chaos-delay-id-{id(self)}")

    def _take_delay(self, params, context, **_) -> None:
        context["chaos_delay"] = int(params.pop("DelaySeconds", 0) or 0)  # per call: API threads send too

    def _remember(self, parsed, context, **_) -> None:
        from postpurchase import clock

        delay = context.get("chaos_delay", 0)
        if delay and parsed.get("MessageId"):
            self.release_at[parsed["MessageId"]] = clock.now().timestamp() + delay


class ChaosPump(QueuePump):
    def __init__(self, consumers: list[Consumer], *, faults: Faults, redeliver: float = 0.0, seed: int = 11,
                 crash_plan: Callable[[Consumer, list[dict]], int | None] | None = None,
                 region: str = "us-east-1", delays: SimulatedDelays | None = None) -> None:
        super().__init__(consumers, region=region)
        self.delays = delays
        self.faults = faults
        self.redeliver = redeliver
        self.crash_plan = crash_plan
        self.rng = random.Random(seed)
        self.parked: list[tuple[float, str, str]] = []  # (simulated release time, queue, receipt)
        self.redelivered = 0
        self.crashed_batches = 0
        self.handled = 0
        self._timeouts: dict[str, int] = {}

    def _visibility(self, queue_url: str) -> int:
        if queue_url not in self._timeouts:
            self._timeouts[queue_url] = int(self._sqs.get_queue_attributes(
                QueueUrl=queue_url, AttributeNames=["VisibilityTimeout"])["Attributes"]["VisibilityTimeout"])
        return self._timeouts[queue_url]

    def _deliver(self, consumer: Consumer, messages: list[dict]) -> None:
        from infra.local.lambda_context import LambdaContext
        from infra.local.pump import sqs_record
        from postpurchase import clock

        messages = self._hold_delayed(consumer, messages)
        if not messages:
            return
        self.rng.shuffle(messages)
        event = {"Records": [sqs_record(m, consumer.queue_arn, self.region) for m in messages]}
        context = LambdaContext(function_name=consumer.function_id, timeout_seconds=consumer.timeout)
        self.stats.batches += 1
        crash_at = self.crash_plan(consumer, messages) if self.crash_plan else None
        if crash_at:
            self.faults.arm_crash(crash_at)
        try:
            result = consumer.handler(event, context) or {}
            failed = {item["itemIdentifier"] for item in result.get("batchItemFailures", [])}
        except InjectedCrash:
            self.crashed_batches += 1
            failed = {m["MessageId"] for m in messages}
        except Exception:  # the whole batch fails, as in Lambda
            failed = {m["MessageId"] for m in messages}
        finally:
            self.faults.disarm()
        now = clock.now().timestamp()
        for message in messages:
            if message["MessageId"] in failed:
                self.stats.failed += 1
                self._sqs.change_message_visibility(QueueUrl=consumer.queue_url,
                                                    ReceiptHandle=message["ReceiptHandle"],
                                                    VisibilityTimeout=PARK_SECONDS)
                self.parked.append((now + self._visibility(consumer.queue_url), consumer.queue_url,
                                    message["ReceiptHandle"]))
                continue
            self.stats.delivered += 1
            self.handled += 1
            self._sqs.delete_message(QueueUrl=consumer.queue_url, ReceiptHandle=message["ReceiptHandle"])
            if self.rng.random() < self.redeliver:
                self.redelivered += 1
                attributes = {name: {"DataType": value["DataType"], "StringValue": value["StringValue"]}
                              for name, value in message.get("MessageAttributes", {}).items()
                              if "StringValue" in value}
                self._sqs.send_message(QueueUrl=consumer.queue_url, MessageBody=message["Body"],
                                       MessageAttributes=attributes)

    def _hold_delayed(self, consumer: Consumer, messages: list[dict]) -> list[dict]:
        """Park the messages sent with a delay whose simulated release time has not come."""
        from postpurchase import clock

        if self.delays is None:
            return messages
        now = clock.now().timestamp()
        ready = []
        for message in messages:
            release = self.delays.release_at.pop(message["MessageId"], None)
            if release is not None and release > now:
                self._sqs.change_message_visibility(QueueUrl=consumer.queue_url,
                                                    ReceiptHandle=message["ReceiptHandle"],
                                                    VisibilityTimeout=PARK_SECONDS)
                self.parked.append((release, consumer.queue_url, message["ReceiptHandle"]))
            else:
                ready.append(message)
        return ready

    def release_due(self) -> int:
        from postpurchase import clock

        now = clock.now().timestamp()
        due = [p for p in self.parked if p[0] <= now]
        self.parked = [p for p in self.parked if p[0] > now]
        for _, queue_url, receipt in due:
            try:
                self._sqs.change_message_visibility(QueueUrl=queue_url, ReceiptHandle=receipt, VisibilityTimeout=0)
            except Exception:  # redriven to the DLQ meanwhile: nothing to release
                pass
        return len(due)

    def drain(self, max_rounds: int = 400) -> int:
        """Pump until empty; then each retry that waits for its visibility timeout runs at its
        own simulated time, and the story's clock resumes where it was (the story does not wait
        for our retries, so a fault-free run and this one keep the same timetable)."""
        from postpurchase import clock

        total = 0
        story_time = clock.now()
        try:
            for _ in range(max_rounds):
                self.release_due()
                handed = self.pump_once()
                total += handed
                if handed == 0:
                    if not self.parked:
                        return total
                    clock._current.set(datetime.fromtimestamp(min(p[0] for p in self.parked), timezone.utc))
        finally:
            clock._current.set(story_time)
        raise RuntimeError(f"queues did not drain within {max_rounds} rounds")
