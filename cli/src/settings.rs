//! Settings, resolved after parsing: flags and environment variables (which clap has already
//! merged) over the settings file over defaults; and the settings file itself, read and written
//! in the format local mode writes as DATA/govctl.toml.

use std::ffi::OsString;
use std::fmt;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::cli::{GlobalOptions, OutputFormat};
use crate::exit::Exit;

/// Where the settings file is, under the user's configuration directory.
pub const CONFIG_FILE_UNDER_CONFIG_DIR: &str = "govctl/config.toml";

/// A bearer token: never shown by `Debug`, so it cannot leak into logs or panics.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    /// The token, to put in an `Authorization` header or the settings file, and nowhere else.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

impl FromStr for Secret {
    type Err = String;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let token = text.trim();
        if token.is_empty() {
            return Err("the token is empty".to_owned());
        }
        if token.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err("a token has no spaces or control characters".to_owned());
        }
        Ok(Self(token.to_owned()))
    }
}

/// The settings file: `server`, `ca`, `token` and `namespace`, each optional.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    /// URL of the controller's API.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server: Option<String>,
    /// CA certificate file; a relative path is relative to the settings file's directory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca: Option<PathBuf>,
    /// API token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<Secret>,
    /// Namespace of the `govctl migration` commands that name none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
}

impl ConfigFile {
    /// Parses the file's text.
    pub fn parse(text: &str) -> Result<Self, toml::de::Error> {
        toml::from_str(text)
    }

    /// The file's text: `server = "…"`, `ca = "…"`, `token = "…"`, `namespace = "…"`, one
    /// per line.
    pub fn to_toml(&self) -> String {
        // Optional strings always serialise.
        toml::to_string(self).unwrap_or_default()
    }

    /// Reads the file at `path`; `None` when there is none.
    pub fn load(path: &Path) -> Result<Option<Self>, SettingsError> {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(source) => {
                return Err(SettingsError::Read {
                    path: path.to_owned(),
                    source,
                });
            }
        };
        Self::parse(&text)
            .map(Some)
            .map_err(|source| SettingsError::Parse {
                path: path.to_owned(),
                source,
            })
    }

    /// Writes the file at `path`, readable by its owner only (mode 0600), replacing any file
    /// there at once (a new file, renamed over the old one), its directory created if missing.
    pub fn save(&self, path: &Path) -> Result<(), SettingsError> {
        let write_error = |source| SettingsError::Write {
            path: path.to_owned(),
            source,
        };
        let dir = match path.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir,
            _ => Path::new("."),
        };
        create_private_dir(dir).map_err(write_error)?;
        let mut name = path.file_name().map(OsString::from).unwrap_or_default();
        name.push(format!(".{}.tmp", std::process::id()));
        let temporary = dir.join(name);
        let written = write_private(&temporary, self.to_toml().as_bytes())
            .and_then(|()| std::fs::rename(&temporary, path));
        if written.is_err() {
            let _ = std::fs::remove_file(&temporary);
        }
        written.map_err(write_error)
    }
}

#[cfg(unix)]
fn create_private_dir(dir: &Path) -> io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
}

#[cfg(not(unix))]
fn create_private_dir(dir: &Path) -> io::Result<()> {
    std::fs::create_dir_all(dir)
}

#[cfg(unix)]
fn write_private(path: &Path, contents: &[u8]) -> io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(contents)?;
    file.sync_all()
}

#[cfg(not(unix))]
fn write_private(path: &Path, contents: &[u8]) -> io::Result<()> {
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)?;
    file.write_all(contents)?;
    file.sync_all()
}

/// Why the settings cannot be had.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    /// The settings file exists but cannot be read.
    #[error("failed to read the settings file {}", path.display())]
    Read { path: PathBuf, source: io::Error },
    /// The settings file is not valid.
    #[error("failed to parse the settings file {}", path.display())]
    Parse {
        path: PathBuf,
        source: toml::de::Error,
    },
    /// The settings file could not be written.
    #[error("failed to write the settings file {}", path.display())]
    Write { path: PathBuf, source: io::Error },
    /// A settings file named on the command line or in the environment does not exist.
    #[error("the settings file {} does not exist (named by {named_by})", path.display())]
    Missing {
        path: PathBuf,
        named_by: &'static str,
    },
    /// Neither `XDG_CONFIG_HOME` nor `HOME` is set.
    #[error("cannot locate the settings file: set HOME or XDG_CONFIG_HOME, or pass --config FILE")]
    NoConfigDir,
    /// No server anywhere.
    #[error("no server: pass --server URL, set GOVCTL_SERVER, or run `govctl login`")]
    NoServer,
    /// A server URL that is not HTTPS.
    #[error("invalid server URL \"{0}\": the API is served over HTTPS only (https://HOST:PORT)")]
    NotHttps(String),
    /// No token anywhere.
    #[error("no token: pass --token, set GOVCTL_TOKEN, or run `govctl login`")]
    NoToken,
}

impl SettingsError {
    /// The exit code the error ends `govctl` with.
    pub fn exit(&self) -> Exit {
        match self {
            Self::Read { .. } | Self::Parse { .. } | Self::Write { .. } => Exit::Failure,
            Self::Missing { .. } | Self::NoConfigDir | Self::NoServer | Self::NotHttps(_) => {
                Exit::Usage
            }
            Self::NoToken => Exit::Auth,
        }
    }
}

/// Everything a command needs to know before it talks to the server.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Settings {
    /// The settings file (read if it exists; where `login` writes).
    pub config_path: PathBuf,
    /// URL of the controller's API.
    pub server: Option<String>,
    /// CA certificate file.
    pub ca: Option<PathBuf>,
    /// API token.
    pub token: Option<Secret>,
    /// Default namespace of the migration commands (from the settings file).
    pub namespace: Option<String>,
    /// Output format.
    pub output: OutputFormat,
}

impl Settings {
    /// Resolves the settings of one run: flags and environment (in `global`) over the settings
    /// file over defaults. `var` reads the environment (for the default file's location). A file
    /// named by `--config` must exist unless `may_be_missing` (for `login`, which creates it).
    pub fn resolve(
        global: &GlobalOptions,
        var: impl Fn(&str) -> Option<OsString>,
        may_be_missing: bool,
    ) -> Result<Self, SettingsError> {
        let (path, named) = match &global.config {
            Some(path) => (path.clone(), true),
            None => (
                default_config_path(var).ok_or(SettingsError::NoConfigDir)?,
                false,
            ),
        };
        let file = match ConfigFile::load(&path)? {
            Some(file) => file,
            None if named && !may_be_missing => {
                return Err(SettingsError::Missing {
                    path,
                    named_by: "--config or GOVCTL_CONFIG",
                });
            }
            None => ConfigFile::default(),
        };
        Ok(Self::merge(global, file, path))
    }

    /// Flags and environment over the file; a relative CA path in the file is taken relative to
    /// the file's directory.
    pub fn merge(global: &GlobalOptions, file: ConfigFile, config_path: PathBuf) -> Self {
        let file_ca = file.ca.map(|ca| match config_path.parent() {
            Some(dir) if ca.is_relative() => dir.join(ca),
            _ => ca,
        });
        Self {
            server: global.server.clone().or(file.server),
            ca: global.ca.clone().or(file_ca),
            token: global.token.clone().or(file.token),
            namespace: file.namespace,
            output: global.output,
            config_path,
        }
    }

    /// The server's URL, without a trailing slash; HTTPS only.
    pub fn server(&self) -> Result<&str, SettingsError> {
        let server = self.server.as_deref().ok_or(SettingsError::NoServer)?;
        check_server(server)
    }

    /// The token.
    pub fn token(&self) -> Result<&Secret, SettingsError> {
        self.token.as_ref().ok_or(SettingsError::NoToken)
    }
}

/// `server` without its trailing slash, if it is an `https://` URL with a host.
pub fn check_server(server: &str) -> Result<&str, SettingsError> {
    let trimmed = server.trim().trim_end_matches('/');
    match trimmed.strip_prefix("https://") {
        Some(rest) if !rest.is_empty() && !rest.contains(char::is_whitespace) => Ok(trimmed),
        _ => Err(SettingsError::NotHttps(server.to_owned())),
    }
}

/// `$XDG_CONFIG_HOME/govctl/config.toml`, or `$HOME/.config/govctl/config.toml` when
/// `XDG_CONFIG_HOME` is unset, empty or relative (as the XDG specification says).
pub fn default_config_path(var: impl Fn(&str) -> Option<OsString>) -> Option<PathBuf> {
    let non_empty = |name: &str| {
        var(name)
            .filter(|value| !value.is_empty())
            .map(PathBuf::from)
    };
    let config_dir = non_empty("XDG_CONFIG_HOME")
        .filter(|dir| dir.is_absolute())
        .or_else(|| non_empty("HOME").map(|home| home.join(".config")))?;
    Some(config_dir.join(CONFIG_FILE_UNDER_CONFIG_DIR))
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;
    use crate::cli::Cli;

    fn global(args: &[&str]) -> GlobalOptions {
        // `whoami` is a command with no arguments of its own; only the globals matter here.
        let mut all = vec!["govctl"];
        all.extend_from_slice(args);
        all.push("whoami");
        Cli::try_parse_from(all).expect("parse").global
    }

    fn file() -> ConfigFile {
        ConfigFile::parse(
            "server = \"https://file.example:8443\"\nca = \"ca.crt\"\ntoken = \"file-token\"\n",
        )
        .expect("parse")
    }

    fn no_env(_: &str) -> Option<OsString> {
        None
    }

    #[test]
    fn flags_and_environment_override_the_file() {
        // clap has merged flags and environment into `GlobalOptions` already; a value there wins.
        let settings = Settings::merge(
            &global(&["--server", "https://flag.example", "--token", "flag-token"]),
            file(),
            PathBuf::from("/etc/govctl/config.toml"),
        );
        assert_eq!(settings.server.as_deref(), Some("https://flag.example"));
        assert_eq!(
            settings.token.as_ref().map(Secret::expose),
            Some("flag-token")
        );
        // What the flags leave out comes from the file; its relative CA from the file's folder.
        assert_eq!(settings.ca, Some(PathBuf::from("/etc/govctl/ca.crt")));
    }

    #[test]
    fn the_file_fills_in_and_defaults_remain() {
        let settings = Settings::merge(&global(&[]), file(), PathBuf::from("/cfg/config.toml"));
        assert_eq!(
            settings.server.as_deref(),
            Some("https://file.example:8443")
        );
        assert_eq!(
            settings.token.as_ref().map(Secret::expose),
            Some("file-token")
        );
        assert_eq!(settings.output, OutputFormat::Table);

        let empty = Settings::merge(&global(&[]), ConfigFile::default(), PathBuf::from("c"));
        assert!(matches!(empty.server(), Err(SettingsError::NoServer)));
        assert!(matches!(empty.token(), Err(SettingsError::NoToken)));
        assert_eq!(empty.ca, None);
    }

    #[test]
    fn the_file_may_name_the_migration_namespace() {
        let file = ConfigFile::parse("server = \"https://a\"\nnamespace = \"finance-data\"\n")
            .expect("parse");
        let settings = Settings::merge(&global(&[]), file, PathBuf::from("c"));
        assert_eq!(settings.namespace.as_deref(), Some("finance-data"));
        assert_eq!(file_round_trip("finance-data"), "finance-data");
    }

    fn file_round_trip(namespace: &str) -> String {
        let file = ConfigFile {
            namespace: Some(namespace.to_owned()),
            ..ConfigFile::default()
        };
        ConfigFile::parse(&file.to_toml())
            .expect("parse")
            .namespace
            .unwrap_or_default()
    }

    #[test]
    fn an_absolute_ca_in_the_file_is_kept() {
        let file = ConfigFile {
            ca: Some(PathBuf::from("/data/ca.crt")),
            ..ConfigFile::default()
        };
        let settings = Settings::merge(&global(&[]), file, PathBuf::from("/cfg/config.toml"));
        assert_eq!(settings.ca, Some(PathBuf::from("/data/ca.crt")));
    }

    #[test]
    fn the_default_file_follows_xdg() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                pairs
                    .iter()
                    .find(|(key, _)| *key == name)
                    .map(|(_, value)| OsString::from(value))
            }
        };
        assert_eq!(
            default_config_path(env(&[("XDG_CONFIG_HOME", "/x"), ("HOME", "/home/a")])),
            Some(PathBuf::from("/x/govctl/config.toml"))
        );
        assert_eq!(
            default_config_path(env(&[("HOME", "/home/a")])),
            Some(PathBuf::from("/home/a/.config/govctl/config.toml"))
        );
        assert_eq!(
            default_config_path(env(&[("XDG_CONFIG_HOME", "relative"), ("HOME", "/home/a")])),
            Some(PathBuf::from("/home/a/.config/govctl/config.toml"))
        );
        assert_eq!(default_config_path(no_env), None);
    }

    #[test]
    fn a_named_file_must_exist_except_for_login() {
        let dir = tempfile::tempdir().expect("tempdir");
        let missing = dir.path().join("none.toml");
        let options = global(&["--config", missing.to_str().expect("utf-8")]);
        assert!(matches!(
            Settings::resolve(&options, no_env, false),
            Err(SettingsError::Missing { .. })
        ));
        let settings = Settings::resolve(&options, no_env, true).expect("login may create it");
        assert_eq!(settings.config_path, missing);
    }

    #[test]
    fn resolve_reads_the_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("govctl.toml");
        file().save(&path).expect("save");
        let settings = Settings::resolve(
            &global(&["--config", path.to_str().expect("utf-8")]),
            no_env,
            false,
        )
        .expect("resolve");
        assert_eq!(
            settings.server().expect("server"),
            "https://file.example:8443"
        );
        assert_eq!(settings.ca, Some(dir.path().join("ca.crt")));
    }

    #[test]
    fn the_file_round_trips_in_the_local_mode_format() {
        let file = ConfigFile {
            server: Some("https://127.0.0.1:8443".to_owned()),
            ca: Some(PathBuf::from("/path/ca.crt")),
            token: Some("s3cr3t".parse().expect("token")),
            namespace: None,
        };
        let text = file.to_toml();
        assert_eq!(
            text,
            "server = \"https://127.0.0.1:8443\"\nca = \"/path/ca.crt\"\ntoken = \"s3cr3t\"\n"
        );
        assert_eq!(ConfigFile::parse(&text).expect("parse"), file);
        let error = ConfigFile::parse("sever = \"https://x\"").expect_err("unknown key");
        assert!(error.to_string().contains("sever"), "{error}");
    }

    #[cfg(unix)]
    #[test]
    fn the_file_is_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("new/govctl/config.toml");
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(&path, "server = \"https://old\"\n").expect("old file");
        file().save(&path).expect("save");
        let mode = std::fs::metadata(&path).expect("stat").permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        assert_eq!(ConfigFile::load(&path).expect("load"), Some(file()));
        assert_eq!(
            std::fs::read_dir(path.parent().expect("dir"))
                .expect("ls")
                .count(),
            1
        );
    }

    #[test]
    fn only_https_servers() {
        assert_eq!(
            check_server("https://a:8443/").expect("https"),
            "https://a:8443"
        );
        for bad in ["http://a:8443", "a:8443", "https://", "ftp://a"] {
            assert!(
                matches!(check_server(bad), Err(SettingsError::NotHttps(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn tokens_never_show_in_debug_output() {
        let token: Secret = "very-secret".parse().expect("token");
        let settings = Settings::merge(&global(&[]), ConfigFile::default(), PathBuf::new());
        let settings = Settings {
            token: Some(token),
            ..settings
        };
        assert!(!format!("{settings:?}").contains("very-secret"));
        assert!(!format!("{:?}", global(&["--token", "very-secret"])).contains("very-secret"));
    }
}
