//! Parsing, and where a refused document is wrong: serde stops at the first
//! error and names neither the service nor the field, so a document that
//! fails the typed parse is read again in parts to say which service and
//! which field each error is in, and to keep the services that do parse for
//! the rules they may break.

use std::cell::Cell;

use serde::{Deserialize, Deserializer};
use serde_json::value::RawValue;

use super::objects::from_str;
use super::suggest::suggest;
use crate::config::{Document, ServiceSpec};
use crate::error::{ConfigError, ConfigErrors, ErrorKind};

/// A document read in parts: its own fields and each service, parsed or
/// not, so that a service that does not parse hides no other's errors.
pub(super) struct Parts<'a> {
    pub(super) document: Document<ServiceSlot<'a>>,
    /// Why each refused service was, in service order.
    pub(super) errors: Vec<ConfigError>,
}

/// A service as a read of the document leaves it: parsed, or its text (in
/// the read that locates a refused document's errors; after it, a service
/// that did not parse on its own). Boxed: serde grows the list by doubling,
/// and a list of whole services would hold up to twice their room while it
/// reads.
pub(super) enum ServiceSlot<'a> {
    Parsed(Box<ServiceSpec>),
    Unparsed(&'a RawValue),
}

impl ServiceSlot<'_> {
    /// The service, if it parsed.
    pub(super) fn spec(&self) -> Option<&ServiceSpec> {
        match self {
            ServiceSlot::Parsed(spec) => Some(spec),
            ServiceSlot::Unparsed(_) => None,
        }
    }
}

thread_local! {
    /// Whether a [`ServiceSlot`] is read parsed, set by [`reading`]. serde's
    /// derived reader of [`Document`] takes no argument, so the choice
    /// travels here: one reader then serves both reads of the document. A
    /// second reader (`Document<ServiceSpec>` beside `Document<&RawValue>`)
    /// added 4.9 KB to the Wasm module, over its size limit; this adds 1.3.
    static PARSED: Cell<bool> = const { Cell::new(false) };
}

impl<'de> Deserialize<'de> for ServiceSlot<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        // Parsed where the flag cannot be read (a thread that is ending):
        // the document is then accepted or refused as it should be, only
        // `locate` names the errors.
        if PARSED.try_with(Cell::get).unwrap_or(true) {
            Box::<ServiceSpec>::deserialize(deserializer).map(ServiceSlot::Parsed)
        } else {
            <&RawValue>::deserialize(deserializer).map(ServiceSlot::Unparsed)
        }
    }
}

/// Runs `read` with every [`ServiceSlot`] read parsed, or unparsed.
fn reading<T>(parsed: bool, read: impl FnOnce() -> T) -> T {
    let _ = PARSED.try_with(|flag| flag.set(parsed));
    let value = read();
    let _ = PARSED.try_with(|flag| flag.set(false));
    value
}

/// One service's text, parsed. Through [`ServiceSlot`], so that the module
/// holds one reader of a service, not one per place it is read from.
fn parse_service(text: &str) -> serde_json::Result<ServiceSlot<'_>> {
    reading(true, || from_str::<ServiceSlot>(text))
}

/// Parses a configuration document. Errors name the service and the traffic
/// target they are in where the document is valid JSON.
pub fn parse(json: &[u8]) -> Result<Document, ConfigErrors> {
    let mut parts = read(json)?;
    if !parts.errors.is_empty() {
        return Err(ConfigErrors(parts.errors));
    }
    let services = std::mem::take(&mut parts.document.services)
        .into_iter()
        .filter_map(|slot| match slot {
            ServiceSlot::Parsed(spec) => Some(*spec),
            ServiceSlot::Unparsed(_) => None,
        })
        .collect();
    Ok(parts.document.with_services(services))
}

/// Reads the document in one typed pass. A document that pass refuses is
/// read again with each service left unparsed, then each service on its
/// own: a bad service is reported with its index and name, and the good
/// ones are kept. `Err` when the document is not UTF-8 or its own fields
/// do not parse.
pub(super) fn read(json: &[u8]) -> Result<Parts<'_>, ConfigErrors> {
    if json.iter().all(u8::is_ascii_whitespace) {
        return Err(ConfigErrors::one(ConfigError::document(
            "",
            ErrorKind::Syntax,
            "configuration is empty: expected a JSON object with a \"services\" list",
        )));
    }
    let json = std::str::from_utf8(json).map_err(|e| not_utf8(json, e.valid_up_to()))?;
    // One place reads the document, so that the module holds it once.
    let mut parsed = true;
    let mut document = loop {
        match reading(parsed, || from_str::<Document<ServiceSlot>>(json)) {
            Ok(document) => break document,
            Err(_) if parsed => parsed = false,
            Err(error) => return Err(locate(json, error)),
        }
    };
    let mut errors = Vec::new();
    for (index, slot) in document.services.iter_mut().enumerate() {
        if let ServiceSlot::Unparsed(service) = *slot {
            let service = service.get();
            match parse_service(service) {
                Ok(parsed) => *slot = parsed,
                Err(error) => errors.push(service_error(index, service, &error)),
            }
        }
    }
    Ok(Parts { document, errors })
}

/// The `services` list of a document, left unparsed; every other field is
/// skipped. Reading parts as [`RawValue`]s instead of a `serde_json::Value`
/// tree keeps a second instance of every `Deserialize` impl out of the module
/// (37 KB of Wasm).
#[derive(Deserialize)]
struct DocumentParts<'a> {
    #[serde(borrow, default)]
    services: Option<&'a RawValue>,
}

#[derive(Deserialize)]
struct ServiceParts<'a> {
    #[serde(borrow, default)]
    name: Option<&'a RawValue>,
}

/// The elements of a JSON array, unparsed; `None` if it is not an array.
fn elements(raw: Option<&RawValue>) -> Option<Vec<&RawValue>> {
    from_str(raw?.get()).ok()
}

/// ` at line {line} column {column}`, as serde_json ends a message. One
/// place formats it: each place that formats costs the module room.
fn at_line(line: usize, column: usize) -> String {
    format!(" at line {line} column {column}")
}

/// A serde error's message without its position, and the byte offset in
/// `text` that the position points at (the last byte serde read); `None`
/// when serde read none, an error about the whole text's value.
fn split_position(text: &str, error: &serde_json::Error) -> (String, Option<usize>) {
    let message = error.to_string();
    let suffix = at_line(error.line(), error.column());
    let mut message = message
        .strip_suffix(&suffix)
        .map_or(message.clone(), str::to_owned);
    // serde names the Rust type where a JSON object was expected.
    if let Some(start) = message.find("expected struct ") {
        message.truncate(start);
        message.push_str("expected an object");
    }
    let message = suggest(&message).unwrap_or(message);
    let line_start: usize = text
        .split_inclusive('\n')
        .take(error.line().saturating_sub(1))
        .map(str::len)
        .sum();
    (message, (line_start + error.column()).checked_sub(1))
}

/// What kind of mistake a serde message describes.
fn kind_of(message: &str) -> ErrorKind {
    if message.starts_with("unknown field") {
        ErrorKind::UnknownField
    } else if message.starts_with("missing field") {
        ErrorKind::MissingField
    } else if message.starts_with("duplicate field") {
        ErrorKind::DuplicateField
    } else {
        ErrorKind::WrongType
    }
}

/// Where `inner` starts within `outer`, if it is a part of it.
fn offset_within(outer: &str, inner: &str) -> Option<usize> {
    let offset = (inner.as_ptr() as usize).checked_sub(outer.as_ptr() as usize)?;
    (offset + inner.len() <= outer.len()).then_some(offset)
}

/// Deep enough for every field of the document's schema; bounds the walk
/// over a hostile, deeply nested document.
const MAX_PATH_DEPTH: usize = 8;

/// The path (`traffic[1].percent`) of the innermost value of the JSON `text`
/// that holds byte `offset`: the field a serde error at that offset is about.
/// Empty when the offset is in `text`'s own value (a missing or unknown field
/// of an object is reported at the object).
fn path_at(text: &str, offset: usize) -> String {
    let mut path = String::new();
    let mut value = text;
    let mut offset = offset;
    for _ in 0..MAX_PATH_DEPTH {
        let children: Vec<(String, &RawValue)> = match value.as_bytes().first() {
            Some(b'{') => from_str::<std::collections::BTreeMap<String, &RawValue>>(value)
                .map(|fields| fields.into_iter().collect())
                .unwrap_or_default(),
            Some(b'[') => from_str::<Vec<&RawValue>>(value)
                .map(|items| {
                    items
                        .into_iter()
                        .enumerate()
                        .map(|(i, item)| (format!("[{i}]"), item))
                        .collect()
                })
                .unwrap_or_default(),
            _ => Vec::new(),
        };
        let Some((key, child, start)) = children.into_iter().find_map(|(key, child)| {
            let start = offset_within(value, child.get())?;
            // serde reports a value of the wrong kind of container at the
            // byte before it (it peeked at the bracket without reading it).
            (start <= offset + 1 && offset < start + child.get().len())
                .then_some((key, child, start))
        }) else {
            break;
        };
        if !(path.is_empty() || key.starts_with('[')) {
            path.push('.');
        }
        path.push_str(&key);
        let Some(inner) = offset.checked_sub(start) else {
            break;
        };
        value = child.get();
        offset = inner;
    }
    path
}

/// `path: message`, or the message alone for an empty path.
fn at_path(path: &str, message: String) -> String {
    if path.is_empty() {
        message
    } else {
        format!("{path}: {message}")
    }
}

/// One service's parse error, named by the service's index and, if it has a
/// readable one, its name.
fn service_error(index: usize, service: &str, error: &serde_json::Error) -> ConfigError {
    let (message, offset) = split_position(service, error);
    let name = from_str::<ServiceParts>(service)
        .ok()
        .and_then(|p| p.name)
        .and_then(|n| from_str::<String>(n.get()).ok());
    let path = offset
        .map(|offset| path_at(service, offset))
        .unwrap_or_default();
    ConfigError::service(
        index,
        name.as_deref(),
        &path,
        kind_of(&message),
        at_path(&path, message),
    )
}

/// Re-reads a document whose own fields failed to parse to say which field,
/// and which service, each error is in.
fn locate(json: &str, error: serde_json::Error) -> ConfigErrors {
    let document = match from_str::<&RawValue>(json) {
        Ok(document) => document,
        Err(syntax) => {
            return ConfigErrors::one(ConfigError::document(
                "",
                ErrorKind::Syntax,
                format!("configuration is not valid JSON: {syntax}"),
            ))
        }
    };
    let text = document.get();
    if !text.starts_with('{') {
        return ConfigErrors::one(ConfigError::document(
            "",
            ErrorKind::Syntax,
            format!(
                "configuration must be a JSON object with a \"services\" list, got {}",
                kind(text)
            ),
        ));
    }
    // The document's own fields are wrong: report them, and each service's
    // shape, but judge no service without the settings it depends on.
    let services = from_str::<DocumentParts>(text)
        .ok()
        .and_then(|parts| elements(parts.services));
    let mut errors: Vec<ConfigError> = services
        .into_iter()
        .flatten()
        .enumerate()
        .filter_map(|(index, service)| {
            let service = service.get();
            let error = parse_service(service).err()?;
            Some(service_error(index, service, &error))
        })
        .collect();
    // An error outside the services (the typed parse stops at the first).
    // `json` holds `text`, which the parse above borrowed from it.
    let (message, offset) = split_position(json, &error);
    let path = offset_within(json, text)
        .and_then(|start| offset?.checked_sub(start))
        .map(|offset| path_at(text, offset))
        .unwrap_or_default();
    if errors.is_empty() || !path.starts_with("services") {
        let kind = kind_of(&message);
        let message = if path.is_empty() {
            format!(
                "configuration: {message}{}",
                at_line(error.line(), error.column())
            )
        } else {
            format!("{path}: {message}")
        };
        errors.insert(0, ConfigError::document(&path, kind, message));
    }
    ConfigErrors(errors)
}

/// A document that is not UTF-8 (JSON's encoding), refused whole at its
/// first byte that is not, with the message serde_json gave it when it
/// still read bytes.
fn not_utf8(json: &[u8], valid: usize) -> ConfigErrors {
    let (mut line, mut column) = (1, 1);
    for &byte in json.get(..valid).unwrap_or_default() {
        (line, column) = if byte == b'\n' {
            (line + 1, 1)
        } else {
            (line, column + 1)
        };
    }
    ConfigErrors::one(ConfigError::document(
        "",
        ErrorKind::Syntax,
        format!(
            "configuration is not valid JSON: invalid unicode code point{}",
            at_line(line, column)
        ),
    ))
}

/// What a JSON value is, from its first character.
fn kind(json: &str) -> &'static str {
    match json.bytes().next() {
        Some(b'n') => "null",
        Some(b't' | b'f') => "a boolean",
        Some(b'"') => "a string",
        Some(b'[') => "an array",
        Some(b'{') => "an object",
        _ => "a number",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"{"name": "web", "namespace": "ns",
        "traffic": [{"revisionName": "web-1", "percent": 100}]}"#;

    fn flag() -> bool {
        PARSED.with(Cell::get)
    }

    #[test]
    fn a_document_that_parses_has_every_service_parsed() {
        let json = format!(r#"{{"services": [{GOOD}, {GOOD}]}}"#);
        let parts = read(json.as_bytes()).unwrap();
        assert!(parts.errors.is_empty());
        assert!(parts.document.services.iter().all(|s| s.spec().is_some()));
        assert!(!flag(), "the flag is reset after the read");
    }

    #[test]
    fn a_refused_service_is_read_again_without_hiding_the_others() {
        let bad = r#"{"name": "api", "namespace": "ns", "traffic": [{"percent": "x"}]}"#;
        let json = format!(r#"{{"services": [{GOOD}, {bad}, {GOOD}]}}"#);
        let parts = read(json.as_bytes()).unwrap();
        let parsed: Vec<bool> = parts
            .document
            .services
            .iter()
            .map(|s| s.spec().is_some())
            .collect();
        assert_eq!(parsed, [true, false, true]);
        assert_eq!(parts.errors.len(), 1);
        let error = parts.errors[0].to_string();
        assert!(error.contains("services[1] (api)"), "{error}");
        assert!(error.contains("traffic[0].percent"), "{error}");
        assert!(!flag());
    }

    #[test]
    fn a_document_that_is_not_utf8_is_refused_at_its_first_such_byte() {
        // As serde_json answered when it read bytes: the line and column
        // of the first byte that is not UTF-8, in a string or not.
        for (json, at) in [
            (
                &b"{\"services\": [\n{\"name\": \"a\xff\"}]}"[..],
                "line 2 column 12",
            ),
            (
                b"{\"domain\": \"\xe2\x82\", \"services\": []}",
                "line 1 column 13",
            ),
            (b"{\"services\": [], \"x\xc3\": 1}", "line 1 column 20"),
            (b"{\"services\": []}\n\xff", "line 2 column 1"),
        ] {
            let errors = read(json).err().unwrap().to_string();
            assert_eq!(
                errors,
                format!("configuration is not valid JSON: invalid unicode code point at {at}")
            );
        }
        assert!(!flag());
    }

    #[test]
    fn a_document_whose_own_fields_are_wrong_is_refused_whole() {
        let json = format!(r#"{{"domian": "example.com", "services": [{GOOD}]}}"#);
        let errors = read(json.as_bytes()).err().unwrap();
        assert!(errors.to_string().contains("domian"), "{errors}");
        assert!(!flag());
    }
}
