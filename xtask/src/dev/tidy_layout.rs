//! The house rules on the code's shape, held by tests beside `tidy.rs`'s:
//!
//! - No circle of files importing each other, in any crate: a folder's files stand on their
//!   siblings or on the floor above them, never on a file that stands on them. A path is followed
//!   to the file that defines what it names (through a `lib.rs` or `mod.rs` that only re-exports
//!   it), and a parent file that uses its child module counts as importing it.
//! - No function outside tests is longer than [`MAX_FUNCTION_LINES`].

use std::collections::{BTreeMap, BTreeSet, HashMap};

use super::tidy::{SOURCE_DIRS, is_test_file, non_test_code, read, tracked_files};
use crate::dev::setup::project_root;

/// A function longer than this is split into named steps (the house's ~80 lines).
const MAX_FUNCTION_LINES: usize = 80;

/// One crate's module files, by path, their text without test code or comments, and what each
/// facade (`lib.rs`, `main.rs`, `mod.rs`) re-exports.
struct Crate {
    root: String,
    code: BTreeMap<String, String>,
    reexports: HashMap<String, HashMap<String, Vec<String>>>,
}

fn without_comments(code: &str) -> String {
    code.lines()
        .map(|l| l.find("//").map_or(l, |i| &l[..i]))
        .collect::<Vec<_>>()
        .join("\n")
}

impl Crate {
    fn new(src: &str, files: &[String], read_file: &impl Fn(&str) -> String) -> Option<Self> {
        let code: BTreeMap<String, String> = files
            .iter()
            .filter(|f| f.starts_with(src) && f.ends_with(".rs") && !is_test_file(f))
            .map(|f| (f.clone(), without_comments(&non_test_code(&read_file(f)))))
            .collect();
        let root = ["lib.rs", "main.rs"]
            .iter()
            .map(|n| format!("{src}{n}"))
            .find(|r| code.contains_key(r))?;
        let reexports = code
            .iter()
            .filter(|(file, _)| Self::is_facade(file))
            .map(|(file, text)| (file.clone(), reexports(text)))
            .collect();
        Some(Self {
            root,
            code,
            reexports,
        })
    }

    fn is_facade(file: &str) -> bool {
        file.ends_with("/lib.rs") || file.ends_with("/main.rs") || file.ends_with("/mod.rs")
    }

    /// The folder that holds `file`'s child modules.
    fn children_dir(file: &str) -> String {
        match file.strip_suffix(".rs") {
            Some(stem) if Self::is_facade(file) => stem
                .rsplit_once('/')
                .map_or(String::new(), |(d, _)| d.to_owned()),
            Some(stem) => stem.to_owned(),
            None => file.to_owned(),
        }
    }

    fn child(&self, file: &str, name: &str) -> Option<String> {
        let dir = Self::children_dir(file);
        [format!("{dir}/{name}.rs"), format!("{dir}/{name}/mod.rs")]
            .into_iter()
            .find(|c| self.code.contains_key(c))
    }

    fn parent(&self, file: &str) -> Option<String> {
        if file == self.root {
            return None;
        }
        let (dir, _) = file.rsplit_once('/')?;
        let dir = if file.ends_with("/mod.rs") {
            dir.rsplit_once('/')?.0
        } else {
            dir
        };
        ["mod.rs", "lib.rs", "main.rs"]
            .iter()
            .map(|n| format!("{dir}/{n}"))
            .chain([format!("{dir}.rs")])
            .find(|c| self.code.contains_key(c))
    }

    /// The file that defines what `path`, written in `from`, names.
    fn resolve(&self, from: &str, path: &[String], depth: u32) -> Option<String> {
        let mut file = from.to_owned();
        let mut rest = path;
        match rest.first().map(String::as_str) {
            Some("crate") => {
                file = self.root.clone();
                rest = &rest[1..];
            }
            Some("super" | "self") => {}
            Some(first) if self.child(&file, first).is_some() => {}
            _ => return None,
        }
        while let Some(first) = rest.first() {
            match first.as_str() {
                "super" => file = self.parent(&file)?,
                "self" => {}
                name => match self.child(&file, name) {
                    Some(child) => file = child,
                    None => break,
                },
            }
            rest = &rest[1..];
        }
        if let (Some(name), true) = (rest.first(), depth < 8)
            && let Some(target) = self.reexports.get(&file).and_then(|r| r.get(name))
        {
            let mut full = vec!["self".to_owned()];
            full.extend(target.iter().cloned());
            return self.resolve(&file, &full, depth + 1);
        }
        Some(file)
    }

    /// Every file each file imports (itself aside).
    fn imports(&self) -> BTreeMap<String, BTreeSet<String>> {
        self.code
            .iter()
            .map(|(file, code)| {
                let targets = paths(code)
                    .iter()
                    .filter_map(|p| self.resolve(file, p, 0))
                    .filter(|t| t != file)
                    .collect();
                (file.clone(), targets)
            })
            .collect()
    }
}

/// What a file re-exports (`pub use`), by the name it is re-exported under.
fn reexports(code: &str) -> HashMap<String, Vec<String>> {
    use_statements(code)
        .into_iter()
        .filter(|(public, _)| *public)
        .flat_map(|(_, paths)| paths)
        .filter_map(|p| Some((p.last()?.clone(), p)))
        .collect()
}

/// The `use` statements of `code`, each with whether it re-exports, expanded into full paths.
fn use_statements(code: &str) -> Vec<(bool, Vec<Vec<String>>)> {
    let mut found = Vec::new();
    let mut rest = code;
    while let Some(at) = find_word(rest, "use ") {
        let before = rest[..at].trim_end();
        let public = before.ends_with("pub") || before.ends_with(')');
        let Some(end) = rest[at..].find(';') else {
            break;
        };
        let body: String = rest[at + 4..at + end].split_whitespace().collect();
        found.push((public, expand(&[], &body)));
        rest = &rest[at + end..];
    }
    found
}

/// `word` at the start of a line (after indentation and `pub`), so `fn reuse ` is not a use.
fn find_word(text: &str, word: &str) -> Option<usize> {
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let trimmed = line.trim_start();
        let trimmed = trimmed
            .strip_prefix("pub(crate) ")
            .or_else(|| trimmed.strip_prefix("pub(super) "))
            .or_else(|| trimmed.strip_prefix("pub "))
            .unwrap_or(trimmed);
        if trimmed.starts_with(word) {
            return Some(offset + line.len() - trimmed.len());
        }
        offset += line.len();
    }
    None
}

/// `a::{b, c::{d, e}}` as `[a, b]`, `[a, c, d]`, `[a, c, e]` (after `prefix`).
fn expand(prefix: &[String], body: &str) -> Vec<Vec<String>> {
    let mut parts = Vec::new();
    let (mut depth, mut start) = (0, 0);
    for (i, c) in body.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(&body[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&body[start..]);
    let mut paths = Vec::new();
    for part in parts.into_iter().filter(|p| !p.is_empty()) {
        let part = part.split(" as ").next().unwrap_or(part);
        let mut path = prefix.to_vec();
        match part.find("::{") {
            Some(open) if part.ends_with('}') => {
                path.extend(part[..open].split("::").map(str::to_owned));
                paths.extend(expand(&path, &part[open + 3..part.len() - 1]));
            }
            _ => {
                path.extend(part.split("::").filter(|s| *s != "*").map(str::to_owned));
                paths.push(path);
            }
        }
    }
    paths
}

/// Every path of `code` that can name a file of the crate: the `use` statements' and, outside
/// them, each `a::b::c` written in place.
fn paths(code: &str) -> Vec<Vec<String>> {
    let mut found: Vec<Vec<String>> = use_statements(code)
        .into_iter()
        .flat_map(|(_, paths)| paths)
        .collect();
    let is_ident = |c: char| c.is_ascii_alphanumeric() || c == '_';
    let chars: Vec<(usize, char)> = code.char_indices().collect();
    let mut i = 0;
    while i < chars.len() {
        let (at, c) = chars[i];
        let starts = (c.is_ascii_lowercase() || c == '_')
            && (i == 0 || !(is_ident(chars[i - 1].1) || chars[i - 1].1 == ':'));
        if !starts {
            i += 1;
            continue;
        }
        let end = code[at..]
            .find(|c: char| !(is_ident(c) || c == ':'))
            .map_or(code.len(), |n| at + n);
        let path: Vec<String> = code[at..end]
            .split("::")
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect();
        // `use a::{..}` is the use statements' (`a::` alone names no item).
        if code[at..end].contains("::") && !code[at..end].ends_with("::") {
            found.push(path);
        }
        i += code[at..end].chars().count().max(1);
    }
    found
}

/// The circles of a graph (its strongly connected components of more than one file), each
/// sorted (Tarjan's algorithm).
fn circles(imports: &BTreeMap<String, BTreeSet<String>>) -> Vec<Vec<String>> {
    struct Walk<'a> {
        imports: &'a BTreeMap<String, BTreeSet<String>>,
        index: HashMap<&'a str, usize>,
        low: HashMap<&'a str, usize>,
        stack: Vec<&'a str>,
        found: Vec<Vec<String>>,
    }
    impl<'a> Walk<'a> {
        fn visit(&mut self, file: &'a str) {
            let n = self.index.len();
            self.index.insert(file, n);
            self.low.insert(file, n);
            self.stack.push(file);
            for next in self.imports.get(file).into_iter().flatten() {
                if !self.index.contains_key(next.as_str()) {
                    self.visit(next);
                    let low = self.low[file].min(self.low[next.as_str()]);
                    self.low.insert(file, low);
                } else if self.stack.contains(&next.as_str()) {
                    let low = self.low[file].min(self.index[next.as_str()]);
                    self.low.insert(file, low);
                }
            }
            if self.low[file] == self.index[file] {
                let at = self.stack.iter().rposition(|f| *f == file).unwrap();
                let mut circle: Vec<String> = self.stack.drain(at..).map(str::to_owned).collect();
                if circle.len() > 1 {
                    circle.sort();
                    self.found.push(circle);
                }
            }
        }
    }
    let mut walk = Walk {
        imports,
        index: HashMap::new(),
        low: HashMap::new(),
        stack: Vec::new(),
        found: Vec::new(),
    };
    for file in imports.keys() {
        if !walk.index.contains_key(file.as_str()) {
            walk.visit(file);
        }
    }
    walk.found
}

fn circles_in(files: &[String], read_file: impl Fn(&str) -> String) -> Vec<Vec<String>> {
    SOURCE_DIRS
        .iter()
        .filter_map(|src| Crate::new(src, files, &read_file))
        .flat_map(|krate| circles(&krate.imports()))
        .collect()
}

#[test]
fn no_circle_of_files_imports_each_other() {
    let root = project_root();
    let found = circles_in(&tracked_files(), |f| read(&root.join(f)));
    assert!(
        found.is_empty(),
        "these files import each other in a circle; move what they share into a file both \
         import, beside them or on the floor above:\n{found:#?}"
    );
}

#[test]
fn the_circle_rule_follows_re_exports_and_parents_using_their_children() {
    let files: Vec<(&str, &str)> = vec![
        (
            "m/src/lib.rs",
            "pub mod a;\npub mod b;\npub use a::Thing;\n",
        ),
        ("m/src/a.rs", "use crate::b::helper;\npub struct Thing;\n"),
        // `crate::Thing` is `a.rs`'s, re-exported by `lib.rs`: a circle of a and b.
        ("m/src/b.rs", "pub fn helper(t: crate::Thing) {}\n"),
        (
            "m/src/p.rs",
            "mod c;\nfn f() { c::run() }\npub struct Shared;\n",
        ),
        ("m/src/p/c.rs", "use super::Shared;\npub fn run() {}\n"),
        (
            "m/src/q.rs",
            "use crate::a::Thing; // crate::b::helper in a comment\n",
        ),
    ];
    let names: Vec<String> = files.iter().map(|(f, _)| (*f).to_owned()).collect();
    let text = |f: &str| files.iter().find(|(n, _)| *n == f).unwrap().1.to_owned();
    let krate = Crate::new("m/src/", &names, &text).unwrap();
    let mut found = circles(&krate.imports());
    found.sort();
    assert_eq!(
        found,
        [
            vec!["m/src/a.rs".to_owned(), "m/src/b.rs".to_owned()],
            vec!["m/src/p.rs".to_owned(), "m/src/p/c.rs".to_owned()],
        ]
    );
}

/// `(file, function, lines)` for every function outside tests longer than `max` lines. A
/// function ends at the first `}` at its own indentation (rustfmt's layout).
fn long_functions(files: &[String], read_file: impl Fn(&str) -> String, max: usize) -> Vec<String> {
    let mut found = Vec::new();
    for file in files.iter().filter(|f| {
        SOURCE_DIRS.iter().any(|d| f.starts_with(d)) && f.ends_with(".rs") && !is_test_file(f)
    }) {
        let code = non_test_code(&read_file(file));
        let lines: Vec<&str> = code.lines().collect();
        for (start, line) in lines.iter().enumerate() {
            let Some(name) = function_name(line) else {
                continue;
            };
            let indent = &line[..line.len() - line.trim_start().len()];
            let close = format!("{indent}}}");
            let length = lines[start..]
                .iter()
                .position(|l| *l == close)
                .map_or(0, |n| n + 1);
            if length > max {
                found.push(format!("{file}: {name} ({length} lines)"));
            }
        }
    }
    found
}

/// The name of the function a line opens (a declaration with a body to follow), if it opens one.
fn function_name(line: &str) -> Option<&str> {
    if line.trim_end().ends_with(';') || line.trim_end().ends_with('}') {
        return None;
    }
    let mut rest = line.trim_start();
    for prefix in [
        "pub(crate) ",
        "pub(super) ",
        "pub ",
        "const ",
        "async ",
        "unsafe ",
    ] {
        rest = rest.strip_prefix(prefix).unwrap_or(rest);
    }
    let rest = rest.strip_prefix("fn ")?;
    let end = rest.find(|c: char| !(c.is_alphanumeric() || c == '_'))?;
    Some(&rest[..end])
}

#[test]
fn no_function_outside_tests_is_too_long() {
    let root = project_root();
    let long = long_functions(
        &tracked_files(),
        |f| read(&root.join(f)),
        MAX_FUNCTION_LINES,
    );
    assert!(
        long.is_empty(),
        "these functions are longer than {MAX_FUNCTION_LINES} lines; split them into named \
         steps:\n{}",
        long.join("\n")
    );
}

#[test]
fn the_length_rule_counts_a_function_to_its_closing_brace_and_skips_tests() {
    let body = |n: usize| "    let x = 1;\n".repeat(n);
    let long = format!("pub async fn long(\n    a: u8,\n) {{\n{}}}\n", body(8));
    let short = format!("fn short() {{\n{}}}\n", body(3));
    let in_tests = format!(
        "#[cfg(test)]\nmod tests {{\n    fn t() {{\n{}    }}\n}}\n",
        body(20)
    );
    let files = [
        ("migrate/src/a.rs", format!("{long}\n{short}\n{in_tests}")),
        ("migrate/src/a_tests.rs", long.clone()),
    ];
    let names: Vec<String> = files.iter().map(|(f, _)| (*f).to_owned()).collect();
    let text = |f: &str| files.iter().find(|(n, _)| *n == f).unwrap().1.clone();
    assert_eq!(
        long_functions(&names, text, 10),
        ["migrate/src/a.rs: long (12 lines)"]
    );
}
