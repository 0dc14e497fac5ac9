//! The files of `src/` form no import cycle, so each can be read and changed from the bottom
//! up. An edge is a `crate::` or `super::` path in a file's code (a child naming its parent
//! counts, a parent's `mod` declaration does not; `#[cfg(test)]` items are left out).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "module_graph/cycles.rs"]
mod cycles;
#[path = "module_graph/lexer.rs"]
mod lexer;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use cycles::{describe, tangles, Graph};
use lexer::{code_only, tokens, without_test_items};

/// Every `.rs` file under `dir`: module path relative to `src/` (without `.rs`) -> source.
fn read_sources(dir: &Path, prefix: &str, out: &mut BTreeMap<String, String>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_str().unwrap().to_owned();
        if path.is_dir() {
            read_sources(&path, &format!("{prefix}{name}/"), out);
        } else if let Some(stem) = name.strip_suffix(".rs") {
            out.insert(
                format!("{prefix}{stem}"),
                std::fs::read_to_string(&path).unwrap(),
            );
        }
    }
}

/// The use-tree or path starting at `tokens[i]` (just after a `::`), expanded into its
/// leaf paths (`{a, b::{c, self}}` -> `a`, `b::c`, `b::self`); also returns where it ends.
fn tree(tokens: &[String], mut i: usize) -> (Vec<Vec<String>>, usize) {
    match tokens.get(i).map(String::as_str) {
        Some("{") => {
            let mut leaves = Vec::new();
            i += 1;
            while i < tokens.len() && tokens[i] != "}" {
                let (more, end) = tree(tokens, i);
                leaves.extend(more);
                i = end;
                if tokens.get(i).map(String::as_str) == Some(",") {
                    i += 1;
                } else if tokens.get(i).map(String::as_str) != Some("}") {
                    i += 1; // `as name` and anything unexpected: skip to the next item.
                }
            }
            (leaves, i + 1)
        }
        Some(t) if t.starts_with(|c: char| c.is_alphabetic() || c == '_') => {
            let head = t.to_owned();
            if tokens.get(i + 1).map(String::as_str) == Some("::") {
                let (rest, end) = tree(tokens, i + 2);
                let leaves = rest
                    .into_iter()
                    .map(|mut leaf| {
                        leaf.insert(0, head.clone());
                        leaf
                    })
                    .collect();
                (leaves, end)
            } else if tokens.get(i + 1).map(String::as_str) == Some("as") {
                (vec![vec![head]], i + 3)
            } else {
                (vec![vec![head]], i + 1)
            }
        }
        // `*`, `<` (a turbofish) or anything else: the path so far.
        _ => (vec![Vec::new()], i + 1),
    }
}

/// The file module a path names: its longest prefix that is a file under `src/`.
fn resolve(modules: &BTreeSet<String>, path: &[String]) -> Option<String> {
    let path: Vec<&str> = path
        .iter()
        .map(String::as_str)
        .filter(|p| *p != "self")
        .collect();
    (1..=path.len())
        .rev()
        .map(|n| path[..n].join("/"))
        .find(|m| modules.contains(m))
}

/// The modules one file's code names through `crate::` and `super::` paths.
fn edges_of(module: &str, tokens: &[String], modules: &BTreeSet<String>) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut i = 0;
    while i < tokens.len() {
        let starts_path = i == 0 || tokens[i - 1] != "::";
        let mut base: Option<Vec<String>> = None;
        let mut j = i;
        if starts_path
            && tokens[i] == "crate"
            && tokens.get(i + 1).map(String::as_str) == Some("::")
        {
            base = Some(Vec::new());
            j = i + 2;
        } else if starts_path && tokens[i] == "super" {
            let mut at: Vec<String> = module.split('/').map(str::to_owned).collect();
            while tokens.get(j).map(String::as_str) == Some("super")
                && tokens.get(j + 1).map(String::as_str) == Some("::")
            {
                at.pop();
                j += 2;
            }
            if j > i {
                base = Some(at);
            }
        }
        match base {
            Some(base) => {
                let (leaves, end) = tree(tokens, j);
                for leaf in leaves {
                    let full: Vec<String> = base.iter().cloned().chain(leaf).collect();
                    if let Some(target) = resolve(modules, &full) {
                        if target != module {
                            out.insert(target);
                        }
                    }
                }
                i = end.max(i + 1);
            }
            None => i += 1,
        }
    }
    out
}

/// The graph of the files that are built outside tests (a file declared by a
/// `#[cfg(test)] mod` is left out, with what lies under it).
fn graph(sources: &BTreeMap<String, String>) -> Graph {
    let mut code = BTreeMap::new();
    let mut test_only = Vec::new();
    for (m, src) in sources {
        let (tokens, test_files) = without_test_items(tokens(&code_only(src)));
        let dir = match m.as_str() {
            "lib" | "main" => String::new(),
            _ => format!("{m}/"),
        };
        test_only.extend(test_files.into_iter().map(|name| format!("{dir}{name}")));
        code.insert(m.clone(), tokens);
    }
    code.retain(|m, _| {
        !test_only
            .iter()
            .any(|t| m == t || m.starts_with(&format!("{t}/")))
    });
    let modules: BTreeSet<String> = code.keys().cloned().collect();
    code.iter()
        .map(|(m, tokens)| (m.clone(), edges_of(m, tokens, &modules)))
        .collect()
}

#[test]
fn src_files_import_each_other_without_cycles() {
    let mut sources = BTreeMap::new();
    read_sources(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
        "",
        &mut sources,
    );
    let graph = graph(&sources);
    let found = tangles(&graph);
    let cycles: Vec<String> = found.iter().map(|c| describe(&graph, c)).collect();
    assert!(
        cycles.is_empty(),
        "src/ has import cycles:\n{}",
        cycles.join("\n")
    );
}

#[test]
fn the_scanner_names_a_cycle_through_braces_super_and_children() {
    let sources: BTreeMap<String, String> = [
        ("a", "use crate::b::{x, c::{self, Y as Z}};"),
        ("b", "//! b names a only in a comment: crate::a\n"),
        ("b/c", "fn f() -> super::super::d::T { todo!() }"),
        (
            "d",
            "pub fn g() { crate::a::h(); let s = \"crate::b\"; }\n#[cfg(test)]\nmod t;",
        ),
        ("d/t", "use crate::e;"),
        (
            "e",
            "#[cfg(test)]\nmod tests { use crate::a; }\nuse super::d::*;",
        ),
    ]
    .into_iter()
    .map(|(m, s)| (m.to_owned(), s.to_owned()))
    .collect();
    let graph = graph(&sources);
    assert_eq!(
        graph["a"],
        BTreeSet::from(["b".to_owned(), "b/c".to_owned()])
    );
    assert!(graph["b"].is_empty());
    assert_eq!(graph["e"], BTreeSet::from(["d".to_owned()]));
    assert!(!graph.contains_key("d/t"));
    let found = tangles(&graph);
    assert_eq!(found, vec![vec!["a", "b/c", "d"]]);
    assert_eq!(
        describe(&graph, &found[0]).lines().next(),
        Some("cycle: a -> b/c -> d -> a")
    );
}
