//! `govctl router enroll|certificates|revoke`: a router agent's client certificate, issued by
//! the controller's agent CA and written to files the agent's configuration names (the key with
//! mode 0600, never printed), listed, and revoked.

use std::fmt::Write as _;
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use chrono::{DateTime, Utc};
use govcloud_crds::api::{KeyOrigin, NewRouterCertificate, RouterCertificateView};
use serde::Serialize;

use crate::cli::{OutputFormat, RouterEnrollArgs};
use crate::client::Client;
use crate::exit::UsageError;
use crate::output::{Table, emit, timestamp};

/// What `govctl router enroll` wrote (the JSON and YAML output; never the key itself).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Enrollment {
    router: String,
    serial: String,
    not_after: DateTime<Utc>,
    certificate: PathBuf,
    #[serde(skip_serializing_if = "Option::is_none")]
    private_key: Option<PathBuf>,
    ca: PathBuf,
}

/// The files of an enrollment in `dir`.
struct Files {
    certificate: PathBuf,
    key: PathBuf,
    ca: PathBuf,
}

impl Files {
    fn new(dir: &Path, router: &str) -> Self {
        Self {
            certificate: dir.join(format!("{router}.crt")),
            key: dir.join(format!("{router}.key")),
            ca: dir.join("ca.crt"),
        }
    }
}

/// `govctl router enroll NAME [--out DIR] [--csr FILE] [--force]`
pub fn enroll(
    client: &Client,
    args: RouterEnrollArgs,
    format: OutputFormat,
    out: &mut dyn Write,
) -> anyhow::Result<()> {
    let RouterEnrollArgs {
        name,
        out: dir,
        csr,
        force,
    } = args;
    if name.is_empty() || name.starts_with('.') || name.contains(['/', '\\']) {
        return Err(UsageError(format!("{name:?} cannot be a router name")).into());
    }
    let files = Files::new(&dir, &name);
    let mut targets = vec![&files.certificate, &files.ca];
    if csr.is_none() {
        targets.push(&files.key);
    }
    if !force && let Some(existing) = targets.iter().find(|path| path.exists()) {
        return Err(UsageError(format!(
            "{} exists; pass --force to replace it, or choose another --out",
            existing.display()
        ))
        .into());
    }
    let csr = csr
        .map(|path| {
            fs::read_to_string(&path)
                .with_context(|| format!("failed to read the CSR {}", path.display()))
        })
        .transpose()?;
    let issued = client
        .enroll_router(&name, &NewRouterCertificate { csr })
        .with_context(|| format!("failed to enroll router {name}"))?;
    let serial = issued.view.serial.clone();
    let saved = save(
        &dir,
        &files,
        &issued.certificate,
        issued.private_key.as_deref(),
        &issued.ca,
    )
    .with_context(|| {
        format!(
            "certificate {serial} of router {name} was issued but could not be saved; revoke \
                 it with `govctl router revoke {name} {serial}` and enroll again"
        )
    });
    saved?;
    let enrollment = Enrollment {
        router: name,
        serial,
        not_after: issued.view.not_after,
        certificate: files.certificate,
        private_key: issued.private_key.is_some().then_some(files.key),
        ca: files.ca,
    };
    emit(out, format, &enrollment, || enrolled(&enrollment))
}

/// Writes the key (mode 0600) first, then the certificate and the CA.
fn save(
    dir: &Path,
    files: &Files,
    certificate: &str,
    key: Option<&str>,
    ca: &str,
) -> anyhow::Result<()> {
    fs::create_dir_all(dir).with_context(|| format!("failed to create {}", dir.display()))?;
    if let Some(key) = key {
        write_file(&files.key, key, 0o600)
            .with_context(|| format!("failed to write {}", files.key.display()))?;
    }
    write_file(&files.certificate, certificate, 0o644)
        .with_context(|| format!("failed to write {}", files.certificate.display()))?;
    write_file(&files.ca, ca, 0o644)
        .with_context(|| format!("failed to write {}", files.ca.display()))
}

/// Writes `contents` through a temporary file renamed over `path`, with `mode` on Unix (set on
/// the temporary file before anything is written to it).
fn write_file(path: &Path, contents: &str, mode: u32) -> io::Result<()> {
    let mut temporary = path.as_os_str().to_owned();
    temporary.push(".tmp");
    let temporary = PathBuf::from(temporary);
    let mut options = fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(mode);
    }
    let mut file = options.open(&temporary)?;
    // A leftover temporary file keeps its mode when opened: set it before writing.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        file.set_permissions(fs::Permissions::from_mode(mode))?;
    }
    #[cfg(not(unix))]
    let _ = mode;
    file.write_all(contents.as_bytes())?;
    file.sync_all()?;
    drop(file);
    fs::rename(&temporary, path)
}

fn enrolled(enrollment: &Enrollment) -> String {
    let mut text = format!(
        "Enrolled router {}: certificate serial {}, valid until {}.\n  certificate: {}\n",
        enrollment.router,
        enrollment.serial,
        timestamp(&enrollment.not_after),
        enrollment.certificate.display()
    );
    // Writing to a String cannot fail.
    let _ = match &enrollment.private_key {
        Some(key) => writeln!(
            text,
            "  private key: {} (mode 0600; the controller keeps no copy)",
            key.display()
        ),
        None => writeln!(
            text,
            "  private key: stays on the router (signed from its CSR)"
        ),
    };
    let _ = writeln!(text, "  agent CA:    {}", enrollment.ca.display());
    text
}

/// `govctl router certificates NAME`
pub fn certificates(
    client: &Client,
    name: &str,
    format: OutputFormat,
    out: &mut dyn Write,
) -> anyhow::Result<()> {
    let certificates = client
        .router_certificates(name)
        .with_context(|| format!("failed to list the certificates of router {name}"))?;
    emit(out, format, &certificates, || {
        certificate_table(&certificates, Utc::now())
    })
}

fn certificate_table(certificates: &[RouterCertificateView], now: DateTime<Utc>) -> String {
    let mut table = Table::new(&["SERIAL", "STATE", "KEY", "ISSUED", "EXPIRES", "ISSUED BY"]);
    for certificate in certificates {
        let state = match certificate.revoked_at {
            Some(at) => format!("revoked {}", timestamp(&at)),
            None if certificate.not_after <= now => "expired".to_owned(),
            None => "active".to_owned(),
        };
        table.row(vec![
            certificate.serial.clone(),
            state,
            match certificate.key_origin {
                KeyOrigin::Server => "server".to_owned(),
                KeyOrigin::Csr => "csr".to_owned(),
            },
            timestamp(&certificate.issued_at),
            timestamp(&certificate.not_after),
            certificate.issued_by.clone(),
        ]);
    }
    table.render()
}

/// `govctl router revoke NAME SERIAL`
pub fn revoke(
    client: &Client,
    name: &str,
    serial: &str,
    format: OutputFormat,
    out: &mut dyn Write,
) -> anyhow::Result<()> {
    let view = client
        .revoke_router_certificate(name, serial)
        .with_context(|| format!("failed to revoke certificate {serial} of router {name}"))?;
    emit(out, format, &view, || {
        format!(
            "Certificate {} of router {} revoked{}.\n",
            view.serial,
            view.router,
            view.revoked_at
                .map(|at| format!(" at {}", timestamp(&at)))
                .unwrap_or_default()
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_written_readable_by_their_owner_only() {
        let dir = tempfile::tempdir().expect("tempdir");
        let files = Files::new(dir.path(), "hanyin-core");
        save(dir.path(), &files, "CERT", Some("KEY"), "CA").expect("save");
        assert_eq!(fs::read_to_string(&files.key).expect("key"), "KEY");
        assert_eq!(fs::read_to_string(&files.ca).expect("ca"), "CA");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = |path: &Path| fs::metadata(path).expect("meta").permissions().mode() & 0o777;
            assert_eq!(mode(&files.key), 0o600);
            assert_eq!(mode(&files.certificate), 0o644);
            // Replacing a key written with a looser mode tightens it.
            fs::set_permissions(&files.key, fs::Permissions::from_mode(0o644)).expect("chmod");
            save(dir.path(), &files, "CERT", Some("KEY2"), "CA").expect("again");
            assert_eq!(mode(&files.key), 0o600);
        }
        let names: Vec<_> = fs::read_dir(dir.path())
            .expect("list")
            .map(|entry| entry.expect("entry").file_name())
            .collect();
        assert_eq!(names.len(), 3, "{names:?}");
    }

    #[test]
    fn the_enrollment_output_names_the_files_and_never_the_key() {
        let enrollment = Enrollment {
            router: "hanyin-core".into(),
            serial: "3a".into(),
            not_after: DateTime::from_timestamp(1_900_000_000, 0).expect("time"),
            certificate: "out/hanyin-core.crt".into(),
            private_key: Some("out/hanyin-core.key".into()),
            ca: "out/ca.crt".into(),
        };
        let text = enrolled(&enrollment);
        assert!(text.contains("serial 3a") && text.contains("out/hanyin-core.key (mode 0600"));
        let json = serde_json::to_value(&enrollment).expect("json");
        assert_eq!(json["privateKey"], "out/hanyin-core.key");
    }
}
