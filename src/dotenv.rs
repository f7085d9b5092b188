//! Setting one key in a `.env` file while keeping every other byte: other lines, comments,
//! order, and each line's ending (LF or CRLF).

/// The file after the update, and what changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Update {
    pub text: String,
    /// The value the key had before (the last assignment), if any.
    pub previous: Option<String>,
    pub changed: bool,
}

/// Splits `KEY=value  # comment` into (the part up to `=`, the value, the rest) when the line
/// assigns `key` (optionally after `export `).
fn assignment<'a>(line: &'a str, key: &str) -> Option<(&'a str, &'a str, &'a str)> {
    let body = line.trim_start();
    let after_export = body
        .strip_prefix("export ")
        .map(str::trim_start)
        .unwrap_or(body);
    let rest = after_export.strip_prefix(key)?;
    let eq = rest.trim_start().strip_prefix('=')?;
    let value_start = line.len() - eq.len();
    let value_len = eq.find(" #").unwrap_or(eq.len());
    let value_end = value_start + eq[..value_len].trim_end().len();
    Some((
        &line[..value_start],
        &line[value_start..value_end],
        &line[value_end..],
    ))
}

fn unquote(v: &str) -> &str {
    v.strip_prefix('"')
        .and_then(|s| s.strip_suffix('"'))
        .or_else(|| v.strip_prefix('\'').and_then(|s| s.strip_suffix('\'')))
        .unwrap_or(v)
}

/// Sets `key=value` in `existing`: every assignment of `key` gets the new value; if there is none,
/// one line is appended with the file's own line ending.
pub fn set(existing: &str, key: &str, value: &str) -> Update {
    let mut text = String::with_capacity(existing.len() + key.len() + value.len() + 2);
    let mut previous = None;
    let mut found = false;
    let mut crlf = 0usize;
    let mut lf = 0usize;
    for raw in existing.split_inclusive('\n') {
        let (line, ending) = if let Some(l) = raw.strip_suffix("\r\n") {
            crlf += 1;
            (l, "\r\n")
        } else if let Some(l) = raw.strip_suffix('\n') {
            lf += 1;
            (l, "\n")
        } else {
            (raw, "")
        };
        match assignment(line, key) {
            Some((head, old, tail)) => {
                found = true;
                previous = Some(unquote(old).to_string());
                text.push_str(head);
                text.push_str(value);
                text.push_str(tail);
            }
            None => text.push_str(line),
        }
        text.push_str(ending);
    }
    if !found {
        let ending = if crlf > lf { "\r\n" } else { "\n" };
        if !text.is_empty() && !text.ends_with('\n') {
            text.push_str(ending);
        }
        text.push_str(&format!("{key}={value}{ending}"));
    }
    let changed = text != existing;
    Update {
        text,
        previous,
        changed,
    }
}

#[cfg(test)]
mod tests {
    use super::set;

    #[test]
    fn replaces_only_the_value() {
        let before =
            "# hosts\r\nTZ=Europe/Paris\r\nexport PGID_DOCKER_SOCKET=998  # old\r\nOTHER=1";
        let u = set(before, "PGID_DOCKER_SOCKET", "999");
        assert_eq!(
            u.text,
            "# hosts\r\nTZ=Europe/Paris\r\nexport PGID_DOCKER_SOCKET=999  # old\r\nOTHER=1"
        );
        assert_eq!(u.previous.as_deref(), Some("998"));
        assert!(u.changed);
        assert!(!set(&u.text, "PGID_DOCKER_SOCKET", "999").changed);
    }

    #[test]
    fn appends_with_the_files_line_ending() {
        assert_eq!(set("", "K", "1").text, "K=1\n");
        assert_eq!(set("A=1\r\nB=2", "K", "1").text, "A=1\r\nB=2\r\nK=1\r\n");
        assert_eq!(set("A=1\n", "K", "1").text, "A=1\nK=1\n");
        // A longer key that merely starts with K is another key.
        assert_eq!(set("KEY=1\n", "K", "2").text, "KEY=1\nK=2\n");
        assert_eq!(set("K=\"7\"\n", "K", "7").previous.as_deref(), Some("7"));
    }
}
