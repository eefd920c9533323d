"""DynamoDB on-demand backups as AWS makes them, for `deploy`'s table safeguard. Checked against
moto 5.2.5, which already has CreateBackup, DescribeBackup, ListBackups and
RestoreTableFromBackup, keeps the items as they were at the request, and keeps a backup after its
table is deleted (as AWS does). Restored here:

- A backup is made asynchronously: CreateBackup answers `CREATING`, and the backup becomes
  `AVAILABLE` later ("Backup requests are processed instantaneously and become available for
  restore within minutes",
  https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_CreateBackup.html; the
  statuses are `CREATING | DELETED | AVAILABLE`,
  https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_BackupDetails.html).
  moto's backups are `AVAILABLE` at once, so a caller that does not wait would pass here and fail
  on AWS. A new backup stays `CREATING` for a few DescribeBackup/ListBackups answers;
  `POST /moto-api/emulator/backups {"creating_polls": N}` sets how many (default 2).
- RestoreTableFromBackup of a backup that is not `AVAILABLE` fails with BackupInUseException
  ("The backup is either being created, deleted or restored to a table",
  https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_RestoreTableFromBackup.html);
  moto restores it.

Not restored: tags. DynamoDB's own backups take none (only AWS Backup's advanced DynamoDB
backups do, https://docs.aws.amazon.com/aws-backup/latest/devguide/tags-on-backups.html), and the
tool does not ask for any.
"""

from typing import Any

from moto.core.exceptions import JsonRESTError
from moto.dynamodb.exceptions import ERROR_TYPE_PREFIX
from moto.dynamodb.models import DynamoDBBackend

from . import admin

BACKUP_KNOBS = {"creating_polls": 2}
# Backup ARN -> DescribeBackup/ListBackups answers still to show `CREATING`.
_CREATING = admin.Countdown()


class BackupInUseException(JsonRESTError):
    def __init__(self, backup_arn: str, status: str) -> None:
        super().__init__(
            ERROR_TYPE_PREFIX + "BackupInUseException",
            f"Backup {backup_arn} is {status}: it is either being created, deleted or restored to a table",
        )


def _seen(backup: Any) -> Any:
    """One answer that shows the backup: `CREATING` until its count runs out."""
    if _CREATING.tick(backup.arn) is False:
        backup.status = "AVAILABLE"
    return backup


_original_create = DynamoDBBackend.create_backup
_original_describe = DynamoDBBackend.describe_backup
_original_list = DynamoDBBackend.list_backups
_original_restore = DynamoDBBackend.restore_table_from_backup


def _create(self: DynamoDBBackend, table_name: str, backup_name: str) -> Any:
    backup = _original_create(self, table_name, backup_name)
    if BACKUP_KNOBS["creating_polls"] > 0:
        backup.status = "CREATING"
        _CREATING.start(backup.arn, BACKUP_KNOBS["creating_polls"])
    return backup


def _describe(self: DynamoDBBackend, backup_arn: str) -> Any:
    return _seen(_original_describe(self, backup_arn))


def _list(self: DynamoDBBackend, table_name: str) -> Any:
    return [_seen(backup) for backup in _original_list(self, table_name)]


def _restore(self: DynamoDBBackend, target_table_name: str, backup_arn: str) -> Any:
    backup = self.get_backup(backup_arn)
    if backup.status != "AVAILABLE":
        raise BackupInUseException(backup_arn, backup.status)
    return _original_restore(self, target_table_name, backup_arn)


def apply() -> None:
    DynamoDBBackend.create_backup = _create
    DynamoDBBackend.describe_backup = _describe
    DynamoDBBackend.list_backups = _list
    DynamoDBBackend.restore_table_from_backup = _restore
    admin.register_knobs("backups", BACKUP_KNOBS)
