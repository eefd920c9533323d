"""What CloudFormation's DescribeChangeSet says about each resource, computed from the stack's
current template and the change set's template. Stock moto lists only Action, LogicalResourceId
and ResourceType (`Scope: []`, `Details: []`, no `Replacement`, no `PhysicalResourceId`).

The rules, each from the AWS documentation page named beside it:

- `ResourceChange` (https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_ResourceChange.html):
  `Replacement` depends on `RequiresRecreation`: Always + Static is True, Always + Dynamic is
  Conditional, Conditionally is Conditional, and the change with the most impact decides (Always,
  then Conditionally, then Never). `PhysicalResourceId` is absent on Add. `Scope` lists the
  attributes that trigger the update (Properties, Metadata, Tags, ...). `PolicyAction` is the
  action on the physical resource: Delete, Retain, Snapshot for a removal (DeletionPolicy), and
  ReplaceAndDelete, ReplaceAndRetain, ReplaceAndSnapshot for a replacement (UpdateReplacePolicy).
- `ResourceChangeDetail` (https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_ResourceChangeDetail.html):
  `Evaluation` Static for a value known before the update (a literal change), Dynamic for a value
  known only during it (a `Ref`/`Fn::GetAtt` of a resource that is replaced); `ChangeSource`
  DirectModification, ResourceReference (a `Ref`) or ResourceAttribute (a `Fn::GetAtt`), with
  `CausingEntity` naming the logical id (`Id.Attribute` for an attribute).
- `ResourceTargetDefinition` (https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_ResourceTargetDefinition.html):
  `Attribute`, `Name` (the property, for Properties), `RequiresRecreation`, and with
  `IncludePropertyValues` the `Path`, `BeforeValue` and `AfterValue`.
- DeletionPolicy (https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-attribute-deletionpolicy.html):
  Delete by default, except `AWS::RDS::DBCluster` and an `AWS::RDS::DBInstance` outside a
  cluster, which default to Snapshot. UpdateReplacePolicy
  (https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-attribute-updatereplacepolicy.html):
  Delete by default.

Which property replaces its resource is the service specification the CDK CLI ships
(`aws-cdk/db.json.gz`, `causesReplacement` yes -> Always, maybe -> Conditionally, else Never),
read from the workspace's generated `cdk-hook/src/replacement_table.json` (the same data, one line
per type; a cdk-hook test keeps it equal to the spec). A maybe is the Conditional of the resource
reference pages ("Update requires: Some interruptions / Replacement" depending on the change).
"""

import json
import os
from functools import lru_cache
from typing import Any

_TABLE_PATH = os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "cdk-hook", "src", "replacement_table.json"
)

# Resource attributes besides Properties that a change set reports (Scope and Target.Attribute).
OTHER_ATTRIBUTES = ("Metadata", "CreationPolicy", "UpdatePolicy", "DeletionPolicy", "UpdateReplacePolicy")
_RANK = {"Never": 0, "Conditionally": 1, "Always": 2}


@lru_cache(maxsize=1)
def replacement_table() -> dict[str, dict[str, str]]:
    with open(_TABLE_PATH, encoding="utf-8") as f:
        return json.load(f)["resources"]


def requires_recreation(resource_type: str, name: str, old: Any, new: Any) -> tuple[str, str]:
    """(property path as reported, Never|Conditionally|Always) for a changed top-level property.
    A property that does not itself replace may still replace through one of its sub-properties
    (the table's `Property.Sub` entries)."""
    props = replacement_table().get(resource_type, {})
    level = props.get(name)
    if level is None:
        for key, sub_level in sorted(props.items()):
            if key.startswith(name + ".") and _sub_differs(old, new, key[len(name) + 1 :]):
                level = sub_level
                break
    return name, {"yes": "Always", "maybe": "Conditionally"}.get(level or "", "Never")


def _sub_differs(old: Any, new: Any, sub: str) -> bool:
    if isinstance(old, list) and isinstance(new, list):
        return len(old) != len(new) or any(_field(a, sub) != _field(b, sub) for a, b in zip(old, new))
    return _field(old, sub) != _field(new, sub)


def _field(value: Any, sub: str) -> Any:
    return value.get(sub) if isinstance(value, dict) else None


def references(value: Any) -> list[tuple[str, str | None]]:
    """(logical id, attribute) of every Ref, Fn::GetAtt and Fn::Sub `${X}` in a template value."""
    found: list[tuple[str, str | None]] = []
    _walk(value, found)
    return found


def _walk(value: Any, found: list) -> None:
    if isinstance(value, list):
        for item in value:
            _walk(item, found)
        return
    if not isinstance(value, dict):
        return
    if len(value) == 1 and isinstance(value.get("Ref"), str):
        found.append((value["Ref"], None))
        return
    get_att = value.get("Fn::GetAtt") if len(value) == 1 else None
    if isinstance(get_att, list) and get_att:
        found.append((get_att[0], get_att[1] if len(get_att) > 1 else None))
        return
    if isinstance(get_att, str):
        target, _, attr = get_att.partition(".")
        found.append((target, attr or None))
        return
    sub = value.get("Fn::Sub")
    text = sub if isinstance(sub, str) else (sub[0] if isinstance(sub, list) and sub else None)
    if isinstance(text, str):
        _sub_references(text, found)
    for item in value.values():
        _walk(item, found)


def _sub_references(text: str, found: list) -> None:
    rest = text
    while "${" in rest:
        rest = rest[rest.index("${") + 2 :]
        if "}" not in rest:
            return
        name, rest = rest[: rest.index("}")], rest[rest.index("}") + 1 :]
        if name.startswith("!") or name.startswith("AWS::"):
            continue
        target, _, attr = name.partition(".")
        found.append((target, attr or None))


def _render(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True)


def detail(attribute: str, name: str | None, recreation: str, evaluation: str, source: str,
            entity: str | None, before: Any, after: Any) -> dict:
    target: dict[str, Any] = {"Attribute": attribute, "RequiresRecreation": recreation}
    if name is not None:
        target["Name"] = name
        target["Path"] = f"/{attribute}/{name}"
    if before is not None:
        target["BeforeValue"] = _render(before)
    if after is not None:
        target["AfterValue"] = _render(after)
    detail = {"Target": target, "Evaluation": evaluation, "ChangeSource": source}
    if entity is not None:
        detail["CausingEntity"] = entity
    return detail


def static_details(resource_type: str, old: dict, new: dict) -> list[dict]:
    """One Static DirectModification detail per changed property and per changed attribute."""
    old_props, new_props = old.get("Properties") or {}, new.get("Properties") or {}
    details = []
    for key in sorted(set(old_props) | set(new_props)):
        before, after = old_props.get(key), new_props.get(key)
        if before == after:
            continue
        # A change to the Tags property is reported on the Tags attribute, never recreating.
        if key == "Tags":
            details.append(detail("Tags", None, "Never", "Static", "DirectModification", None, before, after))
            continue
        name, recreation = requires_recreation(resource_type, key, before, after)
        details.append(detail("Properties", name, recreation, "Static", "DirectModification", None, before, after))
    for attribute in OTHER_ATTRIBUTES:
        if old.get(attribute) != new.get(attribute):
            details.append(
                detail(attribute, None, "Never", "Static", "DirectModification", None,
                        old.get(attribute), new.get(attribute))
            )
    return details


def dynamic_details(resource_type: str, new: dict, replaced: set[str], logical_id: str) -> list[dict]:
    """One Dynamic detail per property holding a Ref/Fn::GetAtt of a replaced resource."""
    details = []
    for key, value in sorted((new.get("Properties") or {}).items()):
        for target, attr in references(value):
            if target not in replaced or target == logical_id:
                continue
            _, recreation = requires_recreation(resource_type, key, None, None)
            source = "ResourceAttribute" if attr else "ResourceReference"
            entity = f"{target}.{attr}" if attr else target
            attribute = "Tags" if key == "Tags" else "Properties"
            found = detail(attribute, None if key == "Tags" else key, recreation, "Dynamic", source, entity, None, None)
            if found not in details:
                details.append(found)
    return details


def replacement_of(details: list[dict]) -> str:
    """True | Conditional | False: the detail with the most impact decides."""
    verdict = "False"
    for d in details:
        recreation = d["Target"]["RequiresRecreation"]
        if recreation == "Always" and d["Evaluation"] == "Static":
            return "True"
        if _RANK[recreation] >= 1:
            verdict = "Conditional"
    return verdict


def deletion_policy(resource: dict) -> str:
    policy = resource.get("DeletionPolicy")
    if policy:
        return "Retain" if policy == "RetainExceptOnCreate" else policy
    standalone_instance = resource.get("Type") == "AWS::RDS::DBInstance" and "DBClusterIdentifier" not in (
        resource.get("Properties") or {}
    )
    return "Snapshot" if resource.get("Type") == "AWS::RDS::DBCluster" or standalone_instance else "Delete"


def replace_policy(resource: dict) -> str:
    policy = resource.get("UpdateReplacePolicy") or "Delete"
    return "ReplaceAnd" + policy


def _normalized(resource: dict) -> dict:
    # A resource without Properties is the same as one with empty Properties (moto adds the key
    # to the deployed template's resource when it parses it).
    return {**resource, "Properties": resource.get("Properties") or {}}


def resource_changes(old_template: dict, new_template: dict, physical_ids: dict[str, str]) -> list[dict]:
    """The ResourceChange of every resource CloudFormation would act on, in template order."""
    old_res = {k: _normalized(v) for k, v in (old_template.get("Resources") or {}).items()}
    new_res = {k: _normalized(v) for k, v in (new_template.get("Resources") or {}).items()}
    static = {
        i: static_details(r["Type"], old_res[i], r)
        for i, r in new_res.items()
        if i in old_res and old_res[i].get("Type") == r.get("Type")
    }
    dynamic: dict[str, list[dict]] = {i: [] for i in static}
    replaced = {i for i, d in static.items() if replacement_of(d) != "False"}
    # A resource referring to a replaced one may be replaced in turn: repeat until nothing grows.
    while True:
        for i in static:
            dynamic[i] = dynamic_details(new_res[i]["Type"], new_res[i], replaced, i)
        grown = {i for i in static if replacement_of(static[i] + dynamic[i]) != "False"}
        if grown == replaced:
            break
        replaced = grown
    changes = []
    for logical_id, resource in new_res.items():
        if logical_id not in old_res:
            changes.append(resource_change("Add", logical_id, resource["Type"], None, []))
            continue
        details = static.get(logical_id, []) + dynamic.get(logical_id, [])
        if details:
            change = resource_change("Modify", logical_id, resource["Type"], physical_ids.get(logical_id), details)
            change["Replacement"] = replacement_of(details)
            if change["Replacement"] != "False":
                change["PolicyAction"] = replace_policy(old_res[logical_id])
            changes.append(change)
    for logical_id, resource in old_res.items():
        if logical_id not in new_res:
            change = resource_change("Remove", logical_id, resource["Type"], physical_ids.get(logical_id), [])
            change["PolicyAction"] = deletion_policy(resource)
            changes.append(change)
    return changes


def resource_change(action: str, logical_id: str, resource_type: str, physical_id: str | None, details: list[dict]) -> dict:
    change: dict[str, Any] = {
        "Action": action,
        "LogicalResourceId": logical_id,
        "ResourceType": resource_type,
        "Scope": sorted({d["Target"]["Attribute"] for d in details}),
        "Details": details,
    }
    if physical_id is not None:
        change["PhysicalResourceId"] = physical_id
    return change


def without_values(change: dict) -> dict:
    """The change as DescribeChangeSet answers without IncludePropertyValues."""
    stripped = dict(change)
    stripped["Details"] = [
        {**d, "Target": {k: v for k, v in d["Target"].items() if k not in ("Path", "BeforeValue", "AfterValue")}}
        for d in change["Details"]
    ]
    return stripped
