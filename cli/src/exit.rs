//! Exit codes, and how an error ends the program: printed once with its causes (like ripgrep),
//! with the exit code of the first cause that has one; a closed output pipe is success.

use std::io::{self, Write};
use std::process::ExitCode;

use crate::client::ApiError;
use crate::settings::SettingsError;

/// `govctl`'s exit codes (see [`crate::cli::EXIT_CODES`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exit {
    /// 0: it worked.
    Success = 0,
    /// 1: anything not listed below.
    Failure = 1,
    /// 2: the command line or the settings are wrong.
    Usage = 2,
    /// 3: HTTP 401 or 403, or no token.
    Auth = 3,
    /// 4: HTTP 404 (also what the API answers for another tenant's objects).
    NotFound = 4,
    /// 5: HTTP 409.
    Conflict = 5,
    /// 6: HTTP 5xx, or the server cannot be reached.
    Server = 6,
}

impl Exit {
    /// The exit code for an HTTP error status.
    pub fn for_status(status: u16) -> Self {
        match status {
            401 | 403 => Self::Auth,
            404 => Self::NotFound,
            409 => Self::Conflict,
            500..=599 => Self::Server,
            _ => Self::Failure,
        }
    }

    /// The exit code an error ends the program with: that of its outermost cause that has
    /// one, [`Exit::Failure`] otherwise.
    pub fn of(error: &anyhow::Error) -> Self {
        error
            .chain()
            .find_map(|cause| {
                if let Some(error) = cause.downcast_ref::<ApiError>() {
                    Some(error.exit())
                } else if let Some(error) = cause.downcast_ref::<SettingsError>() {
                    Some(error.exit())
                } else if cause.is::<UsageError>() {
                    Some(Self::Usage)
                } else if is_broken_pipe(cause) {
                    Some(Self::Success)
                } else {
                    None
                }
            })
            .unwrap_or(Self::Failure)
    }
}

impl From<Exit> for ExitCode {
    fn from(exit: Exit) -> Self {
        // The discriminants are the codes, all below 256.
        Self::from(exit as u8)
    }
}

/// A command that cannot run as given (found after parsing, so clap cannot say it).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

fn is_broken_pipe(cause: &(dyn std::error::Error + 'static)) -> bool {
    cause
        .downcast_ref::<io::Error>()
        .is_some_and(|error| error.kind() == io::ErrorKind::BrokenPipe)
}

/// The error and its causes on one line, `error: what failed: why: why`.
pub fn message(error: &anyhow::Error) -> String {
    format!("error: {error:#}")
}

/// Ends the program for `error`: prints it on standard error (unless it is a closed output
/// pipe, which is success) and returns its exit code.
pub fn report(error: &anyhow::Error) -> ExitCode {
    let exit = Exit::of(error);
    if exit != Exit::Success {
        // Nothing more can be done if standard error is gone too.
        let _ = writeln!(io::stderr().lock(), "{}", message(error));
    }
    exit.into()
}

#[cfg(test)]
mod tests {
    use anyhow::Context;
    use govcloud_crds::api::Problem;

    use super::*;

    fn status(code: u16) -> anyhow::Error {
        let problem = Problem {
            kind: "about:blank".to_owned(),
            title: "Status".to_owned(),
            status: code,
            detail: "details".to_owned(),
            instance: None,
            field: None,
            errors: Vec::new(),
        };
        anyhow::Error::new(ApiError::Status {
            status: code,
            problem: Some(Box::new(problem)),
            body: String::new(),
        })
        .context("failed to do the thing")
    }

    #[test]
    fn http_statuses_map_to_documented_codes() {
        for (code, exit) in [
            (400, Exit::Failure),
            (401, Exit::Auth),
            (403, Exit::Auth),
            (404, Exit::NotFound),
            (409, Exit::Conflict),
            (422, Exit::Failure),
            (500, Exit::Server),
            (503, Exit::Server),
        ] {
            assert_eq!(Exit::of(&status(code)), exit, "{code}");
            assert_eq!(Exit::for_status(code), exit, "{code}");
        }
    }

    #[test]
    fn settings_usage_and_pipes() {
        let no_server = anyhow::Error::new(SettingsError::NoServer).context("failed to log in");
        assert_eq!(Exit::of(&no_server), Exit::Usage);
        assert_eq!(Exit::of(&SettingsError::NoToken.into()), Exit::Auth);
        assert_eq!(Exit::of(&UsageError("no".into()).into()), Exit::Usage);
        let pipe: Result<(), io::Error> = Err(io::ErrorKind::BrokenPipe.into());
        let pipe = pipe.context("failed to write").expect_err("error");
        assert_eq!(Exit::of(&pipe), Exit::Success);
        assert_eq!(Exit::of(&anyhow::anyhow!("other")), Exit::Failure);
        let unreachable = anyhow::Error::new(ApiError::Unreachable {
            server: "https://127.0.0.1:1".into(),
            reason: "connection refused".into(),
        });
        assert_eq!(Exit::of(&unreachable), Exit::Server);
    }

    #[test]
    fn the_message_carries_every_cause_once() {
        let message = message(&status(404));
        assert_eq!(
            message, "error: failed to do the thing: 404 Status: details",
            "{message}"
        );
        assert_eq!(ExitCode::from(Exit::NotFound), ExitCode::from(4));
    }
}
