//! What Envoy's admin interface answers, read: the filter's counters from
//! `/stats?format=json`, and the filter configurations in force from
//! `/config_dump`.

use std::collections::BTreeMap;

use serde_json::Value;

/// The page of the filter's counters. The filter is a regular expression
/// on the full names; every counter the filter defines has this in it.
pub const STATS_PATH: &str = "/stats?format=json&filter=knative_traffic";
pub const CONFIG_DUMP_PATH: &str = "/config_dump";
pub const SERVER_INFO_PATH: &str = "/server_info";

/// Envoy puts the counters a Wasm module defines under this prefix.
const WASM_PREFIX: &str = "wasmcustom.";

/// Counter values by the name the filter gave them (without Envoy's
/// `wasmcustom.` prefix).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counters(pub BTreeMap<String, u64>);

impl Counters {
    pub fn get(&self, name: &str) -> Option<u64> {
        self.0.get(name).copied()
    }
}

/// Reads `/stats?format=json`: `{"stats": [{"name": …, "value": …}, …]}`,
/// the same in Envoy 1.36 and 1.40. Histograms and text readouts (entries
/// without an integer value) are not counters and are skipped.
pub fn parse_stats(text: &str) -> Result<Counters, String> {
    let page: Value =
        serde_json::from_str(text).map_err(|e| format!("the stats are not JSON: {e}"))?;
    let stats = page
        .get("stats")
        .and_then(Value::as_array)
        .ok_or("not Envoy's stats page: no \"stats\" list")?;
    let counters = stats
        .iter()
        .filter_map(|stat| {
            let name = stat.get("name")?.as_str()?;
            let value = stat.get("value")?.as_u64()?;
            let name = name.strip_prefix(WASM_PREFIX).unwrap_or(name);
            Some((name.to_owned(), value))
        })
        .collect();
    Ok(Counters(counters))
}

/// One Wasm filter of the dump: where it is, its root id and its
/// configuration text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WasmFilter {
    /// `listener ingress`, `ECDS knative-traffic`.
    pub location: String,
    pub root_id: String,
    /// `None` when the dump gives a configuration of a type the command
    /// does not read (its type URL is in [`WasmFilter::unreadable`]).
    pub configuration: Option<String>,
    pub unreadable: Option<String>,
}

/// Every HTTP Wasm filter in force in a `/config_dump`: in the listeners
/// (static ones, and dynamic ones' active state: a warming listener serves
/// nothing yet) and in ECDS's filter configurations. The bootstrap's copy
/// of the static listeners is not read again.
pub fn wasm_filters(text: &str) -> Result<Vec<WasmFilter>, String> {
    let dump: Value =
        serde_json::from_str(text).map_err(|e| format!("the config dump is not JSON: {e}"))?;
    let configs = dump
        .get("configs")
        .and_then(Value::as_array)
        .ok_or("not Envoy's config dump: no \"configs\" list")?;
    let mut found = Vec::new();
    for config in configs {
        let kind = config.get("@type").and_then(Value::as_str).unwrap_or("");
        if kind.ends_with(".ListenersConfigDump") {
            let statics = list(config, "static_listeners").filter_map(|l| l.get("listener"));
            let dynamics = list(config, "dynamic_listeners")
                .filter_map(|l| l.get("active_state")?.get("listener"));
            for listener in statics.chain(dynamics) {
                let name = listener.get("name").and_then(Value::as_str).unwrap_or("?");
                collect(listener, &format!("listener {name}"), &mut found);
            }
        } else if kind.ends_with(".EcdsConfigDump") {
            for filter in list(config, "ecds_filters").filter_map(|f| f.get("ecds_filter")) {
                let name = filter.get("name").and_then(Value::as_str).unwrap_or("?");
                if let Some(typed) = filter.get("typed_config") {
                    collect(typed, &format!("ECDS {name}"), &mut found);
                }
            }
        }
    }
    Ok(found)
}

fn list<'v>(value: &'v Value, key: &str) -> impl Iterator<Item = &'v Value> {
    value
        .get(key)
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
}

/// The HTTP Wasm filters anywhere in `value`: filter chains, the HTTP
/// connection manager's filters, and whatever wraps them (matchers,
/// composite filters), without knowing each form.
fn collect(value: &Value, location: &str, found: &mut Vec<WasmFilter>) {
    match value {
        Value::Object(object) => {
            if let Some(wasm) = wasm_config(value) {
                let config = wasm.get("config");
                let root_id = config
                    .and_then(|c| c.get("root_id"))
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_owned();
                let (configuration, unreadable) =
                    match configuration_text(config.and_then(|c| c.get("configuration"))) {
                        Ok(text) => (Some(text), None),
                        Err(kind) => (None, Some(kind)),
                    };
                found.push(WasmFilter {
                    location: location.to_owned(),
                    root_id,
                    configuration,
                    unreadable,
                });
                return;
            }
            for child in object.values() {
                collect(child, location, found);
            }
        }
        Value::Array(items) => {
            for item in items {
                collect(item, location, found);
            }
        }
        _ => {}
    }
}

/// The HTTP Wasm filter's own message, if `value` is one: typed, or in the
/// TypedStruct form some control planes send.
fn wasm_config(value: &Value) -> Option<&Value> {
    const WASM: &str = ".extensions.filters.http.wasm.v3.Wasm";
    let kind = value.get("@type")?.as_str()?;
    if kind.ends_with(WASM) {
        return Some(value);
    }
    let typed_struct =
        kind.ends_with("udpa.type.v1.TypedStruct") || kind.ends_with("xds.type.v3.TypedStruct");
    if typed_struct && value.get("type_url")?.as_str()?.ends_with(WASM) {
        return value.get("value");
    }
    None
}

/// The plugin configuration, as the filter receives it: a StringValue's
/// text, a BytesValue's bytes, or a Struct as JSON. An absent one is empty.
fn configuration_text(any: Option<&Value>) -> Result<String, String> {
    let Some(any) = any else {
        return Ok(String::new());
    };
    let kind = any.get("@type").and_then(Value::as_str).unwrap_or("");
    let value = any.get("value");
    if kind.ends_with("google.protobuf.StringValue") {
        return Ok(value.and_then(Value::as_str).unwrap_or("").to_owned());
    }
    if kind.ends_with("google.protobuf.BytesValue") {
        let bytes = value
            .and_then(Value::as_str)
            .and_then(base64)
            .ok_or_else(|| kind.to_owned())?;
        return String::from_utf8(bytes).map_err(|_| kind.to_owned());
    }
    if kind.ends_with("google.protobuf.Struct") {
        if let Some(value) = value {
            return Ok(value.to_string());
        }
    }
    Err(kind.to_owned())
}

/// Standard base64, as protobuf's JSON form writes bytes (padding
/// optional).
fn base64(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len() / 4 * 3);
    let mut bits = 0u32;
    let mut count = 0;
    for c in text.trim_end_matches('=').bytes() {
        let six = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            _ => return None,
        };
        // Only the bits not yet written matter: at most 6 + 7 of them.
        bits = ((bits << 6) | u32::from(six)) & 0x3fff;
        count += 6;
        if count >= 8 {
            count -= 8;
            out.push((bits >> count) as u8);
        }
    }
    Some(out)
}

/// The Envoy version `/server_info` names (`1.40.0` of
/// `hash/1.40.0/Clean/RELEASE/BoringSSL`).
pub fn envoy_version(server_info: &str) -> Option<String> {
    let info: Value = serde_json::from_str(server_info).ok()?;
    let full = info.get("version")?.as_str()?;
    Some(full.split('/').nth(1).unwrap_or(full).to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::status::tests::data;

    #[test]
    fn the_counters_of_envoy_1_36_and_1_40() {
        for version in ["1.36.4", "1.40.0"] {
            let counters = parse_stats(&data(&format!("{version}-stats-b.json"))).unwrap();
            assert_eq!(counters.0.len(), 26, "{version}");
            assert_eq!(counters.get("knative_traffic.config.accepted"), Some(4));
            // Not yet defined: no configuration was refused.
            assert_eq!(counters.get("knative_traffic.config.rejected"), None);
            assert_eq!(
                counters.get("knative_traffic.requests.namespace.default.service.traffic-example.reason.not-found"),
                Some(3),
                "{version}"
            );
            assert_eq!(
                counters.get("knative_traffic.requests.namespace.default.service.traffic-example.revision.traffic-example-v2.reason.tag-header"),
                Some(4),
                "{version}"
            );
            // The rule's tag follows the rolling latest revision: web-2 or web-3.
            let rule: u64 = ["web-2", "web-3"]
                .iter()
                .map(|r| {
                    counters
                        .get(&format!("knative_traffic.requests.namespace.shop.service.web.revision.{r}.reason.rule"))
                        .unwrap()
                })
                .sum();
            assert_eq!(rule, 2, "{version}");
            let draws: u64 = ["v1", "v2"]
                .iter()
                .map(|r| {
                    counters
                        .get(&format!("knative_traffic.requests.namespace.default.service.traffic-example.revision.traffic-example-{r}.reason.draw"))
                        .unwrap()
                })
                .sum();
            assert_eq!(draws, 60, "{version}");
            let none = parse_stats(&data(&format!("{version}-stats-a.json"))).unwrap();
            assert!(none.0.keys().all(|k| k.starts_with("knative_traffic.")));
        }
        let off = parse_stats(&data("1.40.0-no-metrics-stats.json")).unwrap();
        assert_eq!(
            off.0.into_iter().collect::<Vec<_>>(),
            [("knative_traffic.config.accepted".to_owned(), 4)]
        );
    }

    #[test]
    fn stats_that_are_not_counters_or_not_stats_at_all() {
        let page = r#"{"stats":[{"name":"a","value":1},{"name":"t","value":"text"},
            {"histograms":{"supported_quantiles":[0.5]}},{"name":"wasmcustom.b","value":2}]}"#;
        let counters = parse_stats(page).unwrap();
        assert_eq!(counters.0.len(), 2);
        assert_eq!(counters.get("b"), Some(2));
        assert_eq!(parse_stats(r#"{"stats":[]}"#).unwrap(), Counters::default());
        assert!(parse_stats("<html>")
            .unwrap_err()
            .starts_with("the stats are not JSON"));
        assert_eq!(
            parse_stats("{}").unwrap_err(),
            "not Envoy's stats page: no \"stats\" list"
        );
    }

    #[test]
    fn the_filter_in_a_listener_and_over_ecds() {
        for version in ["1.36.4", "1.40.0"] {
            let inline = wasm_filters(&data(&format!("{version}-config_dump.json"))).unwrap();
            assert_eq!(inline.len(), 1, "{version}: {inline:?}");
            let filter = &inline[0];
            assert_eq!(filter.location, "listener ingress");
            assert_eq!(filter.root_id, "knative-traffic");
            let document =
                knative_traffic::compile::parse(filter.configuration.as_ref().unwrap().as_bytes())
                    .unwrap();
            assert_eq!(document.services.len(), 2);
            assert_eq!(document.services[0].traffic[0].percent.unwrap().get(), 80);

            // Over ECDS the listener names the filter only; its
            // configuration, after a refused update and an accepted one
            // (50/50), is in the ECDS part of the dump.
            let ecds = wasm_filters(&data(&format!("{version}-ecds-config_dump.json"))).unwrap();
            assert_eq!(ecds.len(), 1, "{version}: {ecds:?}");
            assert_eq!(ecds[0].location, "ECDS knative-traffic");
            let document =
                knative_traffic::compile::parse(ecds[0].configuration.as_ref().unwrap().as_bytes())
                    .unwrap();
            assert_eq!(document.services[0].traffic[0].percent.unwrap().get(), 50);
        }
    }

    #[test]
    fn dynamic_listeners_typed_structs_and_other_configuration_types() {
        let dump = r#"{"configs":[
          {"@type":"type.googleapis.com/envoy.admin.v3.BootstrapConfigDump","bootstrap":{"static_resources":{"listeners":[
            {"name":"copy","typed_config":{"@type":"type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm","config":{}}}]}}},
          {"@type":"type.googleapis.com/envoy.admin.v3.ListenersConfigDump","dynamic_listeners":[
            {"name":"0.0.0.0_8080","active_state":{"listener":{"name":"0.0.0.0_8080","filter_chains":[{"filters":[{"typed_config":{"http_filters":[
              {"name":"a","typed_config":{"@type":"type.googleapis.com/udpa.type.v1.TypedStruct",
                "type_url":"type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm",
                "value":{"config":{"root_id":"knative-traffic","configuration":{"@type":"type.googleapis.com/google.protobuf.StringValue","value":"{}"}}}}},
              {"name":"b","typed_config":{"@type":"type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm",
                "config":{"root_id":"other","configuration":{"@type":"type.googleapis.com/google.protobuf.BytesValue","value":"eyJhIjoxfQ=="}}}},
              {"name":"c","typed_config":{"@type":"type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm",
                "config":{"configuration":{"@type":"type.googleapis.com/google.protobuf.Struct","value":{"services":[]}}}}},
              {"name":"d","typed_config":{"@type":"type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm",
                "config":{"configuration":{"@type":"type.googleapis.com/google.protobuf.Int32Value","value":3}}}}]}}]}]}},
             "warming_state":{"listener":{"name":"0.0.0.0_8080","typed_config":{"@type":"type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm"}}}}]}]}"#;
        let found = wasm_filters(dump).unwrap();
        let summary: Vec<(&str, &str, Option<&str>, Option<&str>)> = found
            .iter()
            .map(|f| {
                (
                    f.location.as_str(),
                    f.root_id.as_str(),
                    f.configuration.as_deref(),
                    f.unreadable.as_deref(),
                )
            })
            .collect();
        assert_eq!(
            summary,
            [
                ("listener 0.0.0.0_8080", "knative-traffic", Some("{}"), None),
                ("listener 0.0.0.0_8080", "other", Some(r#"{"a":1}"#), None),
                (
                    "listener 0.0.0.0_8080",
                    "",
                    Some(r#"{"services":[]}"#),
                    None
                ),
                (
                    "listener 0.0.0.0_8080",
                    "",
                    None,
                    Some("type.googleapis.com/google.protobuf.Int32Value")
                ),
            ]
        );
        assert_eq!(
            wasm_filters("[]").unwrap_err(),
            "not Envoy's config dump: no \"configs\" list"
        );
    }

    #[test]
    fn base64_as_protobuf_writes_it() {
        assert_eq!(base64("aGVsbG8=").unwrap(), b"hello");
        assert_eq!(base64("aGVsbG8").unwrap(), b"hello");
        assert_eq!(base64("").unwrap(), b"");
        assert_eq!(base64("a GV"), None);
    }

    #[test]
    fn versions() {
        assert_eq!(
            envoy_version(r#"{"version":"9e55/1.40.0/Clean/RELEASE/BoringSSL"}"#).as_deref(),
            Some("1.40.0")
        );
        assert_eq!(
            envoy_version(r#"{"version":"dev"}"#).as_deref(),
            Some("dev")
        );
        assert_eq!(envoy_version("{}"), None);
    }
}
