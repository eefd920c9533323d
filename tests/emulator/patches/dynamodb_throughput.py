"""DynamoDB's write throughput limit, which moto lacks: moto writes every item of every
BatchWriteItem at once and never throttles, so a writer's retry of `UnprocessedItems` and its
pacing would never run here. Off by default. With a limit on, each table's writes are held to
`write_units_per_second` write units with a token bucket, as DynamoDB holds a table to its
provisioned (or on-demand maximum) write throughput:

- BatchWriteItem processes, per table and in request order, the requests that fit in the
  table's bucket and answers the rest in `UnprocessedItems`; when nothing of the request fits on
  any of its tables it answers `ProvisionedThroughputExceededException` instead ("If none of the
  items can be processed due to insufficient provisioned throughput on all of the tables in the
  request, then BatchWriteItem returns a ProvisionedThroughputExceededException",
  https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_BatchWriteItem.html).
- PutItem, UpdateItem and DeleteItem answer `ProvisionedThroughputExceededException` when their
  write does not fit
  (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Programming.Errors.html,
  "ProvisionedThroughputExceededException ... The AWS SDKs for DynamoDB automatically retry").
- A put costs one write unit per started KB of the item (attribute names plus values), as
  https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/CapacityUnitCalculations.html
  counts them; a delete or an update costs one (DynamoDB charges the larger of the old and new
  item; the writers here update small items).

Departures, on purpose: the bucket holds `burst_units` (default one second of the limit), where
DynamoDB keeps up to 300 seconds of unused capacity for bursts
(https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/burst-adaptive-capacity.html);
a test wants throttling within its first seconds. Index writes cost nothing extra. An item larger
than the bucket is let through when the bucket is full (it would otherwise never fit).

`POST /moto-api/emulator/dynamodb-throughput` with `{"write_units_per_second": N}` (`null` or 0:
off; optionally `"burst_units": B`) sets the limit and refills the buckets; `{"reset": true}`
zeroes the counters; `{"hold": true}` throttles every write until `{"hold": false}` (not an AWS
behaviour: a test's way to look at a run whose writes stand still, then kill it).
`EMULATOR_DYNAMODB_WRITE_UNITS=N` sets a limit at start. Any call (GET)
answers the knobs and the counters: `written` (items written, per table), `throttled` (answers
that were `ProvisionedThroughputExceededException`), `unprocessed` (items handed back in
`UnprocessedItems`), `partial_batches` (BatchWriteItem answers with `UnprocessedItems`).
"""

import math
import os
import threading
import time
from typing import Any, Callable, Optional

from moto.dynamodb.exceptions import ERROR_TYPE_PREFIX, DynamodbException
from moto.dynamodb.responses import DynamoHandler

from . import admin

KB = 1024


class ProvisionedThroughputExceededException(DynamodbException):
    def __init__(self) -> None:
        super().__init__(
            ERROR_TYPE_PREFIX + "ProvisionedThroughputExceededException",
            "The level of configured provisioned throughput for the table was exceeded. "
            "Consider increasing your provisioning level with the UpdateTable API.",
        )


class Bucket:
    """`burst` write units, refilled at `rate` a second."""

    def __init__(self, rate: float, burst: float) -> None:
        self.rate, self.burst = rate, burst
        self.tokens, self.last = burst, time.monotonic()

    def take(self, units: float) -> bool:
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.last) * self.rate)
        self.last = now
        # A full bucket lets an item through whatever its size (the debt is paid by the refill).
        if self.tokens >= units or self.tokens >= self.burst:
            self.tokens -= units
            return True
        return False


class Throughput:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        start = os.environ.get("EMULATOR_DYNAMODB_WRITE_UNITS", "")
        self.knobs: dict[str, Any] = {
            "write_units_per_second": float(start) if start not in ("", "0") else None,
            "burst_units": None,
            "hold": False,
        }
        self.buckets: dict[str, Bucket] = {}
        self.reset()

    def reset(self) -> None:
        self.written: dict[str, int] = {}
        self.throttled = 0
        self.unprocessed = 0
        self.partial_batches = 0

    def configure(self, update: dict) -> None:
        with self.lock:
            if update.pop("reset", False):
                self.reset()
            self.knobs.update(update)
            self.buckets = {}

    def bucket(self, table: str) -> Optional[Bucket]:
        """The table's bucket, None while the limit is off (caller holds the lock)."""
        rate = self.knobs.get("write_units_per_second")
        if not rate:
            return None
        if table not in self.buckets:
            burst = self.knobs.get("burst_units") or rate
            self.buckets[table] = Bucket(float(rate), float(burst))
        return self.buckets[table]

    def allows(self, table: str, units: int) -> bool:
        """Whether a write of `units` fits now (caller holds the lock)."""
        if self.knobs.get("hold"):
            return False
        bucket = self.bucket(table)
        return bucket is None or bucket.take(units)

    def count_written(self, table: str, items: int) -> None:
        with self.lock:
            self.written[table] = self.written.get(table, 0) + items

    def as_dict(self) -> dict:
        with self.lock:
            return {
                **self.knobs,
                "written": dict(self.written),
                "items_written": sum(self.written.values()),
                "throttled": self.throttled,
                "unprocessed": self.unprocessed,
                "partial_batches": self.partial_batches,
            }


THROUGHPUT = Throughput()


def _value_size(value: Any) -> int:
    """An attribute value's size as DynamoDB counts it (CapacityUnitCalculations.html)."""
    kind, inner = next(iter(value.items()))
    if kind == "S":
        return len(inner.encode("utf-8"))
    if kind == "N":
        return (len(inner.lstrip("-").replace(".", "")) + 1) // 2 + 1
    if kind == "B":
        return len(inner) if isinstance(inner, (bytes, bytearray)) else len(str(inner))
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "L":
        return 3 + sum(1 + _value_size(v) for v in inner)
    if kind == "M":
        return 3 + sum(1 + len(k.encode("utf-8")) + _value_size(v) for k, v in inner.items())
    # Sets: the sum of their elements.
    return sum(_value_size({kind[0]: v}) for v in inner)


def item_units(item: dict) -> int:
    size = sum(len(name.encode("utf-8")) + _value_size(value) for name, value in item.items())
    return max(1, math.ceil(size / KB))


def _request_units(request: dict) -> int:
    put = request.get("PutRequest")
    return item_units(put["Item"]) if put else 1


def _split(table: str, requests: list) -> tuple[list, list]:
    """(the requests that fit the table's bucket, the rest), in request order; caller holds the
    lock."""
    for index, request in enumerate(requests):
        if not THROUGHPUT.allows(table, _request_units(request)):
            return requests[:index], requests[index:]
    return requests, []


def _limited_batch_write(original: Callable) -> Callable:
    def batch_write_item(self: DynamoHandler) -> Any:
        return _batch_write_item(self, original)

    return batch_write_item


def _batch_write_item(self: DynamoHandler, original: Callable) -> Any:
    request_items = self.body["RequestItems"]
    processed: dict[str, list] = {}
    unprocessed: dict[str, list] = {}
    with THROUGHPUT.lock:
        for table, requests in request_items.items():
            fits, rest = _split(table, requests)
            if fits:
                processed[table] = fits
            if rest:
                unprocessed[table] = rest
        if not processed:
            THROUGHPUT.throttled += 1
            raise ProvisionedThroughputExceededException()
        if unprocessed:
            THROUGHPUT.partial_batches += 1
            THROUGHPUT.unprocessed += sum(len(r) for r in unprocessed.values())
    self.body["RequestItems"] = processed
    result = original(self)
    for table, requests in processed.items():
        THROUGHPUT.count_written(table, sum(1 for r in requests if "PutRequest" in r))
    result.result["UnprocessedItems"] = unprocessed
    return result


def _single_write(original: Callable, units_of: Callable[[DynamoHandler], int], counts: bool) -> Callable:
    def write(self: DynamoHandler) -> Any:
        table = self.body["TableName"]
        with THROUGHPUT.lock:
            if not THROUGHPUT.allows(table, units_of(self)):
                THROUGHPUT.throttled += 1
                raise ProvisionedThroughputExceededException()
        result = original(self)
        if counts:
            THROUGHPUT.count_written(table, 1)
        return result

    return write


def _handler(request: Any, full_url: str, headers: Any) -> Any:
    if request.method == "POST":
        THROUGHPUT.configure(admin.read_json(request, headers))
    return admin.answer(THROUGHPUT.as_dict())


def apply() -> None:
    DynamoHandler.batch_write_item = _limited_batch_write(DynamoHandler.batch_write_item)
    DynamoHandler.put_item = _single_write(DynamoHandler.put_item, lambda h: item_units(h.body["Item"]), True)
    DynamoHandler.update_item = _single_write(DynamoHandler.update_item, lambda h: 1, False)
    DynamoHandler.delete_item = _single_write(DynamoHandler.delete_item, lambda h: 1, False)
    admin.register("dynamodb-throughput", _handler)
