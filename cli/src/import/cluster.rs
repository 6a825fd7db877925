//! What `import-knative` takes from the cluster's own settings: Knative's
//! config-network ConfigMap (the host templates and the default rollout
//! duration) and its config-features ConfigMap (tag-header-based routing),
//! as `kubectl get cm -n knative-serving NAME -o json` (or YAML) prints
//! them, and the options that stand in for them.

use std::path::Path;

use serde_json::Value;

use crate::input;

/// The cluster's settings the import needs.
#[derive(Debug, Clone, Default)]
pub struct Cluster {
    /// config-network `domain-template`, if not Knative's default.
    pub domain_template: Option<String>,
    /// config-network `tag-template`, if not Knative's default.
    pub tag_template: Option<String>,
    /// config-network `rollout-duration`, whole seconds (0: none).
    pub rollout_duration_s: Option<u64>,
    /// config-features `tag-header-based-routing`: `Some(true)` when it is
    /// Enabled, `Some(false)` otherwise; `None` when not given.
    pub tag_header: Option<bool>,
}

/// A ConfigMap's `data`, from JSON or YAML.
fn config_map_data(path: &Path, expected: &str) -> Result<serde_json::Map<String, Value>, String> {
    let read = input::read(path)?;
    let name = &read.name;
    let document: Value = serde_yaml::from_slice(&read.bytes)
        .map_err(|e| format!("{name}: not JSON or YAML: {e}"))?;
    if document.get("kind").and_then(Value::as_str) != Some("ConfigMap") {
        return Err(format!(
            "{name}: not a ConfigMap (print it with `kubectl get cm -n knative-serving {expected} -o json`)"
        ));
    }
    let found = document
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or("");
    if found != expected {
        return Err(format!(
            "{name}: the ConfigMap is {found:?}, not Knative's {expected}"
        ));
    }
    Ok(document
        .get("data")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default())
}

/// A value by Knative's key, or its legacy camel-case one (the new one
/// wins), trimmed as Knative's `cm.AsString` does.
fn value<'d>(data: &'d serde_json::Map<String, Value>, key: &str, legacy: &str) -> Option<&'d str> {
    data.get(key)
        .or_else(|| data.get(legacy))
        .and_then(Value::as_str)
        .map(str::trim)
}

impl Cluster {
    /// Reads config-network and config-features, then lets the options
    /// override them.
    pub fn read(
        config_network: Option<&Path>,
        config_features: Option<&Path>,
        domain_template: Option<&str>,
        tag_template: Option<&str>,
    ) -> Result<Cluster, Vec<String>> {
        let mut cluster = Cluster::default();
        let mut errors = Vec::new();
        if let Some(path) = config_network {
            match config_map_data(path, "config-network") {
                Ok(data) => {
                    cluster.domain_template =
                        value(&data, "domain-template", "domainTemplate").map(str::to_owned);
                    cluster.tag_template =
                        value(&data, "tag-template", "tagTemplate").map(str::to_owned);
                    if let Some(text) = value(&data, "rollout-duration", "rolloutDuration") {
                        // Whole seconds, no unit, not negative (knative/networking
                        // pkg/config: cm.AsInt, then the sign check).
                        match text.parse::<i64>() {
                            Ok(s) if s >= 0 => cluster.rollout_duration_s = u64::try_from(s).ok(),
                            Ok(s) => errors.push(format!(
                                "config-network: rollout-duration must be a positive integer, but was {s}"
                            )),
                            Err(e) => errors.push(format!(
                                "config-network: failed to parse \"rollout-duration\": {e}"
                            )),
                        }
                    }
                }
                Err(e) => errors.push(e),
            }
        }
        if let Some(path) = config_features {
            match config_map_data(path, "config-features") {
                // features.go asFlag: Enabled, Allowed or Disabled in any
                // case; anything else leaves the default, Disabled; only
                // Enabled turns it on.
                Ok(data) => {
                    cluster.tag_header = Some(
                        data.get("tag-header-based-routing")
                            .and_then(Value::as_str)
                            .is_some_and(|v| v.trim().eq_ignore_ascii_case("enabled")),
                    )
                }
                Err(e) => errors.push(e),
            }
        }
        if let Some(t) = domain_template {
            cluster.domain_template = Some(t.to_owned());
        }
        if let Some(t) = tag_template {
            cluster.tag_template = Some(t.to_owned());
        }
        // Knative's defaults need not be written out.
        let is = |v: &Option<String>, default: &str| v.as_deref().is_some_and(|v| v == default);
        if is(
            &cluster.domain_template,
            knative_traffic::compile::DEFAULT_DOMAIN_TEMPLATE,
        ) {
            cluster.domain_template = None;
        }
        if is(
            &cluster.tag_template,
            knative_traffic::compile::DEFAULT_TAG_TEMPLATE,
        ) {
            cluster.tag_template = None;
        }
        if errors.is_empty() {
            Ok(cluster)
        } else {
            Err(errors)
        }
    }

    /// The domain template in force.
    pub fn domain_template(&self) -> &str {
        self.domain_template
            .as_deref()
            .unwrap_or(knative_traffic::compile::DEFAULT_DOMAIN_TEMPLATE)
    }
}
