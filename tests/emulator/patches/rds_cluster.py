"""CloudFormation provisioning of `AWS::RDS::DBCluster` through moto's RDS backend (stock moto
skips the type, so `Ref`/`Fn::GetAtt` on the fixture's cluster resolve to nothing), cluster member
instances, and the replacement of a cluster whose create-only property changes.

AWS documents the behaviour restored here:
- https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-rds-dbcluster.html
"""

from typing import Any

from moto.cloudformation.parsing import random_suffix
from moto.core.common_models import CloudFormationModel
from moto.rds import models as rds_models
from moto.rds.models import rds_backends

from . import admin, dynamic_refs, secrets

# Properties of AWS::RDS::DBCluster that CloudFormation can only change by replacing the cluster
# (the resource provider schema's createOnlyProperties plus the service spec's
# causesReplacement=yes), e.g. v0 -> v1 of Bedrock Chat turning on StorageEncrypted.
CREATE_ONLY = (
    "AvailabilityZones",
    "DatabaseName",
    "DBClusterIdentifier",
    "DBSubnetGroupName",
    "Engine",
    "EngineMode",
    "GlobalClusterIdentifier",
    "KmsKeyId",
    "RestoreToTime",
    "RestoreType",
    "SnapshotIdentifier",
    "SourceDBClusterIdentifier",
    "SourceRegion",
    "StorageEncrypted",
    "UseLatestRestorableTime",
)


def _resolved(properties: dict, account_id: str, region_name: str) -> dict:
    props = {k: dynamic_refs.resolve(v, account_id, region_name) for k, v in properties.items()}
    # moto resolves a Ref to its DBSubnetGroup model to the object itself; AWS gives the name.
    group = props.get("DBSubnetGroupName")
    if group is not None and not isinstance(group, str):
        props["DBSubnetGroupName"] = group.name
    return props


def _create_cluster(identifier: str, props: dict, account_id: str, region_name: str) -> Any:
    backend = rds_backends[account_id][region_name]
    return backend.create_db_cluster(
        {
            "db_cluster_identifier": identifier,
            "engine": props.get("Engine"),
            "engine_version": props.get("EngineVersion"),
            "engine_mode": props.get("EngineMode"),
            "master_username": props.get("MasterUsername"),
            "master_user_password": props.get("MasterUserPassword"),
            "database_name": props.get("DatabaseName"),
            "db_subnet_group_name": props.get("DBSubnetGroupName"),
            "db_cluster_parameter_group_name": props.get("DBClusterParameterGroupName"),
            "vpc_security_group_ids": props.get("VpcSecurityGroupIds") or [],
            "storage_encrypted": bool(props.get("StorageEncrypted", False)),
            "kms_key_id": props.get("KmsKeyId"),
            "port": props.get("Port"),
            "copy_tags_to_snapshot": props.get("CopyTagsToSnapshot", False),
            "deletion_protection": props.get("DeletionProtection", False),
            # Same shape in the template and the API ({MinCapacity, MaxCapacity}): the restore
            # path copies it onto the temporary cluster.
            "serverless_v2_scaling_configuration": props.get("ServerlessV2ScalingConfiguration"),
            "tags": props.get("Tags") or [],
        }
    )


def _cluster_identifier(props: dict, generated_name: str) -> str:
    # CloudFormation generates lower-case cluster identifiers: RDS stores them lower-cased.
    return (props.get("DBClusterIdentifier") or generated_name).lower()[:63]


class CfnDBCluster(CloudFormationModel):
    """The stack's handle on a cluster that lives in moto's RDS backend."""

    def __init__(self, identifier: str, properties: dict, policies: dict, account_id: str, region_name: str):
        self.identifier = identifier
        self.properties = properties
        self.policies = policies
        self.account_id = account_id
        self.region_name = region_name

    @property
    def cluster(self) -> Any:
        return rds_backends[self.account_id][self.region_name].clusters[self.identifier]

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::RDS::DBCluster"

    @staticmethod
    def cloudformation_name_type() -> str:
        return "DBClusterIdentifier"

    @property
    def physical_resource_id(self) -> str:
        return self.identifier

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return attr in ("Endpoint.Address", "Endpoint.Port", "ReadEndpoint.Address", "DBClusterArn")

    def get_cfn_attribute(self, attribute_name: str) -> Any:
        cluster = self.cluster
        if attribute_name == "Endpoint.Address":
            return cluster.endpoint
        if attribute_name == "Endpoint.Port":
            return str(cluster.port)
        if attribute_name == "ReadEndpoint.Address":
            return cluster.reader_endpoint
        if attribute_name == "DBClusterArn":
            return cluster.db_cluster_arn
        raise NotImplementedError(attribute_name)

    @classmethod
    def create_from_cloudformation_json(  # type: ignore[override]
        cls, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **kwargs: Any
    ) -> "CfnDBCluster":
        props = _resolved(cloudformation_json["Properties"], account_id, region_name)
        identifier = _cluster_identifier(props, resource_name)
        _create_cluster(identifier, props, account_id, region_name)
        policies = {
            "DeletionPolicy": cloudformation_json.get("DeletionPolicy", "Delete"),
            "UpdateReplacePolicy": cloudformation_json.get("UpdateReplacePolicy", "Delete"),
        }
        return cls(identifier, props, policies, account_id, region_name)

    @classmethod
    def update_from_cloudformation_json(  # type: ignore[override]
        cls, original_resource: "CfnDBCluster", new_resource_name: str, cloudformation_json: Any,
        account_id: str, region_name: str,
    ) -> "CfnDBCluster":
        props = _resolved(cloudformation_json["Properties"], account_id, region_name)
        policies = {
            "DeletionPolicy": cloudformation_json.get("DeletionPolicy", "Delete"),
            "UpdateReplacePolicy": cloudformation_json.get("UpdateReplacePolicy", "Delete"),
        }
        changed = [p for p in CREATE_ONLY if original_resource.properties.get(p) != props.get(p)]
        if not changed:
            original_resource.properties = props
            original_resource.policies = policies
            return original_resource
        # AWS replaces the cluster: create the new one first, then delete the old one under its
        # UpdateReplacePolicy (Snapshot: a final snapshot survives the cluster).
        identifier = _cluster_identifier(props, new_resource_name)
        if identifier == original_resource.identifier:
            raise ValueError(
                "CloudFormation cannot update a stack when a custom-named resource requires "
                f"replacing (DBClusterIdentifier {identifier}; changed: {', '.join(changed)})"
            )
        _create_cluster(identifier, props, account_id, region_name)
        backend = rds_backends[account_id][region_name]
        # The writer follows its cluster (AWS replaces it through DBClusterIdentifier); moto keeps
        # the instance object, so it is moved to the new cluster.
        for instance in list(backend.databases.values()):
            if getattr(instance, "db_cluster_identifier", None) == original_resource.identifier:
                instance.db_cluster_identifier = identifier
        _delete_cluster(original_resource, original_resource.policies["UpdateReplacePolicy"])
        # The secret attachment's TargetId changes with the Ref (Dynamic on AWS): re-attach.
        secrets.reattach(original_resource.identifier, identifier, account_id, region_name)
        return cls(identifier, props, policies, account_id, region_name)

    def delete(self, account_id: str, region_name: str) -> None:
        _delete_cluster(self, self.policies["DeletionPolicy"])


def _delete_cluster(resource: CfnDBCluster, policy: str) -> None:
    if policy == "Retain":
        return
    backend = rds_backends[resource.account_id][resource.region_name]
    snapshot = None
    if policy == "Snapshot":
        snapshot = f"{resource.identifier}-snapshot-{random_suffix().lower()}"
    for instance in list(backend.databases.values()):
        if getattr(instance, "db_cluster_identifier", None) == resource.identifier:
            backend.delete_db_instance(instance.db_instance_identifier)
    backend.delete_db_cluster(resource.identifier, snapshot)
    # AWS deletes a cluster's automated backups with it; only manual snapshots survive.
    for snapshot_id, cluster_snapshot in list(backend.cluster_snapshots.items()):
        if (
            cluster_snapshot.snapshot_type == "automated"
            and cluster_snapshot.cluster.db_cluster_identifier == resource.identifier
        ):
            del backend.cluster_snapshots[snapshot_id]


_original_instance_create = rds_models.DBInstance.create_from_cloudformation_json.__func__


def _instance_create(cls: Any, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **kwargs: Any) -> Any:
    props = cloudformation_json["Properties"]
    cluster_id = props.get("DBClusterIdentifier")
    if not cluster_id:
        return _original_instance_create(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs)
    # AWS: a cluster member takes engine version, subnets and security groups from its cluster;
    # stock moto ignores DBClusterIdentifier and demands an EngineVersion.
    backend = rds_backends[account_id][region_name]
    cluster = backend.clusters[cluster_id]
    return backend.create_db_instance(
        {
            "db_instance_identifier": (props.get("DBInstanceIdentifier") or resource_name).lower()[:63],
            "db_cluster_identifier": cluster_id,
            "db_instance_class": props.get("DBInstanceClass", "db.serverless"),
            "engine": props.get("Engine", cluster.engine),
            "engine_version": cluster.engine_version,
            "db_subnet_group_name": cluster.db_subnet_group_name,
            "publicly_accessible": props.get("PubliclyAccessible", False),
            "promotion_tier": props.get("PromotionTier", 1),
            "tags": props.get("Tags") or [],
        }
    )


# How many DescribeDBClusterSnapshots answers a new manual snapshot stays `creating` for (`POST
# /moto-api/emulator/snapshots {"creating_polls": N}`). moto makes snapshots available at once;
# an AWS snapshot of a real cluster takes minutes, which is when a user presses Ctrl-C.
SNAPSHOT_KNOBS = {"creating_polls": 0}
_CREATING = admin.Countdown()

_original_create_snapshot = rds_models.RDSBackend.create_db_cluster_snapshot
_original_describe_snapshots = rds_models.RDSBackend.describe_db_cluster_snapshots


def _create_snapshot(self: Any, db_cluster_identifier: str, db_cluster_snapshot_identifier: str, *args: Any, **kwargs: Any) -> Any:
    snapshot = _original_create_snapshot(self, db_cluster_identifier, db_cluster_snapshot_identifier, *args, **kwargs)
    if SNAPSHOT_KNOBS["creating_polls"] > 0 and snapshot.snapshot_type == "manual":
        snapshot.status = "creating"
        # CreateDBClusterSnapshot's own answer is the first of the `creating_polls`.
        _CREATING.start(db_cluster_snapshot_identifier, SNAPSHOT_KNOBS["creating_polls"] - 1)
    return snapshot


def _describe_snapshots(self: Any, *args: Any, **kwargs: Any) -> Any:
    snapshots = _original_describe_snapshots(self, *args, **kwargs)
    for snapshot in snapshots:
        if _CREATING.tick(snapshot.db_cluster_snapshot_identifier) is False:
            snapshot.status = "available"
    return snapshots


def apply() -> None:
    rds_models.DBInstance.create_from_cloudformation_json = classmethod(_instance_create)
    rds_models.RDSBackend.create_db_cluster_snapshot = _create_snapshot
    rds_models.RDSBackend.describe_db_cluster_snapshots = _describe_snapshots
    admin.register_knobs("snapshots", SNAPSHOT_KNOBS)
