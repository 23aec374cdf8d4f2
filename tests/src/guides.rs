//! The commands a user guide shows: the `$ `-prefixed lines of its ```` ```console ```` blocks,
//! in order, which the guides' tests run.

/// The `$ ` commands of `guide`'s console blocks, in order.
pub fn console_commands(guide: &str) -> Vec<String> {
    let mut in_console = false;
    let mut found = Vec::new();
    for line in guide.lines() {
        if line.starts_with("```") {
            in_console = line.trim() == "```console";
            continue;
        }
        if let Some(command) = line.strip_prefix("$ ").filter(|_| in_console) {
            found.push(command.to_owned());
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_dollar_lines_of_console_blocks_count() {
        let guide = "text\n$ not a command\n```console\n$ kubectl get tenants\noutput\n```\n\
                     ```sh\n$ not this either\n```\n```console\n$ govctl whoami\n```\n";
        assert_eq!(
            console_commands(guide),
            ["kubectl get tenants", "govctl whoami"]
        );
    }
}
