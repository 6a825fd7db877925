//! Configuration errors, worded for the operator who reads them in Envoy's log,
//! and typed for the tools that act on them.

use std::fmt;

/// One thing wrong with a configuration, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// The service the error is in; `None` for the document as a whole.
    pub service: Option<ServiceRef>,
    /// The field within the service (or the document) the error is about,
    /// as JSON paths are written: `traffic[1].percent`, `rollout.start`;
    /// empty for the service or the document itself.
    pub path: String,
    pub kind: ErrorKind,
    /// The sentence shown after the service: it names its field itself.
    pub message: String,
}

/// A service by its place in `services`, and its name if it had a readable
/// one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceRef {
    pub index: usize,
    pub name: Option<String>,
}

/// What kind of mistake an error is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// Not a JSON object: empty, not JSON, or another kind of value.
    Syntax,
    /// A field the schema does not have.
    UnknownField,
    /// A required field that is absent.
    MissingField,
    /// A field given twice.
    DuplicateField,
    /// A value of the wrong JSON type, or out of its type's range.
    WrongType,
    /// A value of the right type that breaks a rule (a name that is no DNS
    /// label, percents that do not sum to 100, a malformed duration).
    InvalidValue,
    /// Two parts that exclude each other: fields that cannot be set
    /// together, a tag or host claimed twice.
    Conflict,
    /// A name of something the configuration does not have (a tag outside
    /// `traffic`, a cluster override of an unknown revision).
    UnknownReference,
}

/// The most characters of a value an error quotes: a hostile or mistaken
/// configuration with a 10 MB string must not write 10 MB lines into the
/// proxy's log.
pub const QUOTED_CHARS: usize = 100;

/// `text` with every quoted part (`"…"`, as `{:?}` writes values, and
/// `` `…` ``, as serde writes names) of more than [`QUOTED_CHARS`]
/// characters cut to that many, followed by its length.
pub fn bound_quotes(text: &str) -> String {
    let mut out = String::with_capacity(text.len().min(4 * QUOTED_CHARS));
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        out.push(c);
        if c != '"' && c != '`' {
            continue;
        }
        // A quoted part: up to the closing mark, over `\"` escapes.
        let close = c;
        let (mut count, mut closed) = (0usize, false);
        let mut escaped = false;
        for inner in chars.by_ref() {
            if inner == close && !escaped {
                closed = true;
                break;
            }
            escaped = close == '"' && inner == '\\' && !escaped;
            if count < QUOTED_CHARS || (escaped && count == QUOTED_CHARS) {
                out.push(inner);
            }
            count += 1;
        }
        if count > QUOTED_CHARS {
            // Never end inside an escape.
            if out.ends_with('\\') {
                out.pop();
            }
            out.push('…');
        }
        if closed {
            out.push(close);
        }
        if count > QUOTED_CHARS {
            out.push_str(&format!(" ({count} characters)"));
        }
    }
    out
}

impl ConfigError {
    /// An error of the document as a whole, or of a top-level field.
    pub fn document(path: &str, kind: ErrorKind, message: impl Into<String>) -> ConfigError {
        ConfigError {
            service: None,
            path: bound_quotes(path),
            kind,
            message: bound_quotes(&message.into()),
        }
    }

    /// An error in service `index` (named `name`, if it has a readable name).
    pub fn service(
        index: usize,
        name: Option<&str>,
        path: &str,
        kind: ErrorKind,
        message: impl Into<String>,
    ) -> ConfigError {
        // The name is shown unquoted, in parentheses: quoting it bounds it.
        let name = name.map(|n| {
            let quoted = bound_quotes(&format!("`{n}`"));
            quoted
                .strip_prefix('`')
                .map(|q| q.replacen('`', "", 1))
                .unwrap_or(quoted)
        });
        ConfigError {
            service: Some(ServiceRef { index, name }),
            path: bound_quotes(path),
            kind,
            message: bound_quotes(&message.into()),
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.service {
            None => write!(f, "{}", self.message),
            Some(ServiceRef {
                index,
                name: Some(name),
            }) => write!(f, "services[{index}] ({name}): {}", self.message),
            Some(ServiceRef { index, name: None }) => {
                write!(f, "services[{index}]: {}", self.message)
            }
        }
    }
}

/// Everything wrong with a configuration. A configuration with any error is
/// refused as a whole, so all of them are reported at once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigErrors(pub Vec<ConfigError>);

impl ConfigErrors {
    pub fn one(error: ConfigError) -> ConfigErrors {
        ConfigErrors(vec![error])
    }
}

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, error) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{error}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigErrors {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_quoted_parts_are_cut() {
        let long = "y".repeat(250);
        assert_eq!(
            bound_quotes(&format!("name: {long:?} is bad, `{long}` too")),
            format!(
                "name: \"{}…\" (250 characters) is bad, `{}…` (250 characters) too",
                "y".repeat(100),
                "y".repeat(100)
            )
        );
        let short = "tag \"v1\" and `x`";
        assert_eq!(bound_quotes(short), short);
        // An escape at the cut is not split.
        let escaped = format!("{:?}", format!("{}\"{}", "a".repeat(99), "b".repeat(50)));
        let cut = bound_quotes(&escaped);
        assert!(
            cut.starts_with(&format!("\"{}…\"", "a".repeat(99))),
            "{cut}"
        );
        // An unclosed quote is cut too.
        assert_eq!(
            bound_quotes(&format!("\"{long}")),
            format!("\"{}… (250 characters)", "y".repeat(100))
        );
    }
}
