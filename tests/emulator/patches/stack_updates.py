"""Stack updates keep the physical id of every resource they do not replace. CloudFormation
(https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/using-cfn-updating-stacks-update-behaviors.html):
an update with no interruption or some interruption keeps the resource's physical ID; only a
replacement "generates a new physical ID". Stock moto updates every resource whose template
entry differs from the parsed one, and its parser adds `Properties: {}` to a resource without
Properties, so such a resource (the fixture's ECS cluster) is "modified" by every update and gets
a new generated name. Here a resource is updated only when the change set (the same computation
as DescribeChangeSet's, `change_set_details.py`) lists it; one it does not replace keeps its
physical name, and a nested stack is updated in place instead of being deleted and recreated.

An update also reports each resource it creates, updates or deletes as stack events, as
CloudFormation does (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/view-stack-events.html);
stock moto's update reports only the stack's own two events."""

import copy
from typing import Any

from moto.cloudformation import models, parsing
from moto.cloudformation.utils import get_stack_from_s3_url
from moto.utilities.utils import get_partition

from . import change_set_details

_original_update = parsing.ResourceMap.update
_original_parse_and_update = parsing.parse_and_update_resource


def _update(self: Any, template: dict, parameters: Any = None) -> None:
    old = {"Resources": copy.deepcopy(self._resource_json_map)}
    changes = change_set_details.resource_changes(old, template, {})
    self.emulator_modified = {c["LogicalResourceId"] for c in changes if c["Action"] == "Modify"}
    self.emulator_replaced = {c["LogicalResourceId"] for c in changes if c.get("Replacement") == "True"}
    try:
        _original_update(self, template, parameters)
    finally:
        del self.emulator_modified, self.emulator_replaced
    self.emulator_changes = changes


_EVENT_VERB = {"Add": "CREATE", "Modify": "UPDATE", "Remove": "DELETE"}
_original_stack_update = models.Stack.update


def _stack_update(self: Any, *args: Any, **kwargs: Any) -> None:
    _original_stack_update(self, *args, **kwargs)
    report_resource_events(self)


def report_resource_events(stack: Any) -> None:
    """Puts the events of the resources the last update touched before the stack's closing
    event (UPDATE_COMPLETE or CREATE_COMPLETE, the last one so far)."""
    changes = getattr(stack.resource_map, "emulator_changes", None) or []
    stack.resource_map.emulator_changes = None
    if not changes or not stack.events:
        return
    complete = stack.events.pop()
    for change in changes:
        verb = _EVENT_VERB.get(change["Action"])
        if verb is None:
            continue
        logical_id = change["LogicalResourceId"]
        resource = stack.resource_map._parsed_resources.get(logical_id)
        physical = getattr(resource, "physical_resource_id", None) or change.get("PhysicalResourceId") or ""
        for status in (f"{verb}_IN_PROGRESS", f"{verb}_COMPLETE"):
            stack.events.append(
                models.Event(
                    stack_id=stack.stack_id,
                    stack_name=stack.name,
                    logical_resource_id=logical_id,
                    physical_resource_id=physical if isinstance(physical, str) else "",
                    resource_type=change["ResourceType"],
                    resource_status=status,
                    resource_status_reason=None,
                    resource_properties=None,
                )
            )
    stack.events.append(complete)


def _parse_and_update(logical_id: str, resource_json: dict, resources_map: Any, account_id: str, region_name: str) -> Any:
    modified = getattr(resources_map, "emulator_modified", None)
    original = resources_map._parsed_resources.get(logical_id)
    if modified is None or original is None or logical_id in resources_map.emulator_replaced:
        return _original_parse_and_update(logical_id, resource_json, resources_map, account_id, region_name)
    if logical_id not in modified:
        # Nothing CloudFormation would change (moto's own `Properties: {}` difference).
        return original
    if isinstance(original, models.Stack):
        return _update_nested_stack(original, resource_json, resources_map)
    return _update_keeping_name(logical_id, resource_json, resources_map, original, account_id, region_name)


def _update_nested_stack(nested: Any, resource_json: dict, resources_map: Any) -> Any:
    properties = parsing.clean_json(copy.deepcopy(resource_json.get("Properties") or {}), resources_map)
    body = get_stack_from_s3_url(
        properties["TemplateURL"], account_id=nested.account_id, partition=get_partition(nested.region_name)
    )
    nested.update(body, parameters=properties.get("Parameters") or None)
    return nested


def _update_keeping_name(logical_id: str, resource_json: dict, resources_map: Any, original: Any,
                         account_id: str, region_name: str) -> Any:
    parsed = parsing.parse_resource_and_generate_name(logical_id, resource_json, resources_map)
    if not parsed:
        return None
    resource_class, parsed_json, new_name = parsed
    name_property = parsing.resource_name_property_from_type(resource_json["Type"])
    keeps_generated_name = not (name_property and name_property in (parsed_json.get("Properties") or {}))
    if keeps_generated_name and isinstance(getattr(original, "name", None), str):
        # The generated name stays the one the resource was created with.
        new_name = original.name
    if hasattr(resource_class.update_from_cloudformation_json, "__isabstractmethod__"):
        return original
    updated = resource_class.update_from_cloudformation_json(
        original_resource=original,
        new_resource_name=new_name,
        cloudformation_json=parsed_json,
        account_id=account_id,
        region_name=region_name,
    )
    updated.cf_resource_type = resource_json["Type"]
    updated.logical_resource_id = logical_id
    return updated


def apply() -> None:
    parsing.ResourceMap.update = _update
    models.Stack.update = _stack_update
    parsing.parse_and_update_resource = _parse_and_update
