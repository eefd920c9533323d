"""Every DynamoDB write answered as done is stored, as DynamoDB stores it:
"The individual PutItem and DeleteItem operations specified in BatchWriteItem are atomic"
(https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_BatchWriteItem.html): a put
that is answered as processed is stored, whatever else is written at the same time.

moto's server answers requests on threads, and its item store is a dict of partitions, each a
dict of items, keyed by `DynamoType`, whose `__hash__` and `__eq__` are Python code: two threads
putting the first items of one new partition can each create that partition's dict, and the
second replaces the first with what the first had written in it. Measured here: 8 threads putting
160,000 items (20,000 partitions, 8 items each) kept 159,997 to 160,000 of them. A seed of 8
BatchWriteItem calls at once lost 2 items of 3,000 this way under load. Here the writes to the
store and the walks over it (a Scan, a Query on an index) take one lock, so a write is never lost
and a walk never meets a partition dict that changes size under it.
"""

import functools
import threading
from typing import Any, Callable

from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models import table as ddb_table

_LOCK = threading.RLock()


def _locked(method: Callable) -> Callable:
    @functools.wraps(method)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with _LOCK:
            return method(*args, **kwargs)

    return wrapper


def apply() -> None:
    # Writes to one table's store, and the walks that list its items.
    for name in ("put_item", "delete_item", "all_items", "has_idx_items"):
        setattr(ddb_table.Table, name, _locked(getattr(ddb_table.Table, name)))
    # Writes that change stored items in place, through the backend.
    for name in ("update_item", "transact_write_items"):
        setattr(DynamoDBBackend, name, _locked(getattr(DynamoDBBackend, name)))
