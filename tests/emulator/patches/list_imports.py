"""ListImports: the stacks that import an exported output value. Stock moto has no ListImports
(its CloudFormation answers the action as unknown), and this project's review asks it before an
upgrade that moves or removes an export another stack imports, which CloudFormation refuses.
As AWS documents it (https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_ListImports.html):
the names of the stacks that import the export, in pages of `NextToken`; an export that no stack
imports answers `ValidationError` "Export '<name>' is not imported by any stack."
Here a stack imports an export when its template holds `Fn::ImportValue` of the name as a plain
string (how CDK writes `Fn.importValue` and the app's published-API stacks import the tables).
"""

from typing import Any

from moto.cloudformation.exceptions import ValidationError
from moto.cloudformation.models import cloudformation_backends
from moto.cloudformation.responses import CloudFormationResponse
from moto.core.responses import ActionResult


def _imports(node: Any, name: str) -> bool:
    if isinstance(node, dict):
        if node.get("Fn::ImportValue") == name:
            return True
        return any(_imports(v, name) for v in node.values())
    if isinstance(node, list):
        return any(_imports(v, name) for v in node)
    return False


def list_imports(self: CloudFormationResponse) -> ActionResult:
    name = self._get_param("ExportName")
    backend = cloudformation_backends[self.current_account][self.region]
    importers = sorted(
        stack.name
        for stack in backend.stacks.values()
        if stack.status != "DELETE_COMPLETE" and _imports(stack.template_dict, name)
    )
    if not importers:
        raise ValidationError(message=f"Export '{name}' is not imported by any stack.")
    return ActionResult({"Imports": importers})


def apply() -> None:
    CloudFormationResponse.list_imports = list_imports
