//! The filter configurations a config dump holds, compiled with the
//! filter's own code for the side each instance serves, as the filter
//! compiles them.

use knative_traffic::compile::{compile_document, parse};
use knative_traffic::config::Document;
use knative_traffic::hosts::Side;
use knative_traffic::RouteTable;

use super::admin::WasmFilter;

/// One configuration in force, and every filter instance that has it.
#[derive(Debug)]
pub struct Loaded {
    /// `listener ingress (root id knative-traffic)`, one per instance.
    pub instances: Vec<String>,
    pub document: Document,
    pub table: RouteTable,
}

impl Loaded {
    /// Whether the filter counts requests under this configuration.
    pub fn metrics(&self) -> bool {
        self.document.metrics != Some(false)
    }
}

/// The knative-traffic configurations among a dump's Wasm filters: those
/// whose configuration is a knative-traffic document (other plugins'
/// are not). The same text at several instances (two listeners) is one
/// configuration. `Err` names what was found when none is one.
pub fn load(filters: &[WasmFilter]) -> Result<Vec<Loaded>, String> {
    let mut loaded: Vec<(String, Loaded)> = Vec::new();
    // Why instances that look like this filter's were not read.
    let mut refused: Vec<String> = Vec::new();
    for filter in filters {
        let instance = if filter.root_id.is_empty() {
            filter.location.clone()
        } else {
            format!("{} (root id {})", filter.location, filter.root_id)
        };
        let ours_by_name = filter.root_id.starts_with("knative-traffic");
        let Some(text) = &filter.configuration else {
            if ours_by_name {
                refused.push(format!(
                    "{instance}: a configuration of type {} is not read",
                    filter.unreadable.as_deref().unwrap_or("?")
                ));
            }
            continue;
        };
        if let Some((_, same)) = loaded.iter_mut().find(|(t, _)| t == text) {
            same.instances.push(instance);
            continue;
        }
        let document = match parse(text.as_bytes()) {
            Ok(document) => document,
            Err(errors) => {
                if ours_by_name {
                    let first = errors.0.first().map(ToString::to_string);
                    refused.push(format!("{instance}: {}", first.unwrap_or_default()));
                }
                continue;
            }
        };
        match compile_document(&document, Side::from_instance_name(&filter.root_id)) {
            Ok(table) => loaded.push((
                text.clone(),
                Loaded {
                    instances: vec![instance],
                    document,
                    table,
                },
            )),
            Err(errors) => {
                let first = errors.0.first().map(ToString::to_string);
                refused.push(format!("{instance}: {}", first.unwrap_or_default()));
            }
        }
    }
    if !loaded.is_empty() {
        return Ok(loaded.into_iter().map(|(_, l)| l).collect());
    }
    Err(match (filters.len(), refused.first()) {
        (0, _) => "no knative-traffic filter: Envoy runs no Wasm HTTP filter".to_owned(),
        (_, Some(why)) => format!("no knative-traffic configuration could be read: {why}"),
        (n, None) => {
            let seen: Vec<String> = filters
                .iter()
                .map(|f| match f.root_id.as_str() {
                    "" => f.location.clone(),
                    id => format!("{} (root id {id})", f.location),
                })
                .collect();
            format!(
                "no knative-traffic filter: {} Wasm HTTP filter{} ({}), none with a knative-traffic configuration",
                n,
                if n == 1 { "" } else { "s" },
                seen.join(", ")
            )
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::status::admin::wasm_filters;
    use crate::status::tests::data;

    fn filter(root_id: &str, configuration: Option<&str>) -> WasmFilter {
        WasmFilter {
            location: "listener ingress".into(),
            root_id: root_id.into(),
            configuration: configuration.map(str::to_owned),
            unreadable: configuration
                .is_none()
                .then(|| "type.googleapis.com/google.protobuf.Int32Value".to_owned()),
        }
    }

    #[test]
    fn the_captured_configurations_compile() {
        for name in [
            "1.36.4-config_dump.json",
            "1.40.0-ecds-config_dump.json",
            "1.40.0-no-metrics-config_dump.json",
        ] {
            let loaded = load(&wasm_filters(&data(name)).unwrap()).unwrap();
            assert_eq!(loaded.len(), 1, "{name}");
            assert_eq!(loaded[0].table.services().len(), 2, "{name}");
            assert_eq!(loaded[0].metrics(), !name.contains("no-metrics"), "{name}");
        }
    }

    #[test]
    fn one_configuration_at_two_listeners_and_other_plugins_beside_it() {
        let text = r#"{"services":[{"name":"web","namespace":"ns","traffic":[{"revisionName":"web-1","percent":100}]}]}"#;
        let mut internal = filter("knative-traffic.cluster-local", Some(text));
        internal.location = "listener internal".into();
        let loaded = load(&[
            filter("knative-traffic", Some(text)),
            filter("other-plugin", Some(r#"{"rate": 5}"#)),
            internal,
        ])
        .unwrap();
        assert_eq!(loaded.len(), 1);
        assert_eq!(
            loaded[0].instances,
            [
                "listener ingress (root id knative-traffic)",
                "listener internal (root id knative-traffic.cluster-local)"
            ]
        );
    }

    #[test]
    fn no_filter_says_what_there_is() {
        assert_eq!(
            load(&[]).unwrap_err(),
            "no knative-traffic filter: Envoy runs no Wasm HTTP filter"
        );
        assert_eq!(
            load(&[filter("other-plugin", Some(r#"{"rate": 5}"#)), filter("", None)]).unwrap_err(),
            "no knative-traffic filter: 2 Wasm HTTP filters (listener ingress (root id other-plugin), listener ingress), none with a knative-traffic configuration"
        );
        assert_eq!(
            load(&[filter("knative-traffic", Some("{}"))]).unwrap_err(),
            "no knative-traffic configuration could be read: listener ingress (root id knative-traffic): configuration: missing field `services` at line 1 column 2"
        );
        assert_eq!(
            load(&[filter("knative-traffic", None)]).unwrap_err(),
            "no knative-traffic configuration could be read: listener ingress (root id knative-traffic): a configuration of type type.googleapis.com/google.protobuf.Int32Value is not read"
        );
    }
}
