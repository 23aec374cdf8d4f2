//! Reads YAML manifest files into documents that remember where they came from (file, line).

use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};

use serde_json::Value;

/// Errors of reading manifests.
#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    /// A file or directory could not be read.
    #[error("failed to read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    /// A document is not valid YAML.
    #[error("failed to parse {path}:{line}: {message}")]
    Parse {
        path: PathBuf,
        line: usize,
        message: String,
    },
}

/// One YAML document of a manifest file.
#[derive(Clone, Debug)]
pub struct Document {
    /// The file.
    pub path: PathBuf,
    /// Line of the file on which the document starts (1-based).
    pub line: usize,
    /// The document, as JSON.
    pub value: Value,
}

impl Document {
    /// `apiVersion` and `kind`, empty when absent.
    pub fn type_meta(&self) -> (&str, &str) {
        let field = |name: &str| {
            self.value
                .get(name)
                .and_then(Value::as_str)
                .unwrap_or_default()
        };
        (field("apiVersion"), field("kind"))
    }

    /// `metadata.name`, empty when absent.
    pub fn name(&self) -> &str {
        self.value
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .unwrap_or_default()
    }
}

impl fmt::Display for Document {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (_, kind) = self.type_meta();
        write!(
            f,
            "{}:{} ({kind} {})",
            self.path.display(),
            self.line,
            self.name()
        )
    }
}

/// Every `.yaml`/`.yml` file under `dir`, recursively, sorted by path.
pub fn yaml_files(dir: &Path) -> Result<Vec<PathBuf>, ManifestError> {
    let mut files = Vec::new();
    let entries = fs::read_dir(dir).map_err(|source| ManifestError::Read {
        path: dir.into(),
        source,
    })?;
    for entry in entries {
        let path = entry
            .map_err(|source| ManifestError::Read {
                path: dir.into(),
                source,
            })?
            .path();
        if path.is_dir() {
            files.extend(yaml_files(&path)?);
        } else if path
            .extension()
            .is_some_and(|ext| ext == "yaml" || ext == "yml")
        {
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
}

/// The non-empty documents of one file, split on `---` lines.
pub fn read_documents(path: &Path) -> Result<Vec<Document>, ManifestError> {
    let text = fs::read_to_string(path).map_err(|source| ManifestError::Read {
        path: path.into(),
        source,
    })?;
    parse_documents(path, &text)
}

/// The non-empty documents of `text`, read from `path`.
pub fn parse_documents(path: &Path, text: &str) -> Result<Vec<Document>, ManifestError> {
    let mut documents = Vec::new();
    let mut start = 1;
    let mut chunk = String::new();
    for (index, line) in text.lines().enumerate() {
        if line.trim_end() == "---" {
            push_document(path, start, &chunk, &mut documents)?;
            chunk.clear();
            start = index + 2;
        } else {
            chunk.push_str(line);
            chunk.push('\n');
        }
    }
    push_document(path, start, &chunk, &mut documents)?;
    Ok(documents)
}

fn push_document(
    path: &Path,
    start: usize,
    chunk: &str,
    documents: &mut Vec<Document>,
) -> Result<(), ManifestError> {
    let value: Value = serde_norway::from_str(chunk).map_err(|error| ManifestError::Parse {
        path: path.into(),
        line: start + error.location().map_or(0, |l| l.line().saturating_sub(1)),
        message: error.to_string(),
    })?;
    if !value.is_null() {
        documents.push(Document {
            path: path.into(),
            line: start,
            value,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documents_remember_their_first_line() {
        let text = "# comment\n---\nkind: A\n---\n\n---\nkind: B\nmetadata:\n  name: b\n";
        let docs = parse_documents(Path::new("x.yaml"), text).expect("parse");
        assert_eq!(docs.len(), 2);
        assert_eq!((docs[0].line, docs[0].type_meta().1), (3, "A"));
        assert_eq!((docs[1].line, docs[1].name()), (7, "b"));
        assert_eq!(docs[1].to_string(), "x.yaml:7 (B b)");
    }

    #[test]
    fn parse_errors_name_the_file_and_line() {
        let text = "kind: A\n---\nkind: B\nspec: [unclosed\n";
        let error = parse_documents(Path::new("bad.yaml"), text).expect_err("must fail");
        let message = error.to_string();
        assert!(
            message.starts_with("failed to parse bad.yaml:"),
            "{message}"
        );
        match error {
            ManifestError::Parse { line, .. } => assert!(line >= 3, "line {line}"),
            ManifestError::Read { .. } => panic!("unexpected read error"),
        }
    }
}
