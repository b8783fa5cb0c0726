//! The workspace's shape, checked on every test run: no two source files import each
//! other (directly or around a circle), the reactor crate's layers are only used
//! downwards, and no source file passes 800 lines.
//!
//! The check reads the code itself: every `use crate::`, `use super::`, `use self::` and
//! every path written inline (`crate::timer::TimerKind::Idle`), outside `#[cfg(test)]`
//! modules and comments. A path is followed through re-exports (`pub use`) to the file
//! that defines the item, so importing `crate::http::Request` from `http/mod.rs` counts as
//! importing `http/request.rs`. Calls through `impl` blocks written in another file are
//! not imports and are not seen.
//!
//! The layers of `reactor/src`, lowest first (see the project's DESIGN "Inside the reactor
//! crate"): `http/`, `supervise/`, `observe/`, `answer/`, `transport/`, and the loop at the
//! crate root, which may use them all.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

/// Longest source file allowed.
const MAX_LINES: usize = 800;

/// The crates whose files are checked: their source folder and root file.
const CRATES: &[(&str, &str)] = &[
    ("reactor/src", "lib.rs"),
    ("worker/src", "lib.rs"),
    ("src", "lib.rs"),
    ("server/src", "main.rs"),
];

/// The reactor's layers: a file in the folder on the left may import files of the folders
/// on the right. `""` is the crate root: the loop.
const REACTOR_LAYERS: &[(&str, &[&str])] = &[
    ("http", &["http"]),
    ("h2", &["http", "h2"]),
    ("supervise", &["http", "supervise"]),
    ("observe", &["http", "supervise", "observe"]),
    ("answer", &["http", "supervise", "observe", "answer"]),
    (
        "broadcast",
        &["http", "supervise", "observe", "answer", "broadcast"],
    ),
    ("transport", &["http", "supervise", "transport"]),
];

#[test]
fn no_file_imports_a_file_that_imports_it_back() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut circles = Vec::new();
    for (dir, root_file) in CRATES {
        let krate = Crate::read(&root.join(dir), root_file);
        for circle in krate.circles() {
            circles.push(format!("{dir}: {}", circle.join(" -> ")));
        }
    }
    assert!(
        circles.is_empty(),
        "files that import each other (cut each circle):\n{}",
        circles.join("\n")
    );
}

#[test]
fn the_reactor_layers_are_used_downwards_only() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let krate = Crate::read(&root.join("reactor/src"), "lib.rs");
    let wrong = layer_violations(&krate);
    assert!(
        wrong.is_empty(),
        "imports against the layer order (http, supervise, observe, answer, transport, loop):\n{}",
        wrong.join("\n")
    );
}

#[test]
fn no_source_file_is_over_800_lines() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut long = Vec::new();
    for dir in [
        "reactor/src",
        "worker/src",
        "src",
        "server/src",
        "tests",
        "examples",
        "benches",
    ] {
        for file in rust_files(&root.join(dir)) {
            let lines = fs::read_to_string(&file)
                .expect("a source file is readable")
                .lines()
                .count();
            if lines > MAX_LINES {
                long.push(format!("{} ({lines} lines)", file.display()));
            }
        }
    }
    assert!(
        long.is_empty(),
        "split these along their seams:\n{}",
        long.join("\n")
    );
}

/// The checker itself, on small crates made here: it must find what it is for.
#[test]
fn the_checker_sees_circles_through_every_kind_of_path() {
    // (what the case shows, its files, the circles expected)
    type Case<'c> = (&'c str, &'c [(&'c str, &'c str)], &'c [&'c str]);
    let cases: &[Case<'_>] = &[
        (
            "two files, plain uses",
            &[
                ("lib.rs", "mod a; mod b;"),
                ("a.rs", "use crate::b::B; pub struct A;"),
                ("b.rs", "use crate::a::A; pub struct B;"),
            ],
            &["a.rs -> b.rs"],
        ),
        (
            "a grouped use and an inline path",
            &[
                ("lib.rs", "mod a; mod b;"),
                ("a.rs", "use crate::{b::{self, B as Bee}}; pub struct A;"),
                ("b.rs", "pub struct B; fn f() { let _ = crate::a::A; }"),
            ],
            &["a.rs -> b.rs"],
        ),
        (
            "a child and its parent",
            &[
                ("lib.rs", "mod conn;"),
                (
                    "conn.rs",
                    "mod read; use self::read::Reading; pub struct Conn;",
                ),
                ("conn/read.rs", "use super::Conn; pub enum Reading {}"),
            ],
            &["conn.rs -> conn/read.rs"],
        ),
        (
            "through a re-export",
            &[
                (
                    "lib.rs",
                    "mod http; mod answer; pub use crate::http::Request;",
                ),
                (
                    "http/mod.rs",
                    "mod request; pub use self::request::Request;",
                ),
                (
                    "http/request.rs",
                    "use crate::answer::Job; pub struct Request;",
                ),
                ("answer/mod.rs", "pub use job::Job; mod job;"),
                ("answer/job.rs", "use crate::Request; pub struct Job;"),
            ],
            &["answer/job.rs -> http/request.rs"],
        ),
        (
            "none: comments, strings and tests do not count",
            &[
                ("lib.rs", "mod a; mod b;"),
                (
                    "a.rs",
                    "use crate::b::B; // use crate::a\n/* crate::a::A */ pub struct A;",
                ),
                (
                    "b.rs",
                    "pub struct B; const S: &str = \"crate::a::A\";\n\
                     #[cfg(test)]\nmod tests { use crate::a::A; }",
                ),
            ],
            &[],
        ),
    ];
    for (name, files, expected) in cases {
        let krate = Crate::from_sources(
            "lib.rs",
            files
                .iter()
                .map(|(path, text)| (PathBuf::from(path), (*text).to_owned()))
                .collect(),
        );
        let found: Vec<String> = krate
            .circles()
            .into_iter()
            .map(|c| c.join(" -> "))
            .collect();
        assert_eq!(found, *expected, "{name}");
    }
}

#[test]
fn the_checker_sees_an_import_against_the_layers() {
    let krate = Crate::from_sources(
        "lib.rs",
        [
            ("lib.rs", "mod http; mod answer; mod timer;"),
            ("http/mod.rs", "mod parse;"),
            ("http/parse.rs", "use crate::timer::Kind; pub struct Head;"),
            ("answer/mod.rs", "mod defer;"),
            ("answer/defer.rs", "use crate::http::parse::Head;"),
            ("timer.rs", "use crate::answer::defer; pub enum Kind {}"),
        ]
        .into_iter()
        .map(|(path, text)| (PathBuf::from(path), text.to_owned()))
        .collect(),
    );
    assert_eq!(
        layer_violations(&krate),
        ["http/parse.rs imports timer.rs (the loop)"]
    );
}

/// One crate's files, and which files each imports.
struct Crate {
    /// Module path (`["conn", "read"]`) to its file, relative to the source folder.
    modules: BTreeMap<Vec<String>, PathBuf>,
    /// Each file's code with comments, literals and test modules blanked.
    code: BTreeMap<PathBuf, String>,
    /// Each file's `use` bindings: the name it brings in, and the path it names.
    bindings: BTreeMap<PathBuf, Vec<(String, Vec<String>)>>,
}

impl Crate {
    fn read(dir: &Path, root_file: &str) -> Crate {
        let sources = rust_files(dir)
            .into_iter()
            .map(|file| {
                let text = fs::read_to_string(&file).expect("a source file is readable");
                let relative = file
                    .strip_prefix(dir)
                    .expect("files are listed under their folder")
                    .to_path_buf();
                (relative, text)
            })
            .collect();
        Crate::from_sources(root_file, sources)
    }

    fn from_sources(root_file: &str, sources: BTreeMap<PathBuf, String>) -> Crate {
        let mut modules = BTreeMap::new();
        let mut code = BTreeMap::new();
        let mut bindings = BTreeMap::new();
        for (path, text) in sources {
            modules.insert(module_path(&path, root_file), path.clone());
            let blanked = without_tests(&blank_comments_and_literals(&text));
            bindings.insert(path.clone(), use_bindings(&blanked));
            code.insert(path, blanked);
        }
        Crate {
            modules,
            code,
            bindings,
        }
    }

    fn module_of(&self, file: &Path) -> Vec<String> {
        self.modules
            .iter()
            .find(|(_, f)| f.as_path() == file)
            .map(|(m, _)| m.clone())
            .expect("every file is a module")
    }

    /// The files `file` imports, by every path it writes.
    fn imports(&self, file: &Path) -> BTreeSet<PathBuf> {
        let module = self.module_of(file);
        let mut paths: Vec<Vec<String>> = self.bindings[file]
            .iter()
            .map(|(_, path)| path.clone())
            .collect();
        paths.extend(inline_paths(&self.code[file]));
        let mut files = BTreeSet::new();
        for path in paths {
            if let Some(target) = self.resolve(&module, &path, 0)
                && target != file
            {
                files.insert(target);
            }
        }
        files
    }

    /// The file defining what `path`, written in `module`, names; `None` outside the crate.
    fn resolve(&self, module: &[String], path: &[String], depth: usize) -> Option<PathBuf> {
        if depth > 16 {
            return None;
        }
        let absolute = self.absolute(module, path)?;
        // The longest prefix that is a module with a file of its own.
        let mut at = absolute.len();
        while !self.modules.contains_key(&absolute[..at]) {
            at -= 1;
        }
        let file = self.modules[&absolute[..at]].clone();
        let rest = &absolute[at..];
        let Some(name) = rest.first().filter(|n| n.as_str() != "*") else {
            return Some(file);
        };
        // An item brought in by a `use` of that file: follow it to its definition.
        let through = self.bindings[&file]
            .iter()
            .find(|(bound, _)| bound == name)
            .map(|(_, p)| p.clone());
        match through {
            Some(target) => {
                let owner = absolute[..at].to_vec();
                let mut onward = target;
                onward.extend(rest[1..].iter().cloned());
                self.resolve(&owner, &onward, depth + 1).or(Some(file))
            }
            None => Some(file),
        }
    }

    /// `path` from the crate root, or `None` if it leaves the crate.
    fn absolute(&self, module: &[String], path: &[String]) -> Option<Vec<String>> {
        let (first, rest) = path.split_first()?;
        let mut base: Vec<String> = match first.as_str() {
            "crate" => Vec::new(),
            "self" => module.to_vec(),
            "super" => {
                let mut up = module.to_vec();
                up.pop();
                up
            }
            // A child module named without `self::` (2018 paths), else another crate.
            name => {
                let mut child = module.to_vec();
                child.push(name.to_owned());
                if !self.modules.contains_key(&child) {
                    return None;
                }
                return Some(child.into_iter().chain(rest.iter().cloned()).collect());
            }
        };
        let mut rest = rest;
        while let Some(("super", tail)) = rest.split_first().map(|(h, t)| (h.as_str(), t)) {
            base.pop();
            rest = tail;
        }
        base.extend(rest.iter().cloned());
        Some(base)
    }

    /// Every set of files that import each other around a circle, each as its files in
    /// order of name (Tarjan's strongly connected components).
    fn circles(&self) -> Vec<Vec<String>> {
        let files: Vec<PathBuf> = self.code.keys().cloned().collect();
        let edges: Vec<Vec<usize>> = files
            .iter()
            .map(|f| {
                self.imports(f)
                    .iter()
                    .filter_map(|t| files.iter().position(|g| g == t))
                    .collect()
            })
            .collect();
        let mut circles: Vec<Vec<String>> = strongly_connected(&edges)
            .into_iter()
            .filter(|c| c.len() > 1)
            .map(|c| {
                let mut names: Vec<String> =
                    c.iter().map(|&i| files[i].display().to_string()).collect();
                names.sort();
                names
            })
            .collect();
        circles.sort();
        circles
    }
}

/// The imports of the reactor crate that go against its layer order.
fn layer_violations(krate: &Crate) -> Vec<String> {
    let layer = |file: &Path| -> String {
        let first = file
            .components()
            .next()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .unwrap_or_default();
        if REACTOR_LAYERS.iter().any(|(name, _)| *name == first) {
            first
        } else {
            String::new()
        }
    };
    let mut wrong = Vec::new();
    for file in krate.code.keys() {
        let from = layer(file);
        let Some((_, allowed)) = REACTOR_LAYERS.iter().find(|(name, _)| *name == from) else {
            continue; // the loop may use every layer
        };
        for target in krate.imports(file) {
            let to = layer(&target);
            if !allowed.contains(&to.as_str()) {
                let name = if to.is_empty() {
                    "the loop"
                } else {
                    to.as_str()
                };
                wrong.push(format!(
                    "{} imports {} ({name})",
                    file.display(),
                    target.display()
                ));
            }
        }
    }
    wrong
}

/// Tarjan's algorithm, iterative enough for a crate's few hundred files.
fn strongly_connected(edges: &[Vec<usize>]) -> Vec<Vec<usize>> {
    struct State<'e> {
        edges: &'e [Vec<usize>],
        index: Vec<Option<usize>>,
        low: Vec<usize>,
        on_stack: Vec<bool>,
        stack: Vec<usize>,
        next: usize,
        found: Vec<Vec<usize>>,
    }
    fn visit(s: &mut State<'_>, v: usize) {
        s.index[v] = Some(s.next);
        s.low[v] = s.next;
        s.next += 1;
        s.stack.push(v);
        s.on_stack[v] = true;
        for &w in &s.edges[v] {
            match s.index[w] {
                None => {
                    visit(s, w);
                    s.low[v] = s.low[v].min(s.low[w]);
                }
                Some(i) if s.on_stack[w] => s.low[v] = s.low[v].min(i),
                Some(_) => {}
            }
        }
        if Some(s.low[v]) == s.index[v] {
            let mut component = Vec::new();
            loop {
                let w = s.stack.pop().expect("v is on the stack");
                s.on_stack[w] = false;
                component.push(w);
                if w == v {
                    break;
                }
            }
            s.found.push(component);
        }
    }
    let n = edges.len();
    let mut s = State {
        edges,
        index: vec![None; n],
        low: vec![0; n],
        on_stack: vec![false; n],
        stack: Vec::new(),
        next: 0,
        found: Vec::new(),
    };
    for v in 0..n {
        if s.index[v].is_none() {
            visit(&mut s, v);
        }
    }
    s.found
}

/// Every `.rs` file under `dir`, in order.
fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(d) = pending.pop() {
        let Ok(entries) = fs::read_dir(&d) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                // Peer servers and fuzz targets are other workspaces.
                if path
                    .file_name()
                    .is_some_and(|n| n == "peers" || n == "target")
                {
                    continue;
                }
                pending.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                found.push(path);
            }
        }
    }
    found.sort();
    found
}

/// The module path of a file: `conn/read.rs` is `["conn", "read"]`, `http/mod.rs` is
/// `["http"]`, the root file is `[]`.
fn module_path(file: &Path, root_file: &str) -> Vec<String> {
    if file == Path::new(root_file) {
        return Vec::new();
    }
    let mut parts: Vec<String> = file
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    let last = parts.pop().expect("a file has a name");
    if last != "mod.rs" {
        parts.push(last.trim_end_matches(".rs").to_owned());
    }
    parts
}

/// `text` with comments, string, byte-string and char literals replaced by spaces (line
/// breaks kept), so that no path inside them is read.
fn blank_comments_and_literals(text: &str) -> String {
    let b = text.as_bytes();
    let mut out = b.to_vec();
    let blank = |out: &mut Vec<u8>, from: usize, to: usize| {
        for c in &mut out[from..to] {
            if *c != b'\n' {
                *c = b' ';
            }
        }
    };
    let mut i = 0;
    while i < b.len() {
        let start = i;
        match b[i] {
            b'/' if b.get(i + 1) == Some(&b'/') => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
                blank(&mut out, start, i);
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                let mut depth = 0;
                while i < b.len() {
                    if b[i..].starts_with(b"/*") {
                        depth += 1;
                        i += 2;
                    } else if b[i..].starts_with(b"*/") {
                        depth -= 1;
                        i += 2;
                        if depth == 0 {
                            break;
                        }
                    } else {
                        i += 1;
                    }
                }
                blank(&mut out, start, i);
            }
            b'r' if !is_ident(b.get(i.wrapping_sub(1)).copied())
                && matches!(b.get(i + 1), Some(b'#' | b'"')) =>
            {
                let hashes = b[i + 1..].iter().take_while(|&&c| c == b'#').count();
                if b.get(i + 1 + hashes) != Some(&b'"') {
                    i += 1;
                    continue;
                }
                i += hashes + 2;
                let mut end = Vec::from(&b"\""[..]);
                end.extend(std::iter::repeat_n(b'#', hashes));
                while i < b.len() && !b[i..].starts_with(&end) {
                    i += 1;
                }
                i = (i + end.len()).min(b.len());
                blank(&mut out, start, i);
            }
            b'"' => {
                i += 1;
                while i < b.len() && b[i] != b'"' {
                    i += if b[i] == b'\\' { 2 } else { 1 };
                }
                i = (i + 1).min(b.len());
                blank(&mut out, start, i);
            }
            // A char literal ('x', '\n', '\u{1F600}'), not a lifetime ('a).
            b'\'' => {
                let close = if b.get(i + 1) == Some(&b'\\') {
                    b[i + 2..]
                        .iter()
                        .position(|&c| c == b'\'')
                        .map(|p| i + 2 + p)
                } else {
                    let ch_len = text[i + 1..].chars().next().map_or(1, char::len_utf8);
                    (b.get(i + 1 + ch_len) == Some(&b'\'')).then_some(i + 1 + ch_len)
                };
                match close {
                    Some(end) => {
                        i = end + 1;
                        blank(&mut out, start, i);
                    }
                    None => i += 1,
                }
            }
            _ => i += 1,
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn is_ident(c: Option<u8>) -> bool {
    c.is_some_and(|c| c.is_ascii_alphanumeric() || c == b'_')
}

/// `code` without the items marked `#[cfg(test)]` (test modules may import freely).
fn without_tests(code: &str) -> String {
    let mut out = String::with_capacity(code.len());
    let mut rest = code;
    while let Some(at) = rest.find("#[cfg(test)]") {
        out.push_str(&rest[..at]);
        let item = &rest[at..];
        let mut depth = 0usize;
        let mut end = item.len();
        for (i, c) in item.char_indices() {
            match c {
                '{' | '(' | '[' => depth += 1,
                // A closing bracket at depth 0 ends the enclosing item: the marked item
                // (a field, a variant, a statement) ended just before it.
                '}' | ')' | ']' if depth == 0 => {
                    end = i;
                    break;
                }
                '}' | ')' | ']' => {
                    depth -= 1;
                    if depth == 0 && c == '}' {
                        end = i + 1;
                        break;
                    }
                }
                // A field or a variant ends at its comma, an item or a statement at its
                // semicolon.
                ';' | ',' if depth == 0 => {
                    end = i + 1;
                    break;
                }
                _ => {}
            }
        }
        rest = &item[end..];
    }
    out.push_str(rest);
    out
}

/// The `use` declarations of `code`, each binding as (name brought in, full path). A glob
/// binds `*`; `self` in a group binds the module's own name.
fn use_bindings(code: &str) -> Vec<(String, Vec<String>)> {
    let mut found = Vec::new();
    let b = code.as_bytes();
    let mut from = 0;
    while let Some(p) = code[from..].find("use ") {
        let at = from + p;
        from = at + 4;
        if is_ident(b.get(at.wrapping_sub(1)).copied()) {
            continue;
        }
        let Some(end) = code[at..].find(';') else {
            break;
        };
        let tree: String = code[at + 4..at + end]
            .chars()
            .filter(|c| !c.is_whitespace() || *c == ' ')
            .collect();
        flatten_use(&tree, &mut Vec::new(), &mut found);
        from = at + end;
    }
    found
}

/// Flattens a use tree (`a::{b, c::{self, D as E}, *}`) into its bindings.
fn flatten_use(tree: &str, prefix: &mut Vec<String>, out: &mut Vec<(String, Vec<String>)>) {
    let tree = tree.trim().trim_start_matches("::");
    if let Some(open) = tree.find('{') {
        let head: Vec<String> = split_path(&tree[..open]);
        let close = tree.rfind('}').unwrap_or(tree.len());
        let depth_before = prefix.len();
        prefix.extend(head);
        for part in split_top_level(&tree[open + 1..close]) {
            flatten_use(part, prefix, out);
        }
        prefix.truncate(depth_before);
        return;
    }
    let (path, alias) = match tree.split_once(" as ") {
        Some((p, a)) => (p, Some(a.trim())),
        None => (tree, None),
    };
    let mut full = prefix.clone();
    let segments = split_path(path);
    if segments.is_empty() {
        return;
    }
    if segments == ["self"] {
        // `a::{self}`: the module `a` itself.
        let name = alias.map_or_else(|| full.last().cloned().unwrap_or_default(), str::to_owned);
        out.push((name, full));
        return;
    }
    full.extend(segments);
    let name = alias
        .map(str::to_owned)
        .unwrap_or_else(|| full.last().cloned().unwrap_or_default());
    out.push((name, full));
}

fn split_path(path: &str) -> Vec<String> {
    path.split("::")
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Splits `a, b::{c, d}, e` at its top-level commas.
fn split_top_level(list: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut depth = 0;
    let mut start = 0;
    for (i, c) in list.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(&list[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&list[start..]);
    parts.into_iter().filter(|p| !p.trim().is_empty()).collect()
}

/// Paths written in code outside `use` declarations that start at `crate::` or
/// `super::`: `crate::timer::TimerKind::Idle`.
fn inline_paths(code: &str) -> Vec<Vec<String>> {
    let mut found = Vec::new();
    let b = code.as_bytes();
    for start_word in ["crate::", "super::"] {
        let mut from = 0;
        while let Some(p) = code[from..].find(start_word) {
            let at = from + p;
            from = at + start_word.len();
            if is_ident(b.get(at.wrapping_sub(1)).copied())
                || b.get(at.wrapping_sub(1)) == Some(&b':')
            {
                continue;
            }
            // Inside a `use` declaration: counted there already.
            let in_use = code[..at]
                .rmatch_indices("use ")
                .find(|(u, _)| !is_ident(b.get(u.wrapping_sub(1)).copied()))
                .is_some_and(|(u, _)| !code[u..at].contains(';'));
            if in_use {
                continue;
            }
            let end = code[at..]
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':'))
                .map_or(code.len(), |e| at + e);
            let path = split_path(&code[at..end]);
            if path.len() > 1 {
                found.push(path);
            }
        }
    }
    found
}
