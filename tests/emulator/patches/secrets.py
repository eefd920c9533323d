"""CloudFormation provisioning of `AWS::SecretsManager::Secret` (with `GenerateSecretString`) and
`AWS::SecretsManager::SecretTargetAttachment`, which stock moto's CloudFormation skips.

AWS documents the behaviour restored here:
- https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-secretsmanager-secret.html
- https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-secretsmanager-secrettargetattachment.html
"""

import json
import os
import string
from typing import Any

from moto.core.common_models import CloudFormationModel
from moto.rds.models import rds_backends
from moto.secretsmanager.models import secretsmanager_backends

from . import admin


# Set by the test harness (`tests/src/emulator.rs`): every generated password is this one value,
# so that `cargo xtask test` can scan everything the suite printed or wrote for it. AWS generates
# a random one; a known value is what makes "the password leaked nowhere" checkable.
SENTINEL_ENV = "EMULATOR_SENTINEL_PASSWORD"


def _sentinel_misfits(password: str, spec: dict) -> list[str]:
    """Why `password` is not one this spec could have generated (empty when it is). The messages
    never quote the password: they end up in the emulator's log, which the suite's scan reads."""
    misfits = []
    length = int(spec.get("PasswordLength", 32))
    if len(password) != length:
        misfits.append(f"it has {len(password)} characters, PasswordLength is {length}")
    excluded = sorted(set(password) & set(spec.get("ExcludeCharacters", "")))
    if excluded:
        misfits.append(f"it has {len(excluded)} character(s) listed in ExcludeCharacters")
    require_each = bool(spec.get("RequireEachIncludedType", True))
    classes = [
        ("ExcludeLowercase", "lowercase letter", string.ascii_lowercase),
        ("ExcludeUppercase", "uppercase letter", string.ascii_uppercase),
        ("ExcludeNumbers", "digit", string.digits),
        ("ExcludePunctuation", "punctuation character", string.punctuation),
    ]
    allowed = " " if spec.get("IncludeSpace") else ""
    for flag, name, characters in classes:
        present = any(c in characters for c in password)
        if bool(spec.get(flag, False)):
            if present:
                misfits.append(f"{flag} is set but it has a {name}")
        else:
            allowed += characters
            if require_each and not present:
                misfits.append(f"RequireEachIncludedType is set but it has no {name}")
    if any(c not in allowed for c in password):
        misfits.append("it has characters the spec never generates")
    return misfits


def _generate(spec: dict, backend: Any) -> str:
    password = _sentinel_or_random(spec, backend)
    template = spec.get("SecretStringTemplate")
    if template is None:
        return password
    document = json.loads(template)
    document[spec["GenerateStringKey"]] = password
    return json.dumps(document)


def _sentinel_or_random(spec: dict, backend: Any) -> str:
    sentinel = os.environ.get(SENTINEL_ENV)
    if sentinel:
        misfits = _sentinel_misfits(sentinel, spec)
        if misfits:
            # Loud: a sentinel that no real deploy could produce would make the stack differ from
            # AWS's in more than the password's value.
            raise ValueError(
                f"{SENTINEL_ENV} does not fit this GenerateSecretString: " + "; ".join(misfits)
            )
        return sentinel
    password = backend.get_random_password(
        password_length=int(spec.get("PasswordLength", 32)),
        exclude_characters=spec.get("ExcludeCharacters", ""),
        exclude_numbers=bool(spec.get("ExcludeNumbers", False)),
        exclude_punctuation=bool(spec.get("ExcludePunctuation", False)),
        exclude_uppercase=bool(spec.get("ExcludeUppercase", False)),
        exclude_lowercase=bool(spec.get("ExcludeLowercase", False)),
        include_space=bool(spec.get("IncludeSpace", False)),
        require_each_included_type=bool(spec.get("RequireEachIncludedType", True)),
    )
    return json.loads(password)["RandomPassword"]


class CfnSecret(CloudFormationModel):
    def __init__(self, arn: str, name: str, account_id: str, region_name: str):
        self.arn = arn
        self.name = name
        self.account_id = account_id
        self.region_name = region_name

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::SecretsManager::Secret"

    @staticmethod
    def cloudformation_name_type() -> str:
        return "Name"

    @property
    def physical_resource_id(self) -> str:
        # AWS: Ref of a secret is its ARN.
        return self.arn

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return attr == "Id"

    def get_cfn_attribute(self, attribute_name: str) -> Any:
        if attribute_name == "Id":
            return self.arn
        raise NotImplementedError(attribute_name)

    @classmethod
    def create_from_cloudformation_json(  # type: ignore[override]
        cls, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **kwargs: Any
    ) -> "CfnSecret":
        props = cloudformation_json["Properties"]
        backend = secretsmanager_backends[account_id][region_name]
        name = props.get("Name") or resource_name
        if "GenerateSecretString" in props:
            secret_string = _generate(props["GenerateSecretString"], backend)
        else:
            secret_string = props.get("SecretString")
        secret, _ = backend._add_secret(
            name,
            secret_string=secret_string,
            description=props.get("Description"),
            tags=props.get("Tags") or [],
            kms_key_id=props.get("KmsKeyId"),
        )
        return cls(secret.arn, name, account_id, region_name)

    @classmethod
    def update_from_cloudformation_json(  # type: ignore[override]
        cls, original_resource: "CfnSecret", new_resource_name: str, cloudformation_json: Any,
        account_id: str, region_name: str,
    ) -> "CfnSecret":
        # A template change of a generated secret keeps its value on AWS (no regeneration).
        return original_resource

    def delete(self, account_id: str, region_name: str) -> None:
        backend = secretsmanager_backends[account_id][region_name]
        backend.delete_secret(self.arn, recovery_window_in_days=None, force_delete_without_recovery=True)


class CfnSecretTargetAttachment(CloudFormationModel):
    def __init__(self, secret_arn: str):
        self.secret_arn = secret_arn

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::SecretsManager::SecretTargetAttachment"

    @property
    def physical_resource_id(self) -> str:
        # AWS: Ref of the attachment is the secret's ARN (Bedrock Chat's DbConfigSecretArn).
        return self.secret_arn

    @classmethod
    def create_from_cloudformation_json(  # type: ignore[override]
        cls, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **kwargs: Any
    ) -> "CfnSecretTargetAttachment":
        props = cloudformation_json["Properties"]
        _attach(props, account_id, region_name)
        return cls(props["SecretId"])

    @classmethod
    def update_from_cloudformation_json(  # type: ignore[override]
        cls, original_resource: Any, new_resource_name: str, cloudformation_json: Any,
        account_id: str, region_name: str,
    ) -> "CfnSecretTargetAttachment":
        props = cloudformation_json["Properties"]
        _attach(props, account_id, region_name)
        return cls(props["SecretId"])

    def delete(self, account_id: str, region_name: str) -> None:
        pass


def _attach(props: dict, account_id: str, region_name: str) -> None:
    # AWS adds the database's connection fields to the secret's JSON.
    backend = secretsmanager_backends[account_id][region_name]
    secret = backend.get_secret_value(props["SecretId"], version_id=None, version_stage=None)
    document = json.loads(secret["SecretString"])
    if props.get("TargetType") == "AWS::RDS::DBCluster":
        cluster = rds_backends[account_id][region_name].clusters[props["TargetId"]]
        document.update(
            {
                "engine": "postgres" if "postgres" in cluster.engine else cluster.engine,
                "host": cluster.endpoint,
                "port": cluster.port,
                "dbClusterIdentifier": cluster.db_cluster_identifier,
                "dbname": cluster.database_name,
            }
        )
    backend.put_secret_value(
        props["SecretId"], secret_string=json.dumps(document), secret_binary=None,
        client_request_token=None, version_stages=["AWSCURRENT"],
    )


def reattach(old_cluster: str, new_cluster: str, account_id: str, region_name: str) -> None:
    backend = secretsmanager_backends[account_id][region_name]
    for secret in list(backend.secrets.values()):
        try:
            document = json.loads(backend.get_secret_value(secret.arn, None, None)["SecretString"])
        except Exception:  # noqa: BLE001 - binary or deleted secrets are not attachments
            continue
        if isinstance(document, dict) and document.get("dbClusterIdentifier") == old_cluster:
            _attach({"SecretId": secret.arn, "TargetId": new_cluster, "TargetType": "AWS::RDS::DBCluster"},
                    account_id, region_name)


def _rotation_admin(request: Any, full_url: str, headers: Any) -> Any:
    # Turns a secret's rotation on as a rotation Lambda would (`POST {"secret_id": ...,
    # "account_id": ..., "region": ...}`): moto's RotateSecret needs a Lambda function, whose
    # creation in server mode waits for Docker.
    knobs = admin.read_json(request, headers)
    backend = secretsmanager_backends[knobs.get("account_id", "123456789012")][knobs.get("region", "us-east-1")]
    secret = next(
        s for s in backend.secrets.values() if knobs["secret_id"] in (s.arn, s.name)
    )
    secret.rotation_enabled = True
    secret.rotation_lambda_arn = knobs.get(
        "lambda_arn", "arn:aws:lambda:us-east-1:123456789012:function:rotate"
    )
    secret.auto_rotate_after_days = 30
    secret.rotation_requested = True
    return admin.answer({"rotation_enabled": True})


def apply() -> None:
    # Defining the classes registers them as CloudFormationModel subclasses; the admin endpoint
    # is the one thing to install.
    admin.register("rotation", _rotation_admin)
