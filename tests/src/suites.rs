//! The crates whose integration suites are modules of one test binary (Cargo's discovery of
//! `tests/*.rs` turned off, `autotests = false`) must declare each suite file there, or it is
//! never built: [`undeclared`] names the ones a binary's root file forgot.

use std::path::Path;

/// The `tests/*.rs` files of the crate in `crate_dir` that are neither declared as `mod NAME;`
/// in `root` (the text of the binary's root file) nor the root of a test binary of their own
/// (`binaries`: the `[[test]]` targets of Cargo.toml), sorted.
pub fn undeclared(crate_dir: &Path, root: &str, binaries: &[&str]) -> Vec<String> {
    let dir = crate_dir.join("tests");
    let entries = std::fs::read_dir(&dir)
        .unwrap_or_else(|error| panic!("cannot list {}: {error}", dir.display()));
    let mut missing: Vec<String> = entries
        .map(|entry| entry.expect("a directory entry").path())
        .filter(|path| path.extension().is_some_and(|e| e == "rs"))
        .filter_map(|path| Some(path.file_stem()?.to_str()?.to_owned()))
        .filter(|stem| {
            !binaries.contains(&stem.as_str()) && !root.contains(&format!("\nmod {stem};\n"))
        })
        .collect();
    missing.sort();
    missing
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suites_not_declared_are_named() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir(dir.path().join("tests")).expect("tests");
        for file in [
            "integration.rs",
            "alone.rs",
            "declared.rs",
            "forgotten.rs",
            "data.json",
        ] {
            std::fs::write(dir.path().join("tests").join(file), "").expect("write");
        }
        let root = "//! root\n\nmod declared;\n";
        assert_eq!(
            undeclared(dir.path(), root, &["integration", "alone"]),
            ["forgotten"]
        );
    }
}
