"""RDS's restore path as `cargo xtask restore` drives it: RestoreDBClusterFromSnapshot, a
serverless v2 writer in the restored cluster, and its deletion. Checked against moto 5.2.5 in
server mode, which already honours the restore's subnet group, security groups, engine version,
ServerlessV2ScalingConfiguration and Tags, restores from a snapshot whose cluster is gone, and
refuses to delete a cluster that still has members. Restored here:

- RestoreDBClusterFromSnapshot takes the snapshot's ARN as well as its name (moto: not found),
  refuses a snapshot that is not `available` (moto restores a `creating` one) and refuses an
  identifier already in use with DBClusterAlreadyExistsFault (moto replaces the cluster, or fails
  with a DBClusterSnapshotAlreadyExists about its automated backup). DescribeDBClusterSnapshots
  takes the ARN too.
- A restore takes minutes: the restored cluster and an instance created in it stay `creating` for
  a few DescribeDBClusters/DescribeDBInstances answers (moto: `available` at once), so a caller
  that does not wait fails here as it would on AWS. `POST /moto-api/emulator/restore
  {"creating_polls": N}` sets how many.
- CreateDBInstance of class db.serverless needs the cluster's ServerlessV2ScalingConfiguration
  (moto adds the instance anyway).
- DeleteDBCluster needs SkipFinalSnapshot or FinalDBSnapshotIdentifier, not both; SkipFinalSnapshot
  skips the final snapshot; the cluster's automated backups go with it unless
  DeleteAutomatedBackups is false (moto ignores all three and keeps the automated backups).

CloudFormation's provisioning (`rds_cluster.py`) calls the backend directly and is unaffected: the
checks are on the API's handlers, and the held `creating` applies to restored clusters only.

AWS documents the behaviour restored here:
- https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_RestoreDBClusterFromSnapshot.html
- https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_DeleteDBCluster.html
"""

from typing import Any

from moto.core.responses import ActionResult
from moto.rds import models as rds_models
from moto.rds.exceptions import (
    InvalidDBClusterSnapshotStateFault,
    InvalidParameterCombination,
    RDSClientError,
)
from moto.rds.models import rds_backends
from moto.rds.responses import RDSResponse

from . import admin

RESTORE_KNOBS = {"creating_polls": 2}
# Clusters made by RestoreDBClusterFromSnapshot: an instance created in one is `creating` too.
_RESTORED: set[str] = set()
# Identifier -> DescribeDB* answers still to show `creating`.
_CREATING_CLUSTERS = admin.Countdown()
_CREATING_INSTANCES = admin.Countdown()


class DBClusterAlreadyExistsFault(RDSClientError):
    def __init__(self, identifier: str) -> None:
        super().__init__("DBClusterAlreadyExistsFault", f"DB Cluster already exists: {identifier}")


def _snapshot_name(identifier: str | None) -> str | None:
    """`arn:aws:rds:<region>:<account>:cluster-snapshot:<name>` -> `<name>`."""
    if identifier and identifier.startswith("arn:") and ":cluster-snapshot:" in identifier:
        return identifier.split(":cluster-snapshot:", 1)[1]
    return identifier


def _backend(response: RDSResponse) -> Any:
    return rds_backends[response.current_account][response.region]


_original_restore = RDSResponse.restore_db_cluster_from_snapshot


def _restore(self: RDSResponse) -> Any:
    backend = _backend(self)
    # By name or ARN; DBClusterSnapshotNotFoundFault for an unknown one, as AWS answers. Read
    # directly, not through DescribeDBClusterSnapshots, whose answers `rds_cluster.py` counts.
    snapshot = backend.get_db_cluster_snapshot(self.params.get("SnapshotIdentifier") or "")
    name = snapshot.db_cluster_snapshot_identifier
    self.params["SnapshotIdentifier"] = name
    if snapshot.status != "available":
        raise InvalidDBClusterSnapshotStateFault(
            f"Cluster snapshot {name} is in {snapshot.status} state, expected available."
        )
    identifier = (self.params.get("DBClusterIdentifier") or "").lower()
    if identifier in backend.clusters:
        raise DBClusterAlreadyExistsFault(identifier)
    result = _original_restore(self)
    _RESTORED.add(identifier)
    _CREATING_CLUSTERS.start(identifier, RESTORE_KNOBS["creating_polls"])
    return result


_original_describe_snapshots = RDSResponse.describe_db_cluster_snapshots


def _describe_snapshots(self: RDSResponse) -> Any:
    if self.params.get("DBClusterSnapshotIdentifier"):
        self.params["DBClusterSnapshotIdentifier"] = _snapshot_name(self.params["DBClusterSnapshotIdentifier"])
    return _original_describe_snapshots(self)


_original_create_instance = RDSResponse.create_db_instance


def _create_instance(self: RDSResponse) -> Any:
    cluster_id = self.params.get("DBClusterIdentifier")
    cluster = _backend(self).clusters.get(cluster_id) if cluster_id else None
    if (
        cluster is not None
        and self.params.get("DBInstanceClass") == "db.serverless"
        and not cluster.serverless_v2_scaling_configuration
    ):
        raise InvalidParameterCombination(
            f"DB cluster {cluster_id} has no ServerlessV2ScalingConfiguration: set one before adding "
            "a db.serverless instance."
        )
    result = _original_create_instance(self)
    if cluster is not None and cluster.db_cluster_identifier in _RESTORED:
        identifier = self.params["DBInstanceIdentifier"].lower()
        _backend(self).databases[identifier].status = "creating"
        _CREATING_INSTANCES.start(identifier, RESTORE_KNOBS["creating_polls"])
    return result


def _flag(value: Any) -> bool | None:
    if value is None:
        return None
    return value if isinstance(value, bool) else str(value).lower() == "true"


def _delete_cluster(self: RDSResponse) -> Any:
    identifier = self.params.get("DBClusterIdentifier")
    final = self.params.get("FinalDBSnapshotIdentifier")
    skip = bool(_flag(self.params.get("SkipFinalSnapshot")))
    if skip and final:
        raise InvalidParameterCombination("You cannot specify both FinalDBSnapshotIdentifier and SkipFinalSnapshot")
    if not skip and not final:
        raise InvalidParameterCombination("FinalDBSnapshotIdentifier is required unless SkipFinalSnapshot is specified.")
    backend = _backend(self)
    cluster = backend.delete_db_cluster(cluster_identifier=identifier, snapshot_name=final)
    if _flag(self.params.get("DeleteAutomatedBackups")) is not False:
        for snapshot_id, snapshot in list(backend.cluster_snapshots.items()):
            if snapshot.snapshot_type == "automated" and snapshot.cluster.db_cluster_identifier == cluster.db_cluster_identifier:
                del backend.cluster_snapshots[snapshot_id]
    _CREATING_CLUSTERS.forget(cluster.db_cluster_identifier)
    _RESTORED.discard(cluster.db_cluster_identifier)
    return ActionResult({"DBCluster": cluster})


_original_describe_clusters = rds_models.RDSBackend.describe_db_clusters
_original_describe_instances = rds_models.RDSBackend.describe_db_instances


def _describe_clusters(self: Any, *args: Any, **kwargs: Any) -> Any:
    clusters = _original_describe_clusters(self, *args, **kwargs)
    for cluster in clusters:
        if _CREATING_CLUSTERS.tick(cluster.db_cluster_identifier):
            # moto's status reads `creating` once, then `available`.
            cluster.status = "creating"
    return clusters


def _describe_instances(self: Any, *args: Any, **kwargs: Any) -> Any:
    instances = _original_describe_instances(self, *args, **kwargs)
    for instance in instances:
        if _CREATING_INSTANCES.tick(instance.db_instance_identifier) is False:
            instance.status = "available"
    return instances


def apply() -> None:
    RDSResponse.restore_db_cluster_from_snapshot = _restore
    RDSResponse.describe_db_cluster_snapshots = _describe_snapshots
    RDSResponse.create_db_instance = _create_instance
    RDSResponse.delete_db_cluster = _delete_cluster
    rds_models.RDSBackend.describe_db_clusters = _describe_clusters
    rds_models.RDSBackend.describe_db_instances = _describe_instances
    admin.register_knobs("restore", RESTORE_KNOBS)
