//! The house's shape, checked: the top-level modules of `src/` form layers (no
//! folder imports another that imports it back, directly or round a loop), and
//! the README's "Layout" names every one of them.
//!
//! An import is any `crate::<module>` path in a module's non-test code
//! (comments and `#[cfg(test)] mod …` blocks left out: tests may reach across).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// The top-level modules: `src/<m>/` and `src/<m>.rs`, except the crate roots.
fn modules() -> BTreeSet<String> {
    std::fs::read_dir(src())
        .expect("src/")
        .filter_map(|e| {
            let name = e.ok()?.file_name().into_string().ok()?;
            let m = name.strip_suffix(".rs").unwrap_or(&name).to_owned();
            (m != "lib" && m != "main").then_some(m)
        })
        .collect()
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).expect("readable dir").flatten() {
        let p = e.path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// A file's code without comments and without its `#[cfg(test)] mod` blocks
/// (which end the files that have them); test-only files count as nothing.
fn production_code(path: &Path) -> String {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default();
    if name == "tests.rs" || name.ends_with("_tests.rs") {
        return String::new();
    }
    let text = std::fs::read_to_string(path).expect("readable source");
    let mut code = String::new();
    let mut in_test_mod = false;
    let mut pending_cfg_test = false;
    for line in text.lines() {
        let t = line.trim_start();
        if pending_cfg_test && t.starts_with("mod ") && t.ends_with('{') {
            in_test_mod = true;
        }
        pending_cfg_test = t == "#[cfg(test)]";
        if in_test_mod {
            continue;
        }
        let line = line.split("//").next().unwrap_or_default();
        code.push_str(line);
        code.push('\n');
    }
    code
}

/// Module → the modules it imports, with one file that does it per edge.
fn imports(modules: &BTreeSet<String>) -> BTreeMap<String, BTreeMap<String, String>> {
    let mut graph: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    for m in modules {
        let mut files = Vec::new();
        let dir = src().join(m);
        if dir.is_dir() {
            rust_files(&dir, &mut files);
        } else {
            files.push(src().join(format!("{m}.rs")));
        }
        let edges = graph.entry(m.clone()).or_default();
        for f in files {
            let code = production_code(&f);
            let rel = f.strip_prefix(src()).unwrap_or(&f).display().to_string();
            let mut rest = code.as_str();
            while let Some(i) = rest.find("crate::") {
                rest = &rest[i + "crate::".len()..];
                // `crate::x` and `crate::{x, y::z}` both name modules.
                let names: Vec<&str> = if let Some(group) = rest.strip_prefix('{') {
                    let end = group.find('}').unwrap_or(group.len());
                    group[..end].split(',').map(|s| s.trim().split("::").next().unwrap_or_default()).collect()
                } else {
                    vec![rest.split(|c: char| !(c.is_alphanumeric() || c == '_')).next().unwrap_or_default()]
                };
                for n in names {
                    if n != m && modules.contains(n) {
                        edges.entry(n.to_owned()).or_insert_with(|| rel.clone());
                    }
                }
            }
        }
    }
    graph
}

/// A loop through `start`, if one exists: the modules in order.
fn loop_through(graph: &BTreeMap<String, BTreeMap<String, String>>, start: &str) -> Option<Vec<String>> {
    let mut stack = vec![(start.to_owned(), vec![start.to_owned()])];
    let mut seen = BTreeSet::new();
    while let Some((at, path)) = stack.pop() {
        for next in graph.get(&at).into_iter().flat_map(|e| e.keys()) {
            if next == start {
                return Some(path.clone());
            }
            if seen.insert(next.clone()) {
                let mut p = path.clone();
                p.push(next.clone());
                stack.push((next.clone(), p));
            }
        }
    }
    None
}

#[test]
fn top_level_modules_form_layers() {
    let modules = modules();
    assert!(modules.len() >= 10 && modules.contains("federation") && modules.contains("query"), "{modules:?}");
    let graph = imports(&modules);
    // The checker sees real edges (it is not vacuously acyclic).
    assert!(graph["federation"].contains_key("query") && graph["api"].contains_key("federation"), "{graph:?}");
    let loops: Vec<String> = modules
        .iter()
        .filter_map(|m| loop_through(&graph, m))
        .map(|path| {
            let hops: Vec<String> = path.iter().zip(path.iter().cycle().skip(1)).map(|(a, b)| format!("{a} → {b} ({})", graph[a][b])).collect();
            hops.join(", ")
        })
        .collect();
    assert!(loops.is_empty(), "modules that import each other round a loop:\n{}", loops.join("\n"));
}

#[test]
fn readme_layout_names_every_module() {
    let readme = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).expect("README.md");
    let layout = readme.split("## Layout").nth(1).expect("README has a Layout section");
    let missing: Vec<String> =
        modules().into_iter().filter(|m| !layout.contains(&format!("src/{m}/")) && !layout.contains(&format!("src/{m}.rs"))).collect();
    assert!(missing.is_empty(), "README's Layout does not name {missing:?}");
}
