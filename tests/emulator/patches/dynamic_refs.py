"""CloudFormation dynamic references (`{{resolve:secretsmanager:ARN:SecretString:KEY::}}`), which
CDK puts in a cluster's MasterUsername/MasterUserPassword. moto passes them through verbatim.

AWS documents the behaviour restored here:
- https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/dynamic-references-secretsmanager.html
"""

import json
import re
from typing import Any

from moto.secretsmanager.models import secretsmanager_backends

_SECRET_REF = re.compile(
    r"\{\{resolve:secretsmanager:(?P<id>arn:[^:]+:secretsmanager:[^:]+:[^:]+:secret:[^:]+|[^:}]+)"
    r"(?::SecretString(?::(?P<key>[^:}]*))?(?::[^:}]*)?(?::[^:}]*)?)?\}\}"
)


def resolve(value: Any, account_id: str, region_name: str) -> Any:
    if not isinstance(value, str) or "{{resolve:" not in value:
        return value
    backend = secretsmanager_backends[account_id][region_name]

    def lookup(match: re.Match) -> str:
        secret = backend.get_secret_value(match["id"], version_id=None, version_stage=None)
        text = secret["SecretString"]
        return str(json.loads(text)[match["key"]]) if match["key"] else text

    return _SECRET_REF.sub(lookup, value)
