//! Where a filter configuration lives in a file, and writing a changed one
//! back there. Operators keep it in one of five places: a configuration file
//! (JSON, or YAML), the `configuration` string of the Wasm filter in an
//! Envoy config (a bootstrap such as `envoy/envoy.yaml`, or an ECDS resource
//! file such as `envoy/ecds/knative-traffic.yaml`), or an Istio WasmPlugin's
//! `pluginConfig`. Every command reads all of them; the edit commands write
//! the change into the same place, touching only the lines of the fields
//! they change.

use serde::Deserialize;
use serde_json::Value;

use crate::input::Input;
use crate::jsontext::{self, Step};
use crate::yamltext::{self, block_end, indent, is_blank, is_filler, Scope};

/// The Wasm filter's type in Envoy configs and ECDS resources.
const WASM_TYPE: &str = "type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm";

/// What kind of file a configuration was found in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Form {
    Json,
    Yaml,
    /// The Wasm filter's `configuration` in an Envoy config or an ECDS
    /// resource file.
    EnvoyConfig,
    WasmPlugin,
}

/// Where in the file's text a copy of the configuration is.
#[derive(Debug, Clone)]
enum Place {
    /// The whole file, JSON.
    WholeJson,
    /// The whole file, YAML.
    WholeYaml,
    /// A JSON string at `path` of a JSON file.
    JsonString(Vec<Step>),
    /// A YAML literal block scalar (`value: |`) after line `header`.
    BlockScalar { header: usize },
    /// A YAML block mapping after line `header` (`pluginConfig:`).
    Mapping { header: usize },
    /// A copy the tool cannot edit in place (a quoted YAML string); the
    /// reason.
    Fixed(&'static str),
}

/// A configuration found in a file.
pub struct Located {
    pub input: Input,
    pub form: Form,
    /// The configuration as the filter receives it (for a JSON file, the
    /// file's bytes as they are, so errors point into the file).
    pub json: Vec<u8>,
    /// The same, parsed.
    pub configuration: Value,
    places: Vec<Place>,
}

/// A YAML document, or the JSON file, as a JSON value.
fn yaml_documents(text: &str) -> Result<Vec<Value>, String> {
    let mut out = Vec::new();
    for document in serde_yaml::Deserializer::from_str(text) {
        let value = Value::deserialize(document).map_err(|e| format!("not valid YAML: {e}"))?;
        if !value.is_null() {
            out.push(value);
        }
    }
    Ok(out)
}

/// The Wasm filter configurations in `value`: the path to each
/// `configuration.value` string, and the string. Only the filter's own
/// (its root id starts with `knative-traffic`, or its configuration has
/// `services`), unless there is just one.
fn wasm_configurations(value: &Value) -> Vec<(Vec<Step>, String)> {
    fn walk(value: &Value, path: &mut Vec<Step>, out: &mut Vec<(Vec<Step>, String, bool)>) {
        match value {
            Value::Object(map) => {
                if map.get("@type").and_then(Value::as_str) == Some(WASM_TYPE) {
                    let config = map.get("config");
                    let text = config
                        .and_then(|c| c.get("configuration"))
                        .and_then(|c| c.get("value"))
                        .and_then(Value::as_str);
                    if let Some(text) = text {
                        let root_id = config
                            .and_then(|c| c.get("root_id"))
                            .and_then(Value::as_str)
                            .unwrap_or("");
                        let ours =
                            root_id.starts_with("knative-traffic") || text.contains("\"services\"");
                        let mut at = path.clone();
                        for key in ["config", "configuration", "value"] {
                            at.push(Step::Key(key.into()));
                        }
                        out.push((at, text.to_owned(), ours));
                    }
                }
                for (key, child) in map {
                    path.push(Step::Key(key.clone()));
                    walk(child, path, out);
                    path.pop();
                }
            }
            Value::Array(items) => {
                for (i, child) in items.iter().enumerate() {
                    path.push(Step::Index(i));
                    walk(child, path, out);
                    path.pop();
                }
            }
            _ => {}
        }
    }
    let mut found = Vec::new();
    walk(value, &mut Vec::new(), &mut found);
    if found.len() > 1 {
        found.retain(|(_, _, ours)| *ours);
    }
    found.into_iter().map(|(p, t, _)| (p, t)).collect()
}

/// The content of the literal block scalar after line `header`, without its
/// indentation, if line `header` starts one (`value: |`, `|-`, `|+`, `|2`).
fn block_scalar(lines: &[&str], header: usize) -> Option<String> {
    let line = lines.get(header)?;
    let (_, indicator) = line.split_once(": ")?;
    let indicator = indicator.split('#').next().unwrap_or("").trim();
    let rest = indicator.strip_prefix('|')?;
    if !rest.chars().all(|c| matches!(c, '-' | '+' | '0'..='9')) {
        return None;
    }
    let explicit = rest
        .chars()
        .find(char::is_ascii_digit)
        .and_then(|d| d.to_digit(10));
    let base = indent(line);
    let body = lines.get(header + 1..block_end(lines, header, is_blank)?)?;
    let width = match explicit {
        Some(d) => base + d as usize,
        None => body
            .iter()
            .find(|l| !l.trim().is_empty())
            .map(|l| indent(l))?,
    };
    Some(
        body.iter()
            .map(|l| l.get(width..).unwrap_or("").trim_end_matches(['\n', '\r']))
            .collect::<Vec<_>>()
            .join("\n"),
    )
}

/// Re-indents `content` as the literal block scalar after line `header`
/// was indented.
fn replace_block_scalar(text: &str, header: usize, content: &str) -> Result<String, String> {
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    let mut end = block_end(&lines, header, is_blank).ok_or("no header line")?;
    // Trailing blank lines are the YAML's, not the block's.
    while end > header + 1 && lines.get(end - 1).is_some_and(|l| l.trim().is_empty()) {
        end -= 1;
    }
    let width = lines
        .get(header + 1..end)
        .and_then(|body| body.iter().find(|l| !l.trim().is_empty()))
        .map(|l| indent(l))
        .ok_or("an empty block")?;
    let pad = " ".repeat(width);
    let mut out = String::with_capacity(text.len() + content.len());
    for line in lines.get(..=header).unwrap_or(&[]) {
        out.push_str(line);
    }
    for line in content.trim_end_matches('\n').lines() {
        if !line.is_empty() {
            out.push_str(&pad);
        }
        out.push_str(line);
        out.push('\n');
    }
    for line in lines.get(end..).unwrap_or(&[]) {
        out.push_str(line);
    }
    Ok(out)
}

/// The lines of `text` that start a block holding `configuration`: block
/// scalars whose content is it, as JSON, and mappings (`pluginConfig:`)
/// that are it.
fn text_places(text: &str, configuration: &Value, mapping_key: Option<&str>) -> Vec<Place> {
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    let mut places = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        if let Some(content) = block_scalar(&lines, i) {
            if serde_json::from_str::<Value>(&content).ok().as_ref() == Some(configuration) {
                places.push(Place::BlockScalar { header: i });
            }
        } else if let Some(key) = mapping_key {
            let t = line.trim();
            if t.strip_prefix(key)
                .and_then(|r| r.strip_prefix(':'))
                .is_some_and(|r| r.trim().is_empty() || r.trim().starts_with('#'))
            {
                let end = block_end(&lines, i, is_filler).unwrap_or(i + 1);
                let body: String = lines.get(i + 1..end).unwrap_or(&[]).concat();
                let parsed: Option<Value> = serde_yaml::from_str(&body).ok();
                if parsed.as_ref() == Some(configuration) {
                    places.push(Place::Mapping { header: i });
                }
            }
        }
    }
    places
}

/// Finds the configuration in a file of any of the forms.
pub fn locate(input: Input) -> Result<Located, String> {
    let name = input.name.clone();
    let text = std::str::from_utf8(&input.bytes)
        .map_err(|_| format!("{name}: not UTF-8 text"))?
        .to_owned();
    let none = || {
        format!(
            "{name}: no knative-traffic configuration found: expected a configuration (JSON or \
             YAML, with `services`), an Envoy config or ECDS resource with the Wasm filter's \
             `configuration`, or a WasmPlugin with a `pluginConfig`"
        )
    };
    // A JSON file: an Envoy config in JSON, or else the configuration
    // itself (whose errors the filter's compiler then names).
    if let Ok(value) = serde_json::from_str::<Value>(&text) {
        let found = if value.get("services").is_some() {
            Vec::new()
        } else {
            wasm_configurations(&value)
        };
        if let Some(located) = envoy_configuration(&input, found) {
            return located;
        }
        return Ok(Located {
            json: input.bytes.clone(),
            input,
            form: Form::Json,
            configuration: value,
            places: vec![Place::WholeJson],
        });
    }
    // What looks like JSON (or is empty) is the configuration, and the
    // filter's parser says where it is wrong: YAML would read broken JSON
    // as something else.
    let start = text.trim_start();
    if start.is_empty() || start.starts_with(['{', '[']) {
        return Ok(Located {
            json: input.bytes.clone(),
            configuration: Value::Null,
            input,
            form: Form::Json,
            places: vec![Place::WholeJson],
        });
    }
    let documents = yaml_documents(&text).map_err(|e| format!("{name}: {e}"))?;
    let found: Vec<(Vec<Step>, String)> = documents.iter().flat_map(wasm_configurations).collect();
    if let [single] = documents.as_slice() {
        if single.get("kind").is_none() && (single.get("services").is_some() || found.is_empty()) {
            let json = serde_json::to_vec(single).map_err(|e| e.to_string())?;
            return Ok(Located {
                json,
                configuration: single.clone(),
                input,
                form: Form::Yaml,
                places: vec![Place::WholeYaml],
            });
        }
    }
    let plugins: Vec<&Value> = documents
        .iter()
        .filter(|d| d.get("kind").and_then(Value::as_str) == Some("WasmPlugin"))
        .filter_map(|d| d.get("spec").and_then(|s| s.get("pluginConfig")))
        .collect();
    if let Some(first) = plugins.first() {
        if plugins.iter().any(|p| p != first) {
            return Err(format!(
                "{name}: {} WasmPlugins with different pluginConfigs; keep one per file",
                plugins.len()
            ));
        }
        let configuration = (*first).clone();
        let places = text_places(&text, &configuration, Some("pluginConfig"));
        let json = serde_json::to_vec(&configuration).map_err(|e| e.to_string())?;
        return Ok(Located {
            json,
            configuration,
            input,
            form: Form::WasmPlugin,
            places,
        });
    }
    envoy_configuration(&input, found).ok_or_else(none)?
}

/// The one configuration of the Wasm filters `found` in an Envoy config;
/// `None` if there is none.
fn envoy_configuration(
    input: &Input,
    found: Vec<(Vec<Step>, String)>,
) -> Option<Result<Located, String>> {
    let (_, first) = found.first()?;
    let first = first.clone();
    let name = &input.name;
    if found.iter().any(|(_, t)| *t != first) {
        return Some(Err(format!(
            "{name}: {} Wasm filters with different configurations; keep one per file",
            found.len()
        )));
    }
    let text = String::from_utf8_lossy(&input.bytes);
    let is_json = serde_json::from_str::<Value>(&text).is_ok();
    let configuration: Value = serde_json::from_str(&first).unwrap_or(Value::Null);
    let places = if is_json {
        found
            .into_iter()
            .map(|(p, _)| Place::JsonString(p))
            .collect()
    } else {
        let mut places = text_places(&text, &configuration, None);
        if places.is_empty() {
            places.push(Place::Fixed(
                "the configuration is a quoted YAML string; write it as a literal block \
                 (`value: |`) for the tool to edit it",
            ));
        }
        places
    };
    Some(Ok(Located {
        json: first.into_bytes(),
        configuration,
        input: Input {
            name: input.name.clone(),
            bytes: input.bytes.clone(),
        },
        form: Form::EnvoyConfig,
        places,
    }))
}

/// A change to one member of one service.
struct Change {
    service: usize,
    key: String,
    value: Option<Value>,
}

/// What differs between two configurations, member by member of their
/// services; `Err` for any other difference (the edit commands change
/// services' members only).
fn changes(old: &Value, new: &Value) -> Result<Vec<Change>, String> {
    let (Some(old_map), Some(new_map)) = (old.as_object(), new.as_object()) else {
        return Err("the configuration is not an object".into());
    };
    let others_equal = old_map
        .iter()
        .filter(|(k, _)| *k != "services")
        .all(|(k, v)| new_map.get(k) == Some(v))
        && new_map
            .keys()
            .all(|k| k == "services" || old_map.contains_key(k));
    let (Some(old_services), Some(new_services)) = (
        old.get("services").and_then(Value::as_array),
        new.get("services").and_then(Value::as_array),
    ) else {
        return Err("the configuration has no services list".into());
    };
    if !others_equal || old_services.len() != new_services.len() {
        return Err("only services' fields can be edited in place".into());
    }
    let mut out = Vec::new();
    for (service, (o, n)) in old_services.iter().zip(new_services).enumerate() {
        let (Some(o), Some(n)) = (o.as_object(), n.as_object()) else {
            return Err(format!("services[{service}] is not an object"));
        };
        for (key, value) in n {
            if o.get(key) != Some(value) {
                out.push(Change {
                    service,
                    key: key.clone(),
                    value: Some(value.clone()),
                });
            }
        }
        for key in o.keys().filter(|k| !n.contains_key(*k)) {
            out.push(Change {
                service,
                key: key.clone(),
                value: None,
            });
        }
    }
    Ok(out)
}

fn edit_json(text: &str, changes: &[Change]) -> Result<String, String> {
    let mut text = text.to_owned();
    for change in changes {
        let object = [Step::Key("services".into()), Step::Index(change.service)];
        text = jsontext::set_member(&text, &object, &change.key, change.value.as_ref())?;
    }
    Ok(text)
}

impl Located {
    /// The file's text with `configuration` in place of the one it holds,
    /// every copy of it changed, and checked by reading it back.
    pub fn rewrite(&self, configuration: &Value) -> Result<String, String> {
        let name = &self.input.name;
        let mut text = std::str::from_utf8(&self.input.bytes)
            .map_err(|_| format!("{name}: not UTF-8 text"))?
            .to_owned();
        let changes =
            changes(&self.configuration, configuration).map_err(|e| format!("{name}: {e}"))?;
        if self.places.is_empty() {
            return Err(format!(
                "{name}: cannot find the configuration's lines in the file to edit"
            ));
        }
        // From the bottom up, so that each place's line or byte numbers hold
        // while the ones below it change.
        let mut places = self.places.clone();
        places.reverse();
        for place in &places {
            text = match place {
                Place::WholeJson => edit_json(&text, &changes)?,
                Place::WholeYaml | Place::Mapping { .. } => {
                    let scope = match place {
                        Place::Mapping { header } => Scope::Block { header: *header },
                        _ => Scope::Document,
                    };
                    let mut t = text;
                    for c in &changes {
                        t = yamltext::set_service_member(
                            &t,
                            scope,
                            c.service,
                            &c.key,
                            c.value.as_ref(),
                        )?;
                    }
                    t
                }
                Place::JsonString(path) => {
                    let span = jsontext::span_at(&text, path)?;
                    let literal = text.get(span.start..span.end).unwrap_or("");
                    let inner: String = serde_json::from_str(literal).map_err(|e| e.to_string())?;
                    let edited = edit_json(&inner, &changes)?;
                    let literal = serde_json::to_string(&edited).map_err(|e| e.to_string())?;
                    format!(
                        "{}{literal}{}",
                        text.get(..span.start).unwrap_or(""),
                        text.get(span.end..).unwrap_or("")
                    )
                }
                Place::BlockScalar { header } => {
                    let lines: Vec<&str> = text.split_inclusive('\n').collect();
                    let content = block_scalar(&lines, *header).ok_or("block scalar")?;
                    let edited = edit_json(&content, &changes)?;
                    replace_block_scalar(&text, *header, &edited)?
                }
                Place::Fixed(reason) => return Err(format!("{name}: {reason}")),
            };
        }
        // The edit must read back as exactly the configuration intended.
        let reread = locate(Input {
            name: name.clone(),
            bytes: text.clone().into_bytes(),
        })
        .map_err(|e| format!("{name}: the edited file does not read back: {e}"))?;
        if reread.configuration != *configuration {
            return Err(format!(
                "{name}: the edited file does not read back as the intended configuration; \
                 nothing was written"
            ));
        }
        Ok(text)
    }
}
