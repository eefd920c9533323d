"""CloudFormation change sets as the CDK CLI drives them (`cdk deploy --method=prepare-change-set`
and `--method=execute-change-set`, and the default change-set deploy), and DescribeChangeSet
answered as CloudFormation documents it
(https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_DescribeChangeSet.html):
every resource change with Replacement, Details, PolicyAction, PhysicalResourceId and Scope
(computed in `change_set_details.py`), property values only with IncludePropertyValues, pages
with NextToken, and nested change sets for `AWS::CloudFormation::Stack` resources when the
change set was created with IncludeNestedStacks.

AWS documents the behaviour restored here:
- https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_DescribeChangeSet.html
- https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_ExecuteChangeSet.html
- https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_DeleteChangeSet.html
"""

import json
from typing import Any

from moto.cloudformation import models, responses
from moto.core.responses import ActionResult
from moto.cloudformation.exceptions import CloudFormationError

from . import admin, change_set_details, nested_change_sets, stack_updates


class ChangeSetNotFoundException(CloudFormationError):
    code = "ChangeSetNotFoundException"


def _find(backend: Any, name_or_arn: str) -> Any:
    if name_or_arn in backend.change_sets:
        return backend.change_sets[name_or_arn]
    for change_set in backend.change_sets.values():
        if change_set.change_set_name == name_or_arn:
            return change_set
    return None


def _delete_change_set(self: Any, change_set_name: str) -> None:
    # AWS: deleting a change set that does not exist succeeds. The CDK CLI deletes its change set
    # name before creating it; stock moto fails with an unbound local there.
    change_set = _find(self, change_set_name)
    if change_set is not None:
        # AWS: deleting a root change set deletes its nested change sets.
        for change_set_id, other in list(self.change_sets.items()):
            if change_set_id == change_set.change_set_id or nested_change_sets.root_of(other) == change_set.change_set_id:
                del self.change_sets[change_set_id]


def _describe_change_set(self: Any, change_set_name: str) -> Any:
    # AWS answers ChangeSetNotFoundException (404), which the CDK CLI and our tool match on;
    # stock moto answers a ValidationError about a missing stack.
    change_set = _find(self, change_set_name)
    if change_set is None:
        raise ChangeSetNotFoundException(f"ChangeSet [{change_set_name}] does not exist")
    return change_set


_original_execute = models.CloudFormationBackend.execute_change_set

# A failing update, set over `POST /moto-api/emulator/failing-update` ({"logical_id": ..., "reason":
# ...}): the next executed change set fails on that resource and the stack rolls back, as AWS does
# when a resource cannot be updated. moto itself never fails or rolls back an update. One-shot.
FAILING_UPDATE: dict[str, str] = {}


def _roll_back(self: Any, change_set: Any) -> None:
    stack = self.stacks[change_set.stack_id]
    logical_id = FAILING_UPDATE["logical_id"]
    resource_type = stack.template_dict.get("Resources", {}).get(logical_id, {}).get("Type", "")
    stack._add_stack_event("UPDATE_IN_PROGRESS", resource_status_reason="User Initiated")
    stack.events.append(
        models.Event(
            stack_id=stack.stack_id,
            stack_name=stack.name,
            logical_resource_id=logical_id,
            physical_resource_id="",
            resource_type=resource_type,
            resource_status="UPDATE_FAILED",
            resource_status_reason=FAILING_UPDATE.get("reason", "Resource update failed"),
            resource_properties=None,
        )
    )
    stack._add_stack_event(
        "UPDATE_ROLLBACK_IN_PROGRESS",
        resource_status_reason=f"The following resource(s) failed to update: [{logical_id}].",
    )
    stack._add_stack_event("UPDATE_ROLLBACK_COMPLETE")
    stack.status = "UPDATE_ROLLBACK_COMPLETE"
    FAILING_UPDATE.clear()


def _execute_change_set(self: Any, change_set_name: str, stack_name: str | None = None) -> None:
    change_set = _find(self, change_set_name)
    if change_set is None:
        raise ChangeSetNotFoundException(f"ChangeSet [{change_set_name}] does not exist")
    # AWS refuses a change set that is not AVAILABLE (already executed, failed, or made obsolete
    # by another update of its stack): executing exactly the reviewed change set depends on it.
    if change_set.execution_status != "AVAILABLE":
        raise CloudFormationError(
            "InvalidChangeSetStatus",
            f"ChangeSet [{change_set.change_set_id}] cannot be executed in its current "
            f"execution status of [{change_set.execution_status}]",
        )
    if FAILING_UPDATE:
        _roll_back(self, change_set)
        del self.change_sets[change_set.change_set_id]
        return
    _original_execute(self, change_set.change_set_id, stack_name)
    # AWS: after an execute the stack's template, outputs and exports are the new template's.
    # Stock moto applies the resources but keeps the old template dict and outputs.
    stack = self.stacks[change_set.stack_id]
    stack_updates.report_resource_events(stack)
    stack.template = change_set.template
    stack._parse_template()
    if change_set.parameters:
        stack.parameters = change_set.parameters
    stack.output_map = stack._create_output_map()
    for export in stack.exports:
        self.exports[export.name] = export
    # AWS: "After you execute a change set, CloudFormation removes all change sets that are
    # associated with the stack because they aren't applicable to the updated stack." A stale
    # change set id then answers ChangeSetNotFound. Its nested change sets go with it.
    stale = {i for i, other in self.change_sets.items() if other.stack_id == change_set.stack_id}
    for change_set_id, other in list(self.change_sets.items()):
        if change_set_id in stale or nested_change_sets.root_of(other) in stale:
            del self.change_sets[change_set_id]


def _list_change_sets(self: Any) -> Any:
    # AWS lists the change sets of the one stack named (StackName is required); stock moto lists
    # every stack's.
    stack = self.cloudformation_backend.get_stack(self._get_param("StackName"))
    change_sets = [c for c in self.cloudformation_backend.list_change_sets() if c.stack_id == stack.stack_id]
    return ActionResult({"Summaries": change_sets})


_original_get_template = responses.CloudFormationResponse.get_template


def _get_template(self: Any) -> Any:
    # AWS: GetTemplate with ChangeSetName returns the template the change set would deploy;
    # stock moto ignores the parameter and returns the stack's.
    change_set_name = self._get_param("ChangeSetName")
    if not change_set_name:
        return _original_get_template(self)
    change_set = _find(self.cloudformation_backend, change_set_name)
    if change_set is None:
        raise ChangeSetNotFoundException(f"ChangeSet [{change_set_name}] does not exist")
    return ActionResult({"TemplateBody": change_set.template})


# The disagreement knob, `POST /moto-api/emulator/change-sets`: `page_size` (changes per
# DescribeChangeSet page; 0 is AWS's own limit, an answer of at most 1 MB) and `overrides`, a list
# of {"logical_id", "replacement", "drop_details": [property names], "add_detail": {"name",
# "requires_recreation", "evaluation"}} that make later answers disagree with the templates (a
# resource the templates leave alone is added as a Modify). Off until set.
KNOBS: dict[str, Any] = {"page_size": 0, "overrides": []}
_PAGE_BYTES = 1024 * 1024

_original_create_change_set = responses.CloudFormationResponse.create_change_set


def _create_change_set(self: Any) -> Any:
    result = _original_create_change_set(self)
    backend = self.cloudformation_backend
    change_set = backend.change_sets[result.result["Id"]]
    include_nested = self._get_bool_param("IncludeNestedStacks", False)
    nested_change_sets.annotate(backend, change_set, include_nested)
    return result


def _overridden(change_set: Any, changes: list[dict]) -> list[dict]:
    changes = [dict(c) for c in changes]
    for override in KNOBS["overrides"]:
        logical_id = override["logical_id"]
        change = next((c for c in changes if c["LogicalResourceId"] == logical_id), None)
        if change is None:
            resource = (change_set.template_dict.get("Resources") or {}).get(logical_id)
            if resource is None:
                continue
            physical = nested_change_sets.physical_ids(change_set.stack).get(logical_id)
            change = change_set_details.resource_change("Modify", logical_id, resource["Type"], physical, [])
            change["Replacement"] = "False"
            changes.append(change)
        drop = set(override.get("drop_details") or [])
        change["Details"] = [d for d in change["Details"] if d["Target"].get("Name") not in drop]
        added = override.get("add_detail")
        if added:
            change["Details"].append(change_set_details.detail(
                "Properties", added["name"], added.get("requires_recreation", "Conditionally"),
                added.get("evaluation", "Static"), "DirectModification", None, None, None,
            ))
        change["Scope"] = sorted({d["Target"]["Attribute"] for d in change["Details"]})
        if override.get("replacement"):
            change["Replacement"] = override["replacement"]
    return changes


def _page(changes: list[dict], start: int) -> tuple[list[dict], str | None]:
    size = int(KNOBS.get("page_size") or 0)
    if size > 0:
        end = start + size
    else:
        end, used = start, 0
        while end < len(changes):
            used += len(json.dumps(changes[end]))
            if used > _PAGE_BYTES and end > start:
                break
            end += 1
    return changes[start:end], (str(end) if end < len(changes) else None)


def _describe_change_set_answer(self: Any) -> Any:
    name = self._get_param("ChangeSetName")
    change_set = _describe_change_set(self.cloudformation_backend, name)
    if not hasattr(change_set, "emulator_changes"):
        nested_change_sets.annotate(self.cloudformation_backend, change_set, False)
    with_values = self._get_bool_param("IncludePropertyValues", False)
    changes = _overridden(change_set, change_set.emulator_changes)
    if not with_values:
        changes = [change_set_details.without_values(c) for c in changes]
    token = self._get_param("NextToken")
    page, next_token = _page(changes, int(token) if token else 0)
    answer: dict[str, Any] = {
        "ChangeSetName": change_set.change_set_name,
        "ChangeSetId": change_set.change_set_id,
        "StackId": change_set.stack_id,
        "StackName": change_set.stack_name,
        "Description": change_set.description,
        "Parameters": change_set.parameters or {},  # moto's serializer makes the list
        "CreationTime": change_set.creation_time,
        "ExecutionStatus": change_set.execution_status,
        "Status": change_set.status,
        "StatusReason": change_set.status_reason,
        "NotificationARNs": change_set.notification_arns or [],
        "Tags": [{"Key": k, "Value": v} for k, v in (change_set.tags or {}).items()],
        "Changes": [{"Type": "Resource", "ResourceChange": c} for c in page],
        "IncludeNestedStacks": getattr(change_set, "emulator_include_nested", False),
    }
    if next_token:
        answer["NextToken"] = next_token
    if getattr(change_set, "emulator_parent_id", None):
        answer["ParentChangeSetId"] = change_set.emulator_parent_id
        answer["RootChangeSetId"] = change_set.emulator_root_id
    return ActionResult(answer)


def _change_sets_admin(request: Any, full_url: str, headers: Any) -> Any:
    if request.method == "POST":
        KNOBS.update(admin.read_json(request, headers))
    return admin.answer(KNOBS)


def _failing_update_admin(request: Any, full_url: str, headers: Any) -> Any:
    if request.method == "POST":
        FAILING_UPDATE.clear()
        FAILING_UPDATE.update(admin.read_json(request, headers))
    return admin.answer(FAILING_UPDATE)


def apply() -> None:
    admin.register("failing-update", _failing_update_admin)
    admin.register("change-sets", _change_sets_admin)
    responses.CloudFormationResponse.create_change_set = _create_change_set
    responses.CloudFormationResponse.describe_change_set = _describe_change_set_answer
    # The answer's Changes are already CloudFormation's shape, not moto's Change objects.
    responses.CloudFormationResponse.RESPONSE_KEY_PATH_TO_TRANSFORMER.pop("DescribeChangeSetOutput.Changes", None)
    responses.CloudFormationResponse.get_template = _get_template
    responses.CloudFormationResponse.list_change_sets = _list_change_sets
    models.CloudFormationBackend.delete_change_set = _delete_change_set
    models.CloudFormationBackend.describe_change_set = _describe_change_set
    models.CloudFormationBackend.execute_change_set = _execute_change_set
