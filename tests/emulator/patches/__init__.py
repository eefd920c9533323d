"""Patches to moto, each restoring one AWS behaviour that this project meets. Applied before the
server starts; every patch says which AWS behaviour it restores."""

from . import (
    aws_limits,
    cloudformation_change_sets,
    deletion_policy,
    dynamodb_atomic_writes,
    dynamodb_backups,
    dynamodb_index_keys,
    dynamodb_throughput,
    ecs_task_runner,
    faults,
    held_update,
    list_imports,
    rds_cluster,
    rds_restore,
    secrets,
    stack_updates,
    vpc_dns,
)


def apply_all() -> None:
    dynamodb_atomic_writes.apply()  # first: the innermost wrapper of moto's writes
    cloudformation_change_sets.apply()
    stack_updates.apply()  # only replaced resources get new physical ids
    held_update.apply()  # wraps the change-set execute above; off until armed
    ecs_task_runner.apply()
    aws_limits.apply()  # after the task runner: its RunTask counts the runner's tasks
    faults.apply()  # off until configured; wraps the request dispatch
    # The resource models register themselves as CloudFormationModel subclasses; moto caches its
    # model map on first use, so they must exist before any stack is parsed.
    rds_cluster.apply()
    rds_restore.apply()
    dynamodb_backups.apply()
    dynamodb_throughput.apply()  # off until a limit is set
    dynamodb_index_keys.apply()  # after the throughput patch: a refused write takes no units
    deletion_policy.apply()  # Retain on a resource an update removes
    secrets.apply()
    vpc_dns.apply()
    list_imports.apply()
    from moto.cloudformation import parsing

    parsing.get_model_list.cache_clear()
    parsing.get_model_map.cache_clear()
    parsing.get_name_type_map.cache_clear()
