//! Database URLs: which backend a URL selects, and the password-free form used in messages.

use std::fmt;

/// The SQL backend a database URL selects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Backend {
    /// `sqlite://path/to/file.db` (created on first run) or `sqlite::memory:`.
    Sqlite,
    /// `postgres://user:pass@host:port/db` (also `postgresql://`).
    Postgres,
}

impl Backend {
    /// The backend `url` selects, or `None` for any other scheme.
    pub fn from_url(url: &str) -> Option<Self> {
        if url.starts_with("sqlite:") {
            Some(Self::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Some(Self::Postgres)
        } else {
            None
        }
    }

    /// A short lowercase name, usable as a metric label.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Sqlite => "sqlite",
            Self::Postgres => "postgres",
        }
    }
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

const MASK: &str = "***";

/// `url` with any password replaced by `***`: the one in the user-info part
/// (`postgres://user:***@host/db`) and any `password`-like query or key-value parameter.
/// The user name, host and path are kept; SQLite URLs are returned unchanged.
pub fn redacted_url(url: &str) -> String {
    if url.starts_with("sqlite:") {
        return url.to_owned();
    }
    let (base, query) = match url.find(['?', '#']) {
        Some(i) => url.split_at(i),
        None => (url, ""),
    };
    let mut out = match base.find("://") {
        Some(scheme_end) => {
            let authority_start = scheme_end + 3;
            redact_user_info(&base[..authority_start], &base[authority_start..])
        }
        // Not a URL (perhaps a `key=value` connection string): mask password parameters.
        None => redact_parameters(base, ' '),
    };
    out.push_str(&redact_parameters(query, '&'));
    out
}

/// `prefix` + `rest` with the password of `user:password@` in `rest` masked. The last `@`
/// before the query ends the user info, so a password may itself contain `@` or `/`.
fn redact_user_info(prefix: &str, rest: &str) -> String {
    let Some(at) = rest.rfind('@') else {
        return format!("{prefix}{rest}");
    };
    let user_info = &rest[..at];
    match user_info.find(':') {
        Some(colon) => format!("{prefix}{}:{MASK}{}", &user_info[..colon], &rest[at..]),
        None => format!("{prefix}{rest}"),
    }
}

/// `text` with the value of every `…password=value` parameter (separated by `separator`) masked.
fn redact_parameters(text: &str, separator: char) -> String {
    let mut out = String::with_capacity(text.len());
    for (i, parameter) in text.split(separator).enumerate() {
        if i > 0 {
            out.push(separator);
        }
        match parameter.split_once('=') {
            Some((key, _)) if key.to_ascii_lowercase().contains("password") => {
                out.push_str(key);
                out.push('=');
                out.push_str(MASK);
            }
            _ => out.push_str(parameter),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::{Backend, redacted_url};

    #[test]
    fn password_is_removed_and_user_kept() {
        assert_eq!(
            redacted_url("postgres://postgres:hunter2@127.0.0.1:5432/db"),
            "postgres://postgres:***@127.0.0.1:5432/db"
        );
        assert_eq!(
            redacted_url("postgresql://app:s3cr%40t@db.example.org/govcloud?sslmode=require"),
            "postgresql://app:***@db.example.org/govcloud?sslmode=require"
        );
    }

    #[test]
    fn password_with_at_and_slash_is_removed_whole() {
        let redacted = redacted_url("postgres://app:pa/ss@word@host:5432/db");
        assert_eq!(redacted, "postgres://app:***@host:5432/db");
    }

    #[test]
    fn password_query_parameters_are_removed() {
        assert_eq!(
            redacted_url("postgres://app@host/db?password=hunter2&sslmode=disable"),
            "postgres://app@host/db?password=***&sslmode=disable"
        );
        assert_eq!(
            redacted_url("host=db user=app password=hunter2 dbname=x"),
            "host=db user=app password=*** dbname=x"
        );
    }

    #[test]
    fn urls_without_password_are_untouched() {
        for url in [
            "postgres://postgres@127.0.0.1:5432/db",
            "postgres://127.0.0.1/db",
            "sqlite://var/lib/govcloud/state.db",
            "sqlite:///var/lib/govcloud/user:name@host.db",
            "sqlite::memory:",
        ] {
            assert_eq!(redacted_url(url), url);
        }
    }

    #[test]
    fn backend_follows_the_scheme() {
        assert_eq!(Backend::from_url("sqlite://a.db"), Some(Backend::Sqlite));
        assert_eq!(Backend::from_url("sqlite::memory:"), Some(Backend::Sqlite));
        assert_eq!(
            Backend::from_url("postgres://h/db"),
            Some(Backend::Postgres)
        );
        assert_eq!(
            Backend::from_url("postgresql://h/db"),
            Some(Backend::Postgres)
        );
        assert_eq!(Backend::from_url("mysql://h/db"), None);
        assert_eq!(Backend::from_url("state.db"), None);
        assert_eq!(Backend::Postgres.to_string(), "postgres");
    }
}
