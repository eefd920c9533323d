//! Which property changes replace a resource, per resource type: generated from the service
//! spec the CDK CLI ships (`db.json.gz`, the `@aws-cdk/service-spec-types` database that
//! `cdk diff` reads), committed as `replacement_table.json` and embedded. Regenerate with
//! `cargo xtask gen-replacement-table`; a test fails when the committed file is stale.

use std::collections::{BTreeMap, HashMap};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::CdkHookError;

/// The committed table (see the module docs).
pub const EMBEDDED_JSON: &str = include_str!("replacement_table.json");

/// The spec's `causesReplacement`; `no` is the absence of an entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Causes {
    Yes,
    Maybe,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplacementTable {
    /// Where the table came from (CLI package and version).
    pub source: String,
    /// Resource type -> property path -> level. A path is a top-level property (`KeySchema`)
    /// or, when the top-level property itself does not replace, one level down
    /// (`DnsOptions.PrivateDnsPreference`). A type with no replacing property maps to `{}`.
    pub resources: BTreeMap<String, BTreeMap<String, Causes>>,
}

impl ReplacementTable {
    /// The embedded table, parsed once.
    pub fn embedded() -> &'static ReplacementTable {
        static TABLE: OnceLock<ReplacementTable> = OnceLock::new();
        TABLE.get_or_init(|| {
            serde_json::from_str(EMBEDDED_JSON)
                .expect("the committed replacement_table.json parses")
        })
    }

    pub fn knows(&self, resource_type: &str) -> bool {
        self.resources.contains_key(resource_type)
    }

    pub fn lookup(&self, resource_type: &str, path: &str) -> Option<Causes> {
        self.resources.get(resource_type)?.get(path).copied()
    }

    /// The replacing sub-properties of a top-level property that does not itself replace.
    pub fn nested<'a>(
        &'a self,
        resource_type: &str,
        property: &'a str,
    ) -> impl Iterator<Item = (&'a str, Causes)> + 'a {
        let prefix_len = property.len() + 1;
        self.resources
            .get(resource_type)
            .into_iter()
            .flat_map(move |props| props.range(format!("{property}.")..))
            .take_while(move |(k, _)| {
                k.starts_with(property) && k.as_bytes().get(property.len()) == Some(&b'.')
            })
            .map(move |(k, v)| (&k[prefix_len..], *v))
    }

    /// The committed text form: one line per resource type, sorted, so a regeneration diffs well.
    pub fn render(&self) -> String {
        let mut out = String::with_capacity(256 * 1024);
        out.push_str("{\n\"source\": ");
        out.push_str(&serde_json::to_string(&self.source).expect("a string serializes"));
        out.push_str(",\n\"resources\": {\n");
        let mut first = true;
        for (ty, props) in &self.resources {
            if !first {
                out.push_str(",\n");
            }
            first = false;
            out.push_str(&serde_json::to_string(ty).expect("a string serializes"));
            out.push_str(": ");
            out.push_str(&serde_json::to_string(props).expect("a map serializes"));
        }
        out.push_str("\n}\n}\n");
        out
    }
}

/// Where `cargo xtask setup` installs the CDK CLI of the fixture app, relative to the workspace.
pub const SPEC_RELATIVE_PATH: &str = "tests/fixtures/bedrock-chat/node_modules/aws-cdk/db.json.gz";

/// `<workspace>/tests/fixtures/bedrock-chat/node_modules/aws-cdk/db.json.gz`.
pub fn default_spec_path(workspace_root: &Path) -> PathBuf {
    workspace_root.join(SPEC_RELATIVE_PATH)
}

/// Reads `db.json.gz` (and the `package.json` beside it, for the version) and builds the table.
pub fn generate_from_gz(db_json_gz: &Path) -> Result<ReplacementTable, CdkHookError> {
    let file = std::fs::File::open(db_json_gz).map_err(|e| CdkHookError::io(db_json_gz, e))?;
    let mut text = String::new();
    flate2::read::GzDecoder::new(std::io::BufReader::new(file))
        .read_to_string(&mut text)
        .map_err(|e| CdkHookError::io(db_json_gz, e))?;
    let spec: Value = serde_json::from_str(&text).map_err(|e| {
        CdkHookError::ReplacementTable(format!("{}: not JSON: {e}", db_json_gz.display()))
    })?;
    let package_json = db_json_gz.with_file_name("package.json");
    let version = std::fs::read_to_string(&package_json)
        .ok()
        .and_then(|t| serde_json::from_str::<Value>(&t).ok())
        .and_then(|v| {
            Some(format!(
                "{} {}",
                v.get("name")?.as_str()?,
                v.get("version")?.as_str()?
            ))
        })
        .unwrap_or_else(|| "aws-cdk (unknown version)".to_owned());
    generate_from_spec(&spec, &format!("{version} db.json.gz"))
}

/// Builds the table from the parsed service-spec database: `schema.resource.entities[]` with
/// `cloudFormationType` and `properties.*.causesReplacement`, and the property types of
/// `schema.typeDefinition.entities[]` that `{"type": "ref", "reference": {"$ref": id}}` point to.
pub fn generate_from_spec(spec: &Value, source: &str) -> Result<ReplacementTable, CdkHookError> {
    let entities = |name: &str| {
        spec.pointer(&format!("/schema/{name}/entities"))
            .and_then(Value::as_array)
            .ok_or_else(|| {
                CdkHookError::ReplacementTable(format!(
                    "no schema.{name}.entities: not a service-spec database"
                ))
            })
    };
    let type_defs: HashMap<&str, &Value> = entities("typeDefinition")?
        .iter()
        .filter_map(|t| Some((t.get("$id")?.as_str()?, t.get("properties")?)))
        .collect();
    let mut resources = BTreeMap::new();
    for resource in entities("resource")? {
        let Some(ty) = resource.get("cloudFormationType").and_then(Value::as_str) else {
            continue;
        };
        let mut props = BTreeMap::new();
        if let Some(properties) = resource.get("properties").and_then(Value::as_object) {
            for (name, prop) in properties {
                if let Some(level) = causes(prop) {
                    props.insert(name.clone(), level);
                    continue;
                }
                for type_id in referenced_types(prop.get("type")) {
                    let Some(sub_props) = type_defs.get(type_id).and_then(|p| p.as_object()) else {
                        continue;
                    };
                    for (sub, sub_prop) in sub_props {
                        if let Some(level) = causes(sub_prop) {
                            props.insert(format!("{name}.{sub}"), level);
                        }
                    }
                }
            }
        }
        resources.insert(ty.to_owned(), props);
    }
    if resources.is_empty() {
        return Err(CdkHookError::ReplacementTable(
            "the service spec lists no resource".to_owned(),
        ));
    }
    Ok(ReplacementTable {
        source: source.to_owned(),
        resources,
    })
}

fn causes(prop: &Value) -> Option<Causes> {
    match prop.get("causesReplacement")?.as_str()? {
        "yes" => Some(Causes::Yes),
        "maybe" => Some(Causes::Maybe),
        _ => None,
    }
}

/// The type definitions a property type points to: directly, as array/map element, or in a union.
fn referenced_types(ty: Option<&Value>) -> Vec<&str> {
    let Some(ty) = ty else { return Vec::new() };
    match ty.get("type").and_then(Value::as_str) {
        Some("ref") => ty
            .pointer("/reference/$ref")
            .and_then(Value::as_str)
            .into_iter()
            .collect(),
        Some("array" | "map") => referenced_types(ty.get("element")),
        Some("union") => ty
            .get("types")
            .and_then(Value::as_array)
            .map(|ts| ts.iter().flat_map(|t| referenced_types(Some(t))).collect())
            .unwrap_or_default(),
        _ => Vec::new(),
    }
}

/// Where the committed table lives, relative to the workspace.
pub const TABLE_RELATIVE_PATH: &str = "cdk-hook/src/replacement_table.json";

/// What `sync_committed_table` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TableStatus {
    /// The committed table already matches the spec.
    Fresh,
    /// The committed table was rewritten.
    Written { resource_types: usize },
    /// `check_only` and the committed table differs from the spec.
    Stale,
}

/// Regenerates the committed table from the spec under `workspace_root`; with `check_only`,
/// only reports whether it is stale.
pub fn sync_committed_table(
    workspace_root: &Path,
    check_only: bool,
) -> Result<TableStatus, CdkHookError> {
    let gz = default_spec_path(workspace_root);
    if !gz.is_file() {
        return Err(CdkHookError::ReplacementTable(format!(
            "{} is missing: run `cargo xtask setup` (it installs the fixture app's CDK CLI)",
            gz.display()
        )));
    }
    let table = generate_from_gz(&gz)?;
    let rendered = table.render();
    let target = workspace_root.join(TABLE_RELATIVE_PATH);
    let committed = std::fs::read_to_string(&target).unwrap_or_default();
    if committed == rendered {
        Ok(TableStatus::Fresh)
    } else if check_only {
        Ok(TableStatus::Stale)
    } else {
        std::fs::write(&target, rendered).map_err(|e| CdkHookError::io(&target, e))?;
        Ok(TableStatus::Written {
            resource_types: table.resources.len(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn workspace_root() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .parent()
            .expect("cdk-hook sits in the workspace")
            .to_owned()
    }

    #[test]
    fn committed_table_is_fresh() {
        let gz = default_spec_path(&workspace_root());
        assert!(
            gz.exists(),
            "{} is missing: run `cargo xtask setup` (it installs the fixture app's CDK CLI)",
            gz.display()
        );
        let generated = generate_from_gz(&gz)
            .expect("the service spec parses")
            .render();
        assert!(
            generated == EMBEDDED_JSON,
            "cdk-hook/src/replacement_table.json is stale: run `cargo xtask gen-replacement-table`"
        );
    }

    #[test]
    fn embedded_table_knows_the_guarded_types() {
        let t = ReplacementTable::embedded();
        assert_eq!(
            t.lookup("AWS::RDS::DBCluster", "StorageEncrypted"),
            Some(Causes::Yes)
        );
        assert_eq!(
            t.lookup("AWS::RDS::DBCluster", "Engine"),
            Some(Causes::Maybe)
        );
        assert_eq!(t.lookup("AWS::RDS::DBCluster", "Port"), None);
        assert_eq!(
            t.lookup("AWS::DynamoDB::Table", "KeySchema"),
            Some(Causes::Yes)
        );
        for ty in crate::guard::DEFAULT_MIGRATION_TRIGGER
            .iter()
            .chain(crate::guard::DEFAULT_STATEFUL)
        {
            assert!(t.knows(ty), "{ty} missing from the table");
        }
        assert!(
            t.knows("AWS::EC2::VPC")
                && t.knows("AWS::ECS::TaskDefinition")
                && t.knows("AWS::IAM::Role")
        );
        let nested: Vec<_> = t.nested("AWS::EC2::VPCEndpoint", "DnsOptions").collect();
        assert!(
            nested.iter().any(|(p, _)| *p == "PrivateDnsPreference"),
            "{nested:?}"
        );
    }
}
