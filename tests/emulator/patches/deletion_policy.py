"""A resource removed from a stack by an update keeps living when its DeletionPolicy is Retain.
CloudFormation "keeps the resource without deleting the resource or its contents when its stack
is deleted" and applies the policy the same way "when a resource is removed from the template
during a stack update" (RetainExceptOnCreate likewise, outside a rolled-back create),
https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-attribute-deletionpolicy.html.
Stock moto honours Retain only when the whole stack is deleted: an update that drops a resource
deletes it whatever its policy, so Bedrock Chat's v2 -> v3 upgrade (the v2 conversation table,
Retain, leaves the stack) would delete the very table the migration reads. Here a removed
resource with Retain or RetainExceptOnCreate is left as it is, no longer part of the stack.
"""

from typing import Any

from moto.cloudformation import parsing

RETAINED = ("Retain", "RetainExceptOnCreate")

_original_delete_resource = parsing.ResourceMap._delete_resource


def _delete_resource(self: Any, parsed_resource: Any, resource_json: dict) -> None:
    if resource_json.get("DeletionPolicy") in RETAINED:
        return
    _original_delete_resource(self, parsed_resource, resource_json)


def apply() -> None:
    parsing.ResourceMap._delete_resource = _delete_resource
