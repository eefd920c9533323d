"""CloudFormation's `AWS::EC2::VPC` honours `EnableDnsHostnames` and `EnableDnsSupport` (CDK's `Vpc`
sets both to true). moto's provisioning ignores them and leaves DNS hostnames off, and then RunTask
of an `awsvpc` task in the VPC fails with a 500 (moto's task ENI reads a private DNS name that only
exists with DNS hostnames on; docs/emulator.md). `cargo xtask copy-vectors` runs such a task.

AWS documents the behaviour restored here:
- https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-ec2-vpc.html
"""

from typing import Any

from moto.ec2.models.vpcs import VPC

_ATTRIBUTES = (("EnableDnsHostnames", "enable_dns_hostnames"), ("EnableDnsSupport", "enable_dns_support"))
_original_create = VPC.create_from_cloudformation_json.__func__


def _create(cls: Any, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **kwargs: Any) -> Any:
    vpc = _original_create(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs)
    properties = cloudformation_json.get("Properties") or {}
    for key, attribute in _ATTRIBUTES:
        if key in properties:
            # The template may carry a boolean or its string form.
            setattr(vpc, attribute, str(properties[key]).lower() == "true")
    return vpc


def apply() -> None:
    VPC.create_from_cloudformation_json = classmethod(_create)
