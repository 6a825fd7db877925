//! Configuration errors, worded for the operator who reads them in Envoy's log.

use std::fmt;

/// One thing wrong with a configuration, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// `None` for the document as a whole, else the service's index and name
    /// (if it had a readable one).
    pub service: Option<(usize, Option<String>)>,
    pub message: String,
}

impl ConfigError {
    pub fn document(message: impl Into<String>) -> ConfigError {
        ConfigError {
            service: None,
            message: message.into(),
        }
    }

    pub fn service(index: usize, name: Option<&str>, message: impl Into<String>) -> ConfigError {
        ConfigError {
            service: Some((index, name.map(str::to_owned))),
            message: message.into(),
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.service {
            None => write!(f, "{}", self.message),
            Some((index, Some(name))) => write!(f, "services[{index}] ({name}): {}", self.message),
            Some((index, None)) => write!(f, "services[{index}]: {}", self.message),
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
