"""The resource changes of a change set, computed once when it is created, and the nested change
sets CloudFormation creates for `AWS::CloudFormation::Stack` resources when the change set is
created with IncludeNestedStacks
(https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/change-sets-for-nested-stacks.html):
the parent's Stack change carries the nested change set's `ChangeSetId`, and the nested change
set names its `ParentChangeSetId` and `RootChangeSetId`."""

import copy
from typing import Any

from moto.cloudformation import models, parsing
from moto.cloudformation.utils import generate_changeset_id, get_stack_from_s3_url
from moto.utilities.utils import get_partition

from . import change_set_details

NESTED_STACK = "AWS::CloudFormation::Stack"


def root_of(change_set: Any) -> str | None:
    """The root change set id of a nested change set; None for a root."""
    return getattr(change_set, "emulator_root_id", None)


def physical_ids(stack: Any) -> dict[str, str]:
    """Logical id -> physical id of the stack's resources (a nested stack's is its stack ARN)."""
    resources = (stack.template_dict or {}).get("Resources") or {}
    ids = {}
    for logical_id in resources:
        model = stack.resource_map._parsed_resources.get(logical_id)
        if isinstance(model, models.Stack):
            ids[logical_id] = model.stack_id
        elif model is not None and hasattr(model, "physical_resource_id"):
            ids[logical_id] = str(model.physical_resource_id)
    return ids


def annotate(backend: Any, change_set: Any, include_nested: bool, root_id: str | None = None) -> None:
    """Computes the change set's resource changes (`emulator_changes`) and, with include_nested,
    one nested change set per modified nested stack, recursively."""
    stack = change_set.stack
    old = stack.template_dict if change_set.change_set_type == "UPDATE" and stack.template_dict else {}
    changes = change_set_details.resource_changes(old, change_set.template_dict, physical_ids(stack))
    change_set.emulator_changes = changes
    change_set.emulator_include_nested = include_nested
    if not include_nested:
        return
    for change in changes:
        if change["ResourceType"] == NESTED_STACK and change["Action"] == "Modify":
            nested = _nested_change_set(backend, change_set, change["LogicalResourceId"], root_id)
            if nested is not None:
                change["ChangeSetId"] = nested.change_set_id
                annotate(backend, nested, True, root_id or change_set.change_set_id)


def _nested_change_set(backend: Any, parent: Any, logical_id: str, root_id: str | None) -> Any:
    stack = parent.stack
    nested_stack = stack.resource_map._parsed_resources.get(logical_id)
    if not isinstance(nested_stack, models.Stack):
        return None
    properties = _resolved(parent.template_dict["Resources"][logical_id].get("Properties") or {}, stack)
    body = get_stack_from_s3_url(
        properties["TemplateURL"], account_id=stack.account_id, partition=get_partition(stack.region_name)
    )
    name = f"{parent.change_set_name}-{logical_id}"[:128]
    nested = models.ChangeSet(
        change_set_type="UPDATE",
        change_set_id=generate_changeset_id(name, stack.region_name, stack.account_id),
        change_set_name=name,
        stack=nested_stack,
        template=body,
        parameters=properties.get("Parameters") or {},
        description=f"Nested change set of {parent.change_set_id}",
    )
    nested.status = "CREATE_COMPLETE"
    nested.execution_status = "AVAILABLE"
    nested.emulator_parent_id = parent.change_set_id
    nested.emulator_root_id = root_id or parent.change_set_id
    backend.change_sets[nested.change_set_id] = nested
    return nested


def _resolved(properties: dict, stack: Any) -> dict:
    # TemplateURL is built from pseudo parameters (Fn::Join/Fn::Sub of AWS::Region, ...), which
    # the deployed stack's resource map resolves.
    try:
        return parsing.clean_json(copy.deepcopy(properties), stack.resource_map)
    except Exception:  # an intrinsic the old stack cannot resolve: take the literal value
        return properties
