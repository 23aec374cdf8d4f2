//! Renders an error and its chain of causes as one line, once: `failed to X: because Y: because Z`.
//!
//! Some libraries repeat their source inside their own message (sqlx's I/O errors do); a cause
//! whose text the line already holds is not repeated. Others draw a snippet of the input under
//! their message (YAML parsers do); only each message's first line is kept.

use std::error::Error;

/// The error and each of its causes, separated by `: `, without repeating any text.
pub fn error_chain(error: &(dyn Error + 'static)) -> String {
    let mut line = first_line(error);
    let mut cause = error.source();
    while let Some(current) = cause {
        let text = first_line(current);
        if !line.contains(&text) {
            line.push_str(": ");
            line.push_str(&text);
        }
        cause = current.source();
    }
    line
}

/// The first line of an error's message, without trailing blanks.
fn first_line(error: &dyn Error) -> String {
    let text = error.to_string();
    text.lines()
        .next()
        .unwrap_or_default()
        .trim_end()
        .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("failed to open database sqlite://x.db")]
    struct Outer(#[source] Middle);

    #[derive(Debug, thiserror::Error)]
    #[error("error communicating with database: {0}")]
    struct Middle(#[source] std::io::Error);

    #[test]
    fn each_cause_appears_once() {
        let io = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "connection refused");
        let error = Outer(Middle(io));
        assert_eq!(
            error_chain(&error),
            "failed to open database sqlite://x.db: error communicating with database: connection refused"
        );
    }

    #[test]
    fn snippets_drawn_under_a_message_are_left_out() {
        let io = std::io::Error::other("unclosed bracket '['\n --> <input>:1:11\n  |");
        let error = Outer(Middle(io));
        assert_eq!(
            error_chain(&error),
            "failed to open database sqlite://x.db: error communicating with database: \
             unclosed bracket '['"
        );
    }
}
