//! Support for govcloud's cross-crate tests: reading manifests with their positions, validating
//! them against the CRDs as an API server would, the rule that no test may pass by skipping, the
//! tests' databases (SQLite or PostgreSQL), the network lab (routers as network namespaces),
//! and a synthetic province of generated cities for scale tests and benchmarks.

/// Manifest files read with their positions (shared with local mode's seed).
pub use govcloud_controller::manifests;
pub mod database;
pub mod guides;
pub mod lab;
pub mod local;
pub mod province;
pub mod require;
pub mod schema;
pub mod suites;

use std::path::PathBuf;

/// The workspace root (the parent of this crate's directory).
pub fn workspace_root() -> PathBuf {
    let crate_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    crate_dir
        .parent()
        .map_or(crate_dir.clone(), std::path::Path::to_path_buf)
}

/// Validates every manifest under `dir` against `schemas`; returns one line per violation,
/// naming the file, the line where the document starts, the object and the field.
pub fn validate_manifests(
    dir: &std::path::Path,
    schemas: &schema::SchemaSet,
) -> Result<Vec<String>, manifests::ManifestError> {
    let mut problems = Vec::new();
    for file in manifests::yaml_files(dir)? {
        for document in manifests::read_documents(&file)? {
            for violation in schemas.validate(&document) {
                problems.push(format!("{document}: {violation}"));
            }
        }
    }
    Ok(problems)
}
