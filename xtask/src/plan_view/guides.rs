//! The app's own migration guides, named only when they are there. Bedrock Chat keeps them in
//! `docs/migration/` beside its `cdk/` (from v1.0.0 on; earlier releases have none), and no guide
//! covers every release: a sentence that said "the app's guide for this release" would be false
//! on most upgrades. So the words name a file only after reading the folder, and say which word
//! of the plan the file contains, a claim anyone can check.

use std::path::{Path, PathBuf};

/// What the app's repository has for a resource, by the word that names it (a construct id).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Guides {
    /// No app directory (a review of saved templates or a saved change set, no `cdk.json` in
    /// `--app-dir`): nothing was looked at.
    NotLooked,
    /// The app's repository has no `docs/migration/` folder.
    NoFolder { folder: PathBuf },
    /// The folder is there; none of its guides names the word. `guides` are the file names.
    NoneNames {
        folder: PathBuf,
        guides: Vec<String>,
    },
    /// These guides name the word (file names in `folder`).
    Named {
        folder: PathBuf,
        guides: Vec<String>,
    },
}

/// Looks in `<app_dir>/../docs/migration/` for the guides (Markdown, not their translations)
/// that name `word` as a whole word. An app directory counts when it holds `cdk.json`.
pub fn look(app_dir: Option<&Path>, word: &str) -> Guides {
    let Some(app) = app_dir.filter(|d| d.join("cdk.json").is_file()) else {
        return Guides::NotLooked;
    };
    // Canonical, so the folder reads the same whether `--app-dir` was `.` or a relative path.
    let repo = app
        .canonicalize()
        .ok()
        .and_then(|a| a.parent().map(Path::to_path_buf))
        .unwrap_or_else(|| app.join(".."));
    let folder = repo.join("docs").join("migration");
    let Ok(entries) = std::fs::read_dir(&folder) else {
        return Guides::NoFolder { folder };
    };
    let mut guides: Vec<(String, bool)> = entries
        .filter_map(Result::ok)
        .filter_map(|e| {
            let name = e.file_name().into_string().ok()?;
            let english = name.ends_with(".md") && !is_translation(&name);
            english.then(|| {
                let text = std::fs::read_to_string(e.path()).unwrap_or_default();
                (name, names_word(&text, word))
            })
        })
        .collect();
    guides.sort();
    let named: Vec<String> = guides
        .iter()
        .filter(|(_, n)| *n)
        .map(|(g, _)| g.clone())
        .collect();
    if named.is_empty() {
        let guides = guides.into_iter().map(|(g, _)| g).collect();
        Guides::NoneNames { folder, guides }
    } else {
        Guides::Named {
            folder,
            guides: named,
        }
    }
}

/// `V2_TO_V3_ja-JP.md`: a translation of `V2_TO_V3.md`, the same guide again.
fn is_translation(name: &str) -> bool {
    let stem = name.trim_end_matches(".md");
    let Some((_, locale)) = stem.rsplit_once('_') else {
        return false;
    };
    let b = locale.as_bytes();
    b.len() == 5
        && b[2] == b'-'
        && b[..2].iter().all(u8::is_ascii_lowercase)
        && b[3..].iter().all(u8::is_ascii_uppercase)
}

/// `word` stands alone in `text` (not inside `DatabaseConversationTableName`).
fn names_word(text: &str, word: &str) -> bool {
    let part_of_name = |c: char| c.is_ascii_alphanumeric() || c == '_';
    text.match_indices(word).any(|(at, _)| {
        let before = text[..at].chars().next_back();
        let after = text[at + word.len()..].chars().next();
        !before.is_some_and(part_of_name) && !after.is_some_and(part_of_name)
    })
}

impl Guides {
    /// One sentence for the finding's "what to do".
    pub fn sentence(&self, word: &str) -> String {
        match self {
            Guides::NotLooked => format!(
                "Whether the app has a migration guide for this was not looked up: Bedrock Chat \
                 keeps its guides in docs/migration/ beside cdk/ (pass --app-dir to have the \
                 review read them for {word})."
            ),
            Guides::NoFolder { folder } => format!(
                "The app has no migration guide to follow: there is no {}.",
                folder.display()
            ),
            Guides::NoneNames { folder, guides } => format!(
                "None of the app's migration guides names {word} ({}: {}), so none covers this.",
                folder.display(),
                guides.join(", ")
            ),
            Guides::Named { folder, guides } => {
                let paths: Vec<String> = guides
                    .iter()
                    .map(|g| folder.join(g).display().to_string())
                    .collect();
                let (noun, verb) = if guides.len() == 1 {
                    ("guide", "names")
                } else {
                    ("guides", "name")
                };
                format!(
                    "The app's migration {noun} {} {verb} {word}: read it before the deploy.",
                    paths.join(", ")
                )
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A directory removed when dropped (xtask has no temporary-directory crate).
    struct Scratch(PathBuf);

    impl Scratch {
        fn new() -> Self {
            static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
            let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let dir = std::env::temp_dir().join(format!("xtask-guides-{}-{n}", std::process::id()));
            std::fs::create_dir_all(&dir).unwrap();
            Scratch(dir)
        }

        fn path(&self) -> &Path {
            &self.0
        }
    }

    impl Drop for Scratch {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn app_with(guides: &[(&str, &str)]) -> Scratch {
        let repo = Scratch::new();
        std::fs::create_dir(repo.path().join("cdk")).unwrap();
        std::fs::write(repo.path().join("cdk/cdk.json"), "{}").unwrap();
        if !guides.is_empty() {
            let folder = repo.path().join("docs/migration");
            std::fs::create_dir_all(&folder).unwrap();
            for (name, text) in guides {
                std::fs::write(folder.join(name), text).unwrap();
            }
        }
        repo
    }

    #[test]
    fn names_the_guide_that_names_the_table_and_only_that_one() {
        let repo = app_with(&[
            (
                "V2_TO_V3.md",
                "Backup your DynamoDB ConversationTable before migration",
            ),
            ("V2_TO_V3_ja-JP.md", "ConversationTable"),
            (
                "DATABASE_MIGRATION.md",
                "# Key: DatabaseConversationTableNameXXXX",
            ),
            ("migrate_v2_v3.py", "ConversationTable"),
        ]);
        let guides = look(Some(&repo.path().join("cdk")), "ConversationTable");
        let Guides::Named { folder, guides } = &guides else {
            panic!("{guides:?}")
        };
        assert_eq!(guides, &["V2_TO_V3.md"]);
        assert!(folder.ends_with("docs/migration"), "{}", folder.display());
    }

    #[test]
    fn says_what_is_there_when_no_guide_names_it() {
        let repo = app_with(&[("V0_TO_V1.md", "the vector store"), ("x.md", "y")]);
        let found = look(Some(&repo.path().join("cdk")), "ConversationTable");
        let text = found.sentence("ConversationTable");
        assert!(matches!(found, Guides::NoneNames { .. }), "{found:?}");
        assert!(
            text.starts_with("None of the app's migration guides names ConversationTable (")
                && text.contains("docs/migration: V0_TO_V1.md, x.md)"),
            "{text}"
        );

        let bare = app_with(&[]);
        let found = look(Some(&bare.path().join("cdk")), "ConversationTable");
        assert!(matches!(found, Guides::NoFolder { .. }), "{found:?}");
        assert!(
            found
                .sentence("ConversationTable")
                .starts_with("The app has no migration guide to follow: there is no /"),
            "{}",
            found.sentence("ConversationTable")
        );
    }

    /// A directory without `cdk.json` is not an app: nothing is claimed either way.
    #[test]
    fn no_app_directory_claims_nothing() {
        let not_an_app = Scratch::new();
        for dir in [None, Some(not_an_app.path())] {
            let found = look(dir, "ConversationTable");
            assert_eq!(found, Guides::NotLooked);
            let text = found.sentence("ConversationTable");
            assert!(text.contains("was not looked up"), "{text}");
            assert!(!text.contains("has the script"), "{text}");
        }
    }
}

/// What the findings may point to beyond the plan itself.
#[derive(Debug, Clone, Copy)]
pub struct Guidance<'a> {
    /// Ends the finding about a replaced vector store that can be re-embedded: what the user
    /// does about it.
    pub next_step: &'a str,
    /// The CDK app directory (`--app-dir`), whose repository's `docs/migration/` holds the app's
    /// own guides; counted only when it holds `cdk.json` (a review of saved templates may run
    /// anywhere).
    pub app_dir: Option<&'a Path>,
}
