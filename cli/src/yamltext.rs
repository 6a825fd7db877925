//! Editing a configuration written as block YAML (a WasmPlugin's
//! `pluginConfig`, or a configuration file in YAML) in place: one member of
//! one service is replaced, added or removed by its lines, and every other
//! line, comments included, stays as it was. Only the edited member's own
//! lines are written anew (by serde_yaml), so a comment inside them is not
//! kept.

use serde_json::Value;

/// Which lines hold the configuration mapping.
#[derive(Debug, Clone, Copy)]
pub enum Scope {
    /// The whole text is the configuration.
    Document,
    /// The lines after line `header` (0-based) that are indented deeper than
    /// it: a `pluginConfig:` key's block.
    Block { header: usize },
}

pub fn indent(line: &str) -> usize {
    line.len() - line.trim_start_matches(' ').len()
}

/// A blank line.
pub fn is_blank(line: &str) -> bool {
    line.trim().is_empty()
}

/// A blank line or a comment: it belongs to no key.
pub fn is_filler(line: &str) -> bool {
    let t = line.trim();
    t.is_empty() || t.starts_with('#')
}

/// `key:` at the start of `content`, with what follows the colon.
fn key_rest<'l>(content: &'l str, key: &str) -> Option<&'l str> {
    let rest = content.strip_prefix(key)?;
    let rest = rest.strip_prefix(':')?;
    (rest.is_empty() || rest.starts_with([' ', '\n', '\r'])).then_some(rest)
}

/// The end (exclusive) of the block of lines after line `header` that are
/// indented deeper than it, reading over lines `between` says any block may
/// hold (blank lines; for a mapping, comments too). `None` without line
/// `header`.
pub fn block_end(lines: &[&str], header: usize, between: fn(&str) -> bool) -> Option<usize> {
    let base = indent(lines.get(header)?);
    let mut end = header + 1;
    while lines
        .get(end)
        .is_some_and(|l| between(l) || indent(l) > base)
    {
        end += 1;
    }
    Some(end)
}

/// The first line at or after `from` (before `to`) that is not filler.
fn next_content(lines: &[&str], from: usize, to: usize) -> Option<usize> {
    (from..to).find(|&i| lines.get(i).is_some_and(|l| !is_filler(l)))
}

/// `to`, moved back over trailing filler lines (down to `from`).
fn trim_filler(lines: &[&str], from: usize, mut to: usize) -> usize {
    while to > from && lines.get(to - 1).is_some_and(|l| is_filler(l)) {
        to -= 1;
    }
    to
}

/// Where `services[index]`'s lines are: `[start, end)`, the column its keys
/// are at, and the column of its `-`.
fn service_lines(
    lines: &[&str],
    scope: Scope,
    index: usize,
) -> Result<(usize, usize, usize, usize), String> {
    let (from, to) = match scope {
        Scope::Document => (0, lines.len()),
        Scope::Block { header } => {
            let end = block_end(lines, header, is_filler).ok_or("no header line")?;
            (header + 1, trim_filler(lines, header + 1, end))
        }
    };
    let first = next_content(lines, from, to).ok_or("the configuration is empty")?;
    let column = lines.get(first).map(|l| indent(l)).unwrap_or(0);
    let services = (first..to)
        .find(|&i| {
            lines.get(i).is_some_and(|l| {
                indent(l) == column && key_rest(l.trim_start(), "services").is_some()
            })
        })
        .ok_or("no `services:` key at the configuration's top level")?;
    let rest = lines
        .get(services)
        .and_then(|l| key_rest(l.trim_start(), "services"))
        .unwrap_or("");
    if !rest.trim().is_empty() && !rest.trim().starts_with('#') {
        return Err(
            "`services` is not written as a block list (one `- ` item per service); \
                    edit it by hand or write it as one"
                .into(),
        );
    }
    let first_item = next_content(lines, services + 1, to).ok_or("`services` is empty")?;
    let dash = lines.get(first_item).map(|l| indent(l)).unwrap_or(0);
    let is_item = |i: usize| {
        lines.get(i).is_some_and(|l| {
            indent(l) == dash && (l.trim_start().starts_with("- ") || l.trim() == "-")
        })
    };
    if dash < column || !is_item(first_item) {
        return Err("`services` is not written as a block list (one `- ` item per service)".into());
    }
    // The services list ends at the first line, not filler, that is left of
    // its dashes, or at their column but no item.
    let mut end = first_item;
    while end < to
        && lines
            .get(end)
            .is_some_and(|l| is_filler(l) || indent(l) > dash || is_item(end))
    {
        end += 1;
    }
    let items: Vec<usize> = (first_item..end).filter(|&i| is_item(i)).collect();
    let start = *items
        .get(index)
        .ok_or_else(|| format!("no services[{index}] in the YAML"))?;
    let stop = items.get(index + 1).copied().unwrap_or(end);
    let stop = trim_filler(lines, start, stop);
    let line = lines.get(start).ok_or("item line")?;
    let after_dash = line.get(dash + 1..).unwrap_or("");
    let keys = dash + 1 + (after_dash.len() - after_dash.trim_start_matches(' ').len());
    Ok((start, stop, keys, dash))
}

/// `key: value` as block YAML at column `column`.
fn render(key: &str, value: &Value, column: usize) -> Result<Vec<String>, String> {
    let pad = " ".repeat(column);
    let yaml = serde_yaml::to_string(value).map_err(|e| e.to_string())?;
    let body: Vec<&str> = yaml.lines().collect();
    let scalar = !matches!(value, Value::Object(m) if !m.is_empty())
        && !matches!(value, Value::Array(a) if !a.is_empty());
    if scalar {
        return Ok(vec![format!("{pad}{key}: {}\n", body.join(" "))]);
    }
    let mut out = vec![format!("{pad}{key}:\n")];
    // serde_yaml writes a list at its key's column and a mapping two deeper.
    let deeper = if matches!(value, Value::Object(_)) {
        2
    } else {
        0
    };
    for line in body {
        out.push(format!("{pad}{}{line}\n", " ".repeat(deeper)));
    }
    Ok(out)
}

/// Sets (`Some`) or removes (`None`) `services[index].key` in the
/// configuration `scope` of `text`.
pub fn set_service_member(
    text: &str,
    scope: Scope,
    index: usize,
    key: &str,
    value: Option<&Value>,
) -> Result<String, String> {
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    let (start, stop, column, dash) = service_lines(&lines, scope, index)?;
    // The member's own lines: its key line, and what is deeper than it.
    let key_line = (start..stop).find(|&i| {
        lines.get(i).is_some_and(|l| {
            let content = if i == start {
                l.get(column..).unwrap_or("")
            } else if indent(l) == column {
                l.trim_start()
            } else {
                return false;
            };
            key_rest(content, key).is_some()
        })
    });
    let mut out: Vec<String> = Vec::with_capacity(lines.len() + 8);
    let keep = |out: &mut Vec<String>, range: std::ops::Range<usize>| {
        out.extend(range.filter_map(|i| lines.get(i).map(|l| (*l).to_owned())));
    };
    match key_line {
        Some(at) => {
            let mut end = at + 1;
            // A list may sit at its key's column (`traffic:` then `- …`).
            while end < stop
                && lines.get(end).is_some_and(|l| {
                    is_filler(l)
                        || indent(l) > column
                        || (indent(l) == column && l.trim_start().starts_with('-'))
                })
            {
                end += 1;
            }
            let end = trim_filler(&lines, at + 1, end);
            keep(&mut out, 0..at);
            match value {
                Some(value) => {
                    let mut rendered = render(key, value, column)?;
                    if at == start {
                        if let Some(first) = rendered.first_mut() {
                            let prefix = format!(
                                "{}- {}",
                                " ".repeat(dash),
                                " ".repeat(column.saturating_sub(dash + 2))
                            );
                            *first = format!("{prefix}{}", first.trim_start());
                        }
                    }
                    out.extend(rendered);
                    keep(&mut out, end..lines.len());
                }
                None if at == start => {
                    // The item's first member goes: the next one takes the dash.
                    let next = next_content(&lines, end, stop)
                        .ok_or("cannot remove the only member of a service")?;
                    keep(&mut out, end..next);
                    let line = lines.get(next).ok_or("line")?;
                    out.push(format!(
                        "{}- {}{}",
                        " ".repeat(dash),
                        " ".repeat(column.saturating_sub(dash + 2)),
                        line.trim_start()
                    ));
                    keep(&mut out, next + 1..lines.len());
                }
                None => keep(&mut out, end..lines.len()),
            }
        }
        None => {
            keep(&mut out, 0..stop);
            if let Some(value) = value {
                if lines
                    .get(stop.saturating_sub(1))
                    .is_some_and(|l| !l.ends_with('\n'))
                {
                    out.push("\n".into());
                }
                out.extend(render(key, value, column)?);
            }
            keep(&mut out, stop..lines.len());
        }
    }
    Ok(out.concat())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const PLUGIN: &str = "\
spec:
  # the plugin's configuration
  pluginConfig:
    services:
    - name: web   # the shop
      namespace: ns
      # the split
      traffic:
      - revisionName: web-1
        percent: 100
    - name: api
      namespace: ns
  phase: STATS
";

    fn at_header(text: &str) -> Scope {
        let header = text
            .lines()
            .position(|l| l.trim() == "pluginConfig:")
            .unwrap();
        Scope::Block { header }
    }

    #[test]
    fn a_member_is_replaced_by_its_lines_only() {
        let traffic = json!([{"revisionName": "web-1", "percent": 90}, {"revisionName": "web-2", "percent": 10}]);
        let out =
            set_service_member(PLUGIN, at_header(PLUGIN), 0, "traffic", Some(&traffic)).unwrap();
        assert_eq!(
            out,
            PLUGIN.replace(
                "        percent: 100\n",
                "        percent: 90\n      - revisionName: web-2\n        percent: 10\n"
            )
        );
    }

    #[test]
    fn members_are_added_at_the_end_of_their_service_and_removed() {
        let out = set_service_member(
            PLUGIN,
            at_header(PLUGIN),
            1,
            "latestReadyRevisionName",
            Some(&json!("api-2")),
        )
        .unwrap();
        assert!(
            out.contains(
                "      namespace: ns\n      latestReadyRevisionName: api-2\n  phase: STATS\n"
            ),
            "{out}"
        );
        let back =
            set_service_member(&out, at_header(&out), 1, "latestReadyRevisionName", None).unwrap();
        assert_eq!(back, PLUGIN);
        let out = set_service_member(PLUGIN, at_header(PLUGIN), 0, "traffic", None).unwrap();
        assert!(out.contains("      # the split\n    - name: api"), "{out}");
        let out = set_service_member(PLUGIN, at_header(PLUGIN), 0, "name", None).unwrap();
        assert!(
            out.contains("    - namespace: ns\n      # the split"),
            "{out}"
        );
    }

    #[test]
    fn a_whole_document_is_a_scope_too() {
        let text = "services:\n  - name: web\n    traffic: []\n";
        let out = set_service_member(
            text,
            Scope::Document,
            0,
            "traffic",
            Some(&json!([{"percent": 100}])),
        )
        .unwrap();
        assert_eq!(
            out,
            "services:\n  - name: web\n    traffic:\n    - percent: 100\n"
        );
        assert!(set_service_member(text, Scope::Document, 1, "traffic", None).is_err());
    }
}
