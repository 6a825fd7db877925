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

impl ConfigError {
    /// An error of the document as a whole, or of a top-level field.
    pub fn document(path: &str, kind: ErrorKind, message: impl Into<String>) -> ConfigError {
        ConfigError {
            service: None,
            path: path.to_owned(),
            kind,
            message: message.into(),
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
        ConfigError {
            service: Some(ServiceRef {
                index,
                name: name.map(str::to_owned),
            }),
            path: path.to_owned(),
            kind,
            message: message.into(),
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
