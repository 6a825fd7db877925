//! Reading the commands' input files, with errors that name the file.

use std::fs;
use std::io::{self, Read};
use std::path::Path;

use knative_traffic::config::Document;
use knative_traffic::{compile, RouteTable};

use crate::source::{self, Located};

/// A file's name as messages show it, and its bytes.
pub struct Input {
    pub name: String,
    pub bytes: Vec<u8>,
}

/// Reads `path`, or standard input for `-`. The error is one line naming the
/// file and the reason, e.g. `config.json: cannot read: No such file or
/// directory (os error 2)`.
pub fn read(path: &Path) -> Result<Input, String> {
    let is_stdin = path.as_os_str() == "-";
    let name = if is_stdin {
        "<stdin>".to_owned()
    } else {
        path.display().to_string()
    };
    let bytes = if is_stdin {
        let mut bytes = Vec::new();
        io::stdin().read_to_end(&mut bytes).map(|_| bytes)
    } else {
        fs::read(path)
    };
    match bytes {
        Ok(bytes) => Ok(Input { name, bytes }),
        Err(e) => Err(format!("{name}: cannot read: {e}")),
    }
}

/// Reads a filter configuration, wherever in the file it is (see
/// [`crate::source`]), and compiles it with the filter's own code. Errors are
/// lines naming the file, then the filter's own message, e.g. `config.json:
/// services[0] (web): traffic percents sum to 90, want 100`.
pub fn read_configuration(path: &Path) -> Result<(Input, RouteTable), Vec<String>> {
    let (located, table) = read_located(path)?;
    Ok((located.input, table))
}

/// [`read_configuration`], keeping where the configuration was found, for
/// the commands that write it back.
pub fn read_located(path: &Path) -> Result<(Located, RouteTable), Vec<String>> {
    let input = read(path).map_err(|e| vec![e])?;
    let located = source::locate(input).map_err(|e| vec![e])?;
    match compile(&located.json) {
        Ok(table) => Ok((located, table)),
        Err(errors) => Err(errors
            .0
            .iter()
            .map(|e| format!("{}: {e}", located.input.name))
            .collect()),
    }
}

/// Reads a filter configuration as [`read_configuration`] does, and also
/// returns it parsed, for commands that show what it says (its hosts, its
/// rules) as well as what it does.
pub fn read_document(path: &Path) -> Result<(Input, Document, RouteTable), Vec<String>> {
    let (located, table) = read_located(path)?;
    let name = located.input.name.clone();
    let document = knative_traffic::compile::parse(&located.json).map_err(|e| {
        e.0.iter()
            .map(|e| format!("{name}: {e}"))
            .collect::<Vec<_>>()
    })?;
    Ok((located.input, document, table))
}
