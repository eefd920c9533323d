"""A write whose index key attribute has another type than the index's key schema declares is
refused, as DynamoDB refuses it: "If you write an item to a table, ... the data type of the
attribute must match the data type of the index key schema" (global secondary indexes,
https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/GSI.html; local secondary
indexes the same, https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/LSI.html),
with a ValidationException "Type mismatch for Index Key ...". A BatchWriteItem with one such
item fails whole: nothing of it is written
(https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_BatchWriteItem.html, "one or
more of the following is true ... the request is rejected"). Stock moto checks only the table's
own keys (and a NULL GSI key), so a Bedrock Chat v3 bot with a BOOL `IsStarred` (an S key of
`StarredIndex`) or an S `LastUsedTime` (N, `LastUsedTimeIndex`) would be written here and
refused on AWS.
"""

from typing import Any, Callable

from moto.dynamodb.exceptions import MockValidationException
from moto.dynamodb.responses import DynamoHandler


def _index_key_types(table: Any) -> list[tuple[str, str, str]]:
    """(index name, attribute, declared type) of every index key attribute."""
    declared = {a["AttributeName"]: a["AttributeType"] for a in table.attr}
    keys = []
    for index in list(table.global_indexes) + list(table.indexes):
        for key in index.schema:
            name = key["AttributeName"]
            if name in declared:
                keys.append((index.name, name, declared[name]))
    return keys


def check_item(table: Any, item: dict) -> None:
    for index, name, expected in _index_key_types(table):
        value = item.get(name)
        if value is None:
            continue  # a sparse index: the item is simply not in it
        actual = next(iter(value))
        if actual != expected:
            raise MockValidationException(
                "One or more parameter values were invalid: Type mismatch for Index Key "
                f"{name} Expected: {expected} Actual: {actual} IndexName: {index}"
            )


def _checked_batch_write(original: Callable) -> Callable:
    def batch_write_item(self: DynamoHandler) -> Any:
        for table_name, requests in self.body["RequestItems"].items():
            table = self.dynamodb_backend.get_table(table_name)
            for request in requests:
                put = request.get("PutRequest")
                if put:
                    check_item(table, put["Item"])
        return original(self)

    return batch_write_item


def _checked_put(original: Callable) -> Callable:
    def put_item(self: DynamoHandler) -> Any:
        check_item(self.dynamodb_backend.get_table(self.body["TableName"]), self.body["Item"])
        return original(self)

    return put_item


def apply() -> None:
    """After the throughput patch, whose methods these wrap (taken at apply time, not at import):
    a refused request is refused before it takes any write units."""
    DynamoHandler.batch_write_item = _checked_batch_write(DynamoHandler.batch_write_item)
    DynamoHandler.put_item = _checked_put(DynamoHandler.put_item)
