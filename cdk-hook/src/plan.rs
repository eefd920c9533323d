//! The `ReplacementPlan`: what a deploy would do to each resource, as plain data. Its JSON is
//! the contract of `cargo xtask check --json`, so every field is documented here and the
//! serialized names are fixed by attributes (renaming a Rust field must not change the JSON).

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::guard::GuardClass;

/// The embedding task's resource type: `migrate` launches it to re-embed a bot.
const EMBEDDING_TASK_TYPE: &str = "AWS::ECS::TaskDefinition";

/// The change-set action on a resource (CloudFormation's `Action`, same spelling).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Action {
    Add,
    Modify,
    Remove,
    Import,
    Dynamic,
}

impl Action {
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "Add" => Self::Add,
            "Modify" => Self::Modify,
            "Remove" => Self::Remove,
            "Import" => Self::Import,
            "Dynamic" => Self::Dynamic,
            _ => return None,
        })
    }
}

/// Whether the resource is replaced (a new physical resource, the old one deleted, retained or
/// snapshotted according to its policy).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Replacement {
    /// `Replacement: True`, or a replacing property changed in the template.
    Will,
    /// `Replacement: Conditional`, or a property that "may" replace, or a dynamic reference.
    May,
    /// Updated in place, added, or imported.
    No,
    /// Nobody could tell (an emulator's change set without `Replacement` and no template).
    Unknown,
}

impl Replacement {
    pub fn is_replacing(self) -> bool {
        matches!(self, Replacement::Will | Replacement::May)
    }
}

/// `Target.RequiresRecreation` of a change detail.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum RequiresRecreation {
    Never,
    Conditionally,
    Always,
}

impl RequiresRecreation {
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "Never" => Self::Never,
            "Conditionally" => Self::Conditionally,
            "Always" => Self::Always,
            _ => return None,
        })
    }
}

/// `Evaluation` of a change detail: `Static` is known before the deploy, `Dynamic` only once
/// the resources it depends on are updated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Evaluation {
    Static,
    Dynamic,
}

impl Evaluation {
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "Static" => Self::Static,
            "Dynamic" => Self::Dynamic,
            _ => return None,
        })
    }
}

/// What happens to the old physical resource when it is replaced or removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Fate {
    Deleted,
    Retained,
    Snapshotted,
    Unknown,
}

impl Fate {
    /// From a change's `PolicyAction`.
    pub fn from_policy_action(s: &str) -> Option<Self> {
        Some(match s {
            "Delete" | "ReplaceAndDelete" => Self::Deleted,
            "Retain" | "ReplaceAndRetain" => Self::Retained,
            "Snapshot" | "ReplaceAndSnapshot" => Self::Snapshotted,
            _ => return None,
        })
    }

    /// From a template's `DeletionPolicy` / `UpdateReplacePolicy` value.
    pub fn from_template_policy(s: &str) -> Option<Self> {
        Some(match s {
            "Delete" => Self::Deleted,
            "Retain" | "RetainExceptOnCreate" => Self::Retained,
            "Snapshot" => Self::Snapshotted,
            _ => return None,
        })
    }
}

/// What happens to the data a resource holds, in one word: the plan's answer, per resource, to
/// "where is my data after the deploy?". The summary lines, the pull-request comment and
/// `deploy`'s safeguards read it; it only matters for guarded types, but is set on every verdict.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DataFate {
    /// The data stays where it is: the resource is updated in place (or its change is not a
    /// replacement), or it is imported with what it already holds.
    #[default]
    Unchanged,
    /// The deploy creates the resource (`Add`, and the new logical id of a rename): it starts
    /// empty; nothing it holds came from before the deploy.
    New,
    /// A new, empty physical resource takes its place (`replacement` `will` or `may`); what
    /// happens to the old one and its data is `fate`, by its `UpdateReplacePolicy`.
    Replaced,
    /// Removed from the stack and deleted with its data (`DeletionPolicy` `Delete`).
    Destroyed,
    /// Removed from the stack and deleted after a final snapshot (`DeletionPolicy` `Snapshot`).
    DestroyedWithSnapshot,
    /// Removed from the stack but kept in the account with its data (`DeletionPolicy` `Retain`):
    /// the stack (and the app) stop using it. Still a gate: the app moves away from the data.
    Orphaned,
    /// An Aurora cluster member (`AWS::RDS::DBInstance` with `DBClusterIdentifier`, see
    /// `member_of`): it holds no data (the cluster volume does), so whatever happens to the
    /// instance, its cluster's fate is what counts. Never gates on its own.
    FollowsCluster,
    /// The old resource goes away or may, but how is not known (a change set with no
    /// `Replacement` or no `PolicyAction`, and no template to settle it). Gates like `Replaced`.
    Unknown,
}

impl DataFate {
    /// The data fate of a verdict whose other fields are final.
    pub fn of(v: &ResourceVerdict) -> Self {
        if v.member_of.is_some() {
            return Self::FollowsCluster;
        }
        if v.action == Action::Add {
            return Self::New;
        }
        if v.action == Action::Remove {
            // A rename too: CloudFormation creates the new id and treats the old one as removed,
            // under its DeletionPolicy.
            return match v.fate {
                Some(Fate::Deleted) => Self::Destroyed,
                Some(Fate::Snapshotted) => Self::DestroyedWithSnapshot,
                Some(Fate::Retained) => Self::Orphaned,
                Some(Fate::Unknown) | None => Self::Unknown,
            };
        }
        match v.replacement {
            Replacement::Will | Replacement::May => Self::Replaced,
            Replacement::No => Self::Unchanged,
            Replacement::Unknown => Self::Unknown,
        }
    }

    /// The data leaves the stack's use (everything but `Unchanged`, `New` and `FollowsCluster`).
    pub fn leaves_the_stack(self) -> bool {
        !matches!(self, Self::Unchanged | Self::New | Self::FollowsCluster)
    }

    /// The words the safeguard lines use.
    pub fn words(self) -> &'static str {
        match self {
            Self::Unchanged => "unchanged",
            Self::New => "new and empty (created by the deploy)",
            Self::Replaced => "replaced",
            Self::Destroyed => "destroyed",
            Self::DestroyedWithSnapshot => "destroyed with a final snapshot",
            Self::Orphaned => "orphaned (removed from the stack, kept in the account)",
            Self::FollowsCluster => "an Aurora member (its cluster's fate is what counts)",
            Self::Unknown => "going away in a way nobody could read",
        }
    }
}

/// One reason for the verdict: a change-set `Details[]` entry or a template property difference.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cause {
    /// The property (`Target.Name`, e.g. `StorageEncrypted`), or for non-property changes the
    /// attribute (`Metadata`, `Tags`, `DeletionPolicy`, ...). `null` when the source gives none.
    pub property: Option<String>,
    /// `Target.Attribute`: `Properties`, `Metadata`, `Tags`, ... (`null` when not given).
    pub attribute: Option<String>,
    /// `Never` | `Conditionally` | `Always`; `null` when not given.
    pub requires_recreation: Option<RequiresRecreation>,
    /// `Static` | `Dynamic`; `null` when not given.
    pub evaluation: Option<Evaluation>,
    /// `ResourceReference` | `ParameterReference` | `ResourceAttribute` | `DirectModification` |
    /// `Automatic`; `null` when not given.
    pub change_source: Option<String>,
    /// The logical id (or `LogicalId.Attribute`, or parameter) behind a `Dynamic` change.
    pub causing_entity: Option<String>,
    /// Before/after values when known (`IncludePropertyValues`, or the template comparison).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<String>,
}

impl Cause {
    pub(crate) fn property(name: &str) -> Self {
        Cause {
            property: Some(name.to_owned()),
            attribute: Some("Properties".to_owned()),
            requires_recreation: None,
            evaluation: None,
            change_source: None,
            causing_entity: None,
            before: None,
            after: None,
        }
    }

    /// The logical id behind a dynamic cause (`Cluster.Endpoint.Address` -> `Cluster`).
    pub fn causing_logical_id(&self) -> Option<&str> {
        self.causing_entity
            .as_deref()
            .map(|e| e.split('.').next().unwrap_or(e))
    }

    pub(crate) fn recreates(&self) -> bool {
        matches!(
            self.requires_recreation,
            Some(RequiresRecreation::Always | RequiresRecreation::Conditionally)
        )
    }
}

/// One of the two witnesses of a review.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Witness {
    /// CloudFormation's change set (`DescribeChangeSet`).
    ChangeSet,
    /// The comparison of the deployed template with the synthesized one.
    Template,
}

/// Which analysis produced the verdict, each with its own answer, so a disagreement is visible.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sources {
    /// The change set's verdict; `null` when the change set does not list the resource (or no
    /// change set was read).
    pub change_set: Option<Replacement>,
    /// The template comparison's verdict; `null` when it did not see a change (or did not run).
    pub template: Option<Replacement>,
    /// Both answered, with different replacement verdicts (a change set's `may` that only leaves
    /// a reference to a replaced resource to deploy time, where the templates say `will`, is not
    /// a disagreement: both say the same thing, one of them less sure).
    pub disagree: bool,
    /// `change_set` | `template`: whose verdict `replacement` is. The change set's when it
    /// answers; the template comparison's when the change set is silent or leaves the value to
    /// deploy time, and on a disagreement the verdict that loses more (a guard does not pass on
    /// one witness's word). `null` when neither answered.
    #[serde(default)]
    pub followed: Option<Witness>,
    /// Why the plan followed that witness, when it was not simply the change set's answer.
    #[serde(default)]
    pub why: Option<String>,
}

/// The verdict on one resource.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResourceVerdict {
    /// The logical id in its (nested) stack's template.
    pub logical_id: String,
    /// The physical id when the change set gives it (not on Add; moto never sends it).
    pub physical_id: Option<String>,
    /// CloudFormation resource type, e.g. `AWS::RDS::DBCluster`.
    pub resource_type: String,
    /// Logical ids of the nested stacks leading to this resource, outermost first, joined by
    /// `/`; `null` for the root stack.
    #[serde(default)]
    pub nested_stack: Option<String>,
    /// `Add` | `Modify` | `Remove` | `Import` | `Dynamic`.
    pub action: Action,
    /// `will` | `may` | `no` | `unknown`. A logical-id rename is reported on the Remove as `will`
    /// (only renames shown by evidence, see `renamed_to`).
    pub replacement: Replacement,
    /// `migration_trigger` | `stateful` | `none`, from the guard configuration.
    pub guard: GuardClass,
    /// Why: one entry per changed property (or attribute).
    pub causes: Vec<Cause>,
    /// Fate of the old physical resource if it is replaced or removed: `deleted` | `retained` |
    /// `snapshotted` | `unknown`; `null` when no old resource goes away.
    pub fate: Option<Fate>,
    /// For a consequence, the logical id of the root cause it follows from (the writer instance
    /// of a replaced cluster names the cluster); `null` for a root cause.
    pub caused_by: Option<String>,
    /// For an Aurora cluster member (`AWS::RDS::DBInstance` with `DBClusterIdentifier`): the
    /// cluster's logical id when the identifier is a reference, else its value. The member holds
    /// no data of its own (`data_fate` `follows_cluster`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub member_of: Option<String>,
    /// What happens to the data: `unchanged` | `new` | `replaced` | `destroyed` |
    /// `destroyed_with_snapshot` | `orphaned` | `follows_cluster` | `unknown` (see [`DataFate`]).
    #[serde(default)]
    pub data_fate: DataFate,
    /// On a Remove that is the same resource as an Add under a new logical id (same type, and the
    /// same `aws:cdk:path` or the same properties apart from names and references that moved
    /// with it): the new logical id. The old resource is still removed under its
    /// `DeletionPolicy`; the new one starts empty.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub renamed_to: Option<String>,
    /// On the Add of such a pair: the old logical id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub renamed_from: Option<String>,
    /// On a removed DynamoDB table (not a rename): the added tables the templates show taking its
    /// place, each with the same key shape (key attributes, key types, attribute types) and
    /// referred to, in the new template, by a resource that referred to the removed table (the
    /// app's functions, environment and policies moved to it). Empty when nothing shows it, and
    /// when no template was compared; left out of the JSON when empty.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub successors: Vec<String>,
    /// Which analyses produced the verdict.
    pub sources: Sources,
}

impl ResourceVerdict {
    /// A guarded resource is replaced (`will`/`may`) or removed.
    pub fn gates(&self) -> bool {
        // An unknown verdict on a guarded type (a change set without `Replacement`, as emulators
        // send, with no template to settle it) is not a safe answer: it gates like `may`. An
        // Aurora member holds no data: its cluster gates, or nothing is lost.
        self.guard.is_guarded()
            && self.member_of.is_none()
            && (self.loses_old() || self.replacement == Replacement::Unknown)
    }

    /// The old physical resource goes away (or may).
    pub fn loses_old(&self) -> bool {
        self.replacement.is_replacing() || self.action == Action::Remove
    }

    pub(crate) fn key(&self) -> (Option<&str>, &str) {
        (self.nested_stack.as_deref(), self.logical_id.as_str())
    }
}

/// Which of the two opinions the review had: the change set (CloudFormation's statement) and the
/// template comparison (the second opinion that settles `unknown`). A review with one of them
/// missing is degraded, and says why.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReviewSources {
    /// A change set was read.
    pub change_set: bool,
    /// The deployed and the new template were compared.
    pub template: bool,
    /// Why an opinion is missing (e.g. the deployed template is YAML); `null` when both ran.
    #[serde(default)]
    pub degraded: Option<String>,
}

impl ReviewSources {
    pub fn both() -> Self {
        Self {
            change_set: true,
            template: true,
            degraded: None,
        }
    }

    /// Only one opinion, and why.
    pub fn only(change_set: bool, why: impl Into<String>) -> Self {
        Self {
            change_set,
            template: !change_set,
            degraded: Some(why.into()),
        }
    }
}

/// The whole review of one stack.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplacementPlan {
    /// The stack name.
    pub stack: String,
    /// The reviewed change set's ARN; `null` for `--template-diff`.
    pub change_set_id: Option<String>,
    /// Every changed resource: gating ones first, each root cause followed by its consequences.
    pub resources: Vec<ResourceVerdict>,
    /// Same as `gates()`: `check` exits 3 when true.
    pub gated: bool,
    /// Same as `migration_needed()`: the vector store must be re-embedded after the deploy.
    pub migration_needed: bool,
    /// Which opinions the review had (plans recorded by older builds read as neither).
    #[serde(default)]
    pub sources: ReviewSources,
    /// What re-embedding needs and the new stack no longer has: the logical ids of a removed
    /// vector store (a migration-trigger resource) and of a removed ECS task definition (the
    /// embedding task) when no task definition is added. Not empty: there is nothing to
    /// re-embed into, and `migration_needed` is false.
    #[serde(default)]
    pub re_embed_target_removed: Vec<String>,
    /// Exports of the deployed stack that the new template removes or changes and that other
    /// stacks import: CloudFormation refuses the update (`exports.rs`). Gates; `deploy` stops.
    /// Only a live review knows the importers; left out of the JSON when empty.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exports_in_use: Vec<crate::exports::ExportInUse>,
}

impl ReplacementPlan {
    /// Orders the verdicts and computes the summary flags.
    pub fn new(
        stack: String,
        change_set_id: Option<String>,
        resources: Vec<ResourceVerdict>,
    ) -> Self {
        let mut resources = order(resources);
        for r in &mut resources {
            r.data_fate = DataFate::of(r);
        }
        let mut plan = Self {
            stack,
            change_set_id,
            resources,
            gated: false,
            migration_needed: false,
            sources: ReviewSources::both(),
            re_embed_target_removed: Vec::new(),
            exports_in_use: Vec::new(),
        };
        plan.re_embed_target_removed = plan.removed_re_embed_target();
        plan.gated = plan.gates();
        plan.migration_needed = plan.migration_needed();
        plan
    }

    /// The same plan, reviewed with `sources`.
    pub fn with_sources(mut self, sources: ReviewSources) -> Self {
        self.sources = sources;
        self
    }

    /// Any guarded resource will or may be replaced, or is removed, or an export another stack
    /// imports is removed or changed.
    pub fn gates(&self) -> bool {
        self.resources.iter().any(ResourceVerdict::gates) || !self.exports_in_use.is_empty()
    }

    /// The same plan with the exports in use that the live review found.
    pub fn with_exports_in_use(mut self, exports: Vec<crate::exports::ExportInUse>) -> Self {
        self.exports_in_use = exports;
        self.gated = self.gates();
        self
    }

    /// The migration trigger (by default the Aurora cluster) will or may be replaced (or is
    /// renamed), and the new stack still has it and the embedding task to re-embed with.
    pub fn migration_needed(&self) -> bool {
        self.re_embed_target_removed.is_empty()
            && self
                .resources
                .iter()
                .any(|r| r.guard == GuardClass::MigrationTrigger && r.loses_old())
    }

    /// See `re_embed_target_removed`. A renamed resource is still there under its new id.
    fn removed_re_embed_target(&self) -> Vec<String> {
        let is_task = |r: &ResourceVerdict| r.resource_type == EMBEDDING_TASK_TYPE;
        let task_added = self
            .resources
            .iter()
            .any(|r| is_task(r) && r.action == Action::Add);
        self.resources
            .iter()
            .filter(|&r| r.action == Action::Remove && r.renamed_to.is_none())
            .filter(|&r| r.guard == GuardClass::MigrationTrigger || (is_task(r) && !task_added))
            .map(|r| r.logical_id.clone())
            .collect()
    }

    /// The verdicts that gate, in plan order.
    pub fn gating(&self) -> impl Iterator<Item = &ResourceVerdict> {
        self.resources.iter().filter(|r| r.gates())
    }
}

/// Groups each consequence under its root cause, then puts the groups that gate first (the
/// migration trigger before other stateful types, `will` before `may`), keeping the input
/// order otherwise so the output is stable.
fn order(resources: Vec<ResourceVerdict>) -> Vec<ResourceVerdict> {
    let index: HashMap<(Option<&str>, &str), usize> = resources
        .iter()
        .enumerate()
        .map(|(i, r)| (r.key(), i))
        .collect();
    // (root index, depth) per verdict; the depth cap stops a cycle of `caused_by` links.
    let roots: Vec<(usize, usize)> = (0..resources.len())
        .map(|i| {
            let (mut at, mut depth) = (i, 0);
            while let Some(parent) = resources[at].caused_by.as_deref() {
                match index.get(&(resources[at].nested_stack.as_deref(), parent)) {
                    Some(&p) if p != at && depth < resources.len() => {
                        at = p;
                        depth += 1;
                    }
                    _ => break,
                }
            }
            (at, depth)
        })
        .collect();
    let mut group_gates = vec![false; resources.len()];
    for (i, r) in resources.iter().enumerate() {
        group_gates[roots[i].0] |= r.gates();
    }
    let rank = |root: usize| {
        let r = &resources[root];
        (
            !group_gates[root],
            if r.gates() { r.guard } else { GuardClass::None },
            r.replacement,
            root,
        )
    };
    let mut order: Vec<usize> = (0..resources.len()).collect();
    // Within a group, guarded consequences before the rest.
    let guard_rank = |r: &ResourceVerdict| if r.gates() { r.guard } else { GuardClass::None };
    order.sort_by_key(|&i| (rank(roots[i].0), roots[i].1, guard_rank(&resources[i]), i));
    let mut slots: Vec<Option<ResourceVerdict>> = resources.into_iter().map(Some).collect();
    order.into_iter().filter_map(|i| slots[i].take()).collect()
}
