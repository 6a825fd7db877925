//! Editing JSON text in place: where a value is in the text, and replacing,
//! adding or removing one member of an object, with every other byte left
//! as it was. The edit commands change one field of one service; a
//! re-serialised document would reflow the rest of the user's file.

use serde_json::Value;

/// A step of a path into a document: an object's member or an array's
/// element.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    Key(String),
    Index(usize),
}

/// Byte range of a value in the text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    pub start: usize,
    pub end: usize,
}

/// One member of an object: where its key starts and where its value is.
struct Member {
    key: String,
    key_start: usize,
    value: Span,
}

fn error(what: &str, at: usize) -> String {
    format!("cannot read the JSON text: {what} at byte {at}")
}

fn skip_ws(b: &[u8], mut i: usize) -> usize {
    while b.get(i).is_some_and(u8::is_ascii_whitespace) {
        i += 1;
    }
    i
}

/// The end of the string literal starting at `i` (its opening quote).
fn string_end(b: &[u8], i: usize) -> Result<usize, String> {
    let mut j = i + 1;
    loop {
        match b.get(j) {
            Some(b'"') => return Ok(j + 1),
            Some(b'\\') => j += 2,
            Some(_) => j += 1,
            None => return Err(error("unterminated string", i)),
        }
    }
}

/// The end of the value starting at `i`.
fn value_end(b: &[u8], i: usize) -> Result<usize, String> {
    match b.get(i) {
        Some(b'"') => string_end(b, i),
        Some(b'{') => Ok(members(b, i)?.1),
        Some(b'[') => Ok(elements(b, i)?.1),
        Some(_) => {
            let mut j = i;
            while b
                .get(j)
                .is_some_and(|c| !matches!(c, b',' | b'}' | b']') && !c.is_ascii_whitespace())
            {
                j += 1;
            }
            if j == i {
                Err(error("expected a value", i))
            } else {
                Ok(j)
            }
        }
        None => Err(error("expected a value", i)),
    }
}

/// The members of the object starting at `i`, and the end of the object.
fn members(b: &[u8], i: usize) -> Result<(Vec<Member>, usize), String> {
    let mut out = Vec::new();
    let mut j = skip_ws(b, i + 1);
    if b.get(j) == Some(&b'}') {
        return Ok((out, j + 1));
    }
    loop {
        if b.get(j) != Some(&b'"') {
            return Err(error("expected a key", j));
        }
        let key_end = string_end(b, j)?;
        let key: String = b
            .get(j..key_end)
            .and_then(|k| serde_json::from_slice(k).ok())
            .ok_or_else(|| error("bad key", j))?;
        let colon = skip_ws(b, key_end);
        if b.get(colon) != Some(&b':') {
            return Err(error("expected ':'", colon));
        }
        let start = skip_ws(b, colon + 1);
        let end = value_end(b, start)?;
        out.push(Member {
            key,
            key_start: j,
            value: Span { start, end },
        });
        let next = skip_ws(b, end);
        match b.get(next) {
            Some(b',') => j = skip_ws(b, next + 1),
            Some(b'}') => return Ok((out, next + 1)),
            _ => return Err(error("expected ',' or '}'", next)),
        }
    }
}

/// The elements of the array starting at `i`, and the end of the array.
fn elements(b: &[u8], i: usize) -> Result<(Vec<Span>, usize), String> {
    let mut out = Vec::new();
    let mut j = skip_ws(b, i + 1);
    if b.get(j) == Some(&b']') {
        return Ok((out, j + 1));
    }
    loop {
        let end = value_end(b, j)?;
        out.push(Span { start: j, end });
        let next = skip_ws(b, end);
        match b.get(next) {
            Some(b',') => j = skip_ws(b, next + 1),
            Some(b']') => return Ok((out, next + 1)),
            _ => return Err(error("expected ',' or ']'", next)),
        }
    }
}

/// Where the value at `path` is in `text`.
pub fn span_at(text: &str, path: &[Step]) -> Result<Span, String> {
    let b = text.as_bytes();
    let start = skip_ws(b, 0);
    let mut span = Span {
        start,
        end: value_end(b, start)?,
    };
    for step in path {
        span = match step {
            Step::Key(key) => {
                if b.get(span.start) != Some(&b'{') {
                    return Err(format!("{key:?} is not in an object"));
                }
                members(b, span.start)?
                    .0
                    .into_iter()
                    .find(|m| m.key == *key)
                    .map(|m| m.value)
                    .ok_or_else(|| format!("no member {key:?}"))?
            }
            Step::Index(index) => {
                if b.get(span.start) != Some(&b'[') {
                    return Err(format!("[{index}] is not in an array"));
                }
                elements(b, span.start)?
                    .0
                    .get(*index)
                    .copied()
                    .ok_or_else(|| format!("no element [{index}]"))?
            }
        };
    }
    Ok(span)
}

/// The whitespace in front of the line that holds byte `at`.
fn indent_of_line(text: &str, at: usize) -> &str {
    let line_start = text
        .get(..at)
        .and_then(|t| t.rfind('\n'))
        .map_or(0, |i| i + 1);
    let line = text.get(line_start..).unwrap_or("");
    let width = line.len() - line.trim_start_matches([' ', '\t']).len();
    line.get(..width).unwrap_or("")
}

fn replace(text: &str, span: Span, with: &str) -> String {
    let mut out = String::with_capacity(text.len() + with.len());
    out.push_str(text.get(..span.start).unwrap_or(""));
    out.push_str(with);
    out.push_str(text.get(span.end..).unwrap_or(""));
    out
}

/// Sets (`Some`) or removes (`None`) member `key` of the object at
/// `object`: a present member's value is replaced where it is, a new member
/// goes after the last one, on a line of its own when the members are.
pub fn set_member(
    text: &str,
    object: &[Step],
    key: &str,
    value: Option<&Value>,
) -> Result<String, String> {
    let span = span_at(text, object)?;
    let b = text.as_bytes();
    if b.get(span.start) != Some(&b'{') {
        return Err(format!("{object:?} is not an object"));
    }
    let (members, end) = members(b, span.start)?;
    let position = members.iter().position(|m| m.key == key);
    match (position, value) {
        (Some(i), Some(value)) => {
            let member = members.get(i).ok_or("member")?;
            let old = text.get(member.value.start..member.value.end).unwrap_or("");
            let indent = indent_of_line(text, member.key_start);
            Ok(replace(
                text,
                member.value,
                &render_like(value, old, indent),
            ))
        }
        (Some(i), None) => {
            let member = members.get(i).ok_or("member")?;
            // The member and the comma that joins it to its neighbour: the
            // one before it, or for the first member the one after.
            let cut = if i > 0 {
                let previous = members.get(i - 1).ok_or("member")?;
                Span {
                    start: previous.value.end,
                    end: member.value.end,
                }
            } else if let Some(next) = members.get(1) {
                Span {
                    start: member.key_start,
                    end: next.key_start,
                }
            } else {
                Span {
                    start: span.start + 1,
                    end: end - 1,
                }
            };
            Ok(replace(text, cut, ""))
        }
        (None, Some(value)) => {
            let key_text = serde_json::to_string(key).map_err(|e| e.to_string())?;
            match members.last() {
                Some(last) => {
                    let multiline = text
                        .get(span.start..last.key_start)
                        .is_some_and(|t| t.contains('\n'));
                    let indent = indent_of_line(text, last.key_start);
                    let inserted = if multiline {
                        format!(
                            ",\n{indent}{key_text}: {}",
                            render_block(value, indent, step_of(text, span.start, indent))
                        )
                    } else {
                        format!(", {key_text}: {}", render_inline(value))
                    };
                    let at = Span {
                        start: last.value.end,
                        end: last.value.end,
                    };
                    Ok(replace(text, at, &inserted))
                }
                None => {
                    let inserted = format!("{{{key_text}: {}}}", render_inline(value));
                    Ok(replace(
                        text,
                        Span {
                            start: span.start,
                            end,
                        },
                        &inserted,
                    ))
                }
            }
        }
        (None, None) => Ok(text.to_owned()),
    }
}

/// The indentation step of the document: a member's indent minus its
/// object's line's.
fn step_of(text: &str, object_start: usize, member_indent: &str) -> usize {
    member_indent
        .len()
        .saturating_sub(indent_of_line(text, object_start).len())
        .max(1)
}

/// `value` written the way `old` (the value it replaces) is: on one line if
/// `old` is; an array of objects with each element on a line of its own if
/// `old`'s elements are (`envoy/envoy.yaml`'s `traffic`); else one member
/// per line. `indent` is the indentation of the member's line.
pub fn render_like(value: &Value, old: &str, indent: &str) -> String {
    if !old.contains('\n') {
        return render_inline(value);
    }
    let step = old
        .lines()
        .nth(1)
        .map(|line| line.len() - line.trim_start().len())
        .unwrap_or(indent.len() + 2)
        .saturating_sub(indent.len())
        .max(1);
    let one_per_line = old.starts_with('[')
        && old
            .lines()
            .skip(1)
            .filter(|l| !matches!(l.trim(), "]" | ""))
            .all(|l| {
                l.trim_start().starts_with('{') && l.trim_end().trim_end_matches(',').ends_with('}')
            });
    match value {
        Value::Array(items) if one_per_line && !items.is_empty() => {
            let inner = format!("{indent}{}", " ".repeat(step));
            let lines: Vec<String> = items
                .iter()
                .map(|item| format!("{inner}{}", render_inline(item)))
                .collect();
            format!("[\n{}\n{indent}]", lines.join(",\n"))
        }
        _ => render_block(value, indent, step),
    }
}

/// One member per line, `step` spaces deeper per level.
fn render_block(value: &Value, indent: &str, step: usize) -> String {
    let inner = format!("{indent}{}", " ".repeat(step));
    match value {
        Value::Object(map) if !map.is_empty() => {
            let lines: Vec<String> = map
                .iter()
                .map(|(k, v)| {
                    format!(
                        "{inner}{}: {}",
                        serde_json::to_string(k).unwrap_or_default(),
                        render_block(v, &inner, step)
                    )
                })
                .collect();
            format!("{{\n{}\n{indent}}}", lines.join(",\n"))
        }
        Value::Array(items) if !items.is_empty() => {
            let lines: Vec<String> = items
                .iter()
                .map(|v| format!("{inner}{}", render_block(v, &inner, step)))
                .collect();
            format!("[\n{}\n{indent}]", lines.join(",\n"))
        }
        _ => render_inline(value),
    }
}

/// On one line, with a space inside braces and after each `:` and `,`, as
/// the shipped configurations write a traffic target.
pub fn render_inline(value: &Value) -> String {
    match value {
        Value::Object(map) if !map.is_empty() => {
            let members: Vec<String> = map
                .iter()
                .map(|(k, v)| {
                    format!(
                        "{}: {}",
                        serde_json::to_string(k).unwrap_or_default(),
                        render_inline(v)
                    )
                })
                .collect();
            format!("{{ {} }}", members.join(", "))
        }
        Value::Array(items) if !items.is_empty() => {
            let items: Vec<String> = items.iter().map(render_inline).collect();
            format!("[{}]", items.join(", "))
        }
        _ => serde_json::to_string(value).unwrap_or_default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn path(steps: &[&str]) -> Vec<Step> {
        steps
            .iter()
            .map(|s| match s.parse() {
                Ok(i) => Step::Index(i),
                Err(_) => Step::Key((*s).to_owned()),
            })
            .collect()
    }

    const DOC: &str = r#"{
  "services": [
    {
      "name": "web",
      "traffic": [
        { "tag": "a", "percent": 100 },
        { "tag": "b", "percent": 0 }
      ]
    }
  ]
}
"#;

    #[test]
    fn spans_name_their_values() {
        let span = span_at(DOC, &path(&["services", "0", "name"])).unwrap();
        assert_eq!(&DOC[span.start..span.end], "\"web\"");
        let span = span_at(DOC, &path(&["services", "0", "traffic", "1", "percent"])).unwrap();
        assert_eq!(&DOC[span.start..span.end], "0");
        assert!(span_at(DOC, &path(&["services", "1"])).is_err());
    }

    #[test]
    fn a_replaced_array_keeps_one_element_per_line() {
        let traffic = json!([{"tag": "a", "percent": 90}, {"tag": "b", "percent": 10}]);
        let out = set_member(DOC, &path(&["services", "0"]), "traffic", Some(&traffic)).unwrap();
        assert_eq!(
            out,
            DOC.replace("\"percent\": 100", "\"percent\": 90")
                .replace("\"percent\": 0", "\"percent\": 10")
        );
    }

    #[test]
    fn members_are_added_and_removed_with_their_commas() {
        let object = path(&["services", "0"]);
        let added = set_member(
            DOC,
            &object,
            "latestReadyRevisionName",
            Some(&json!("web-2")),
        )
        .unwrap();
        assert!(
            added.contains("      ],\n      \"latestReadyRevisionName\": \"web-2\"\n    }"),
            "{added}"
        );
        let removed = set_member(&added, &object, "latestReadyRevisionName", None).unwrap();
        assert_eq!(removed, DOC);
        let removed = set_member(DOC, &object, "name", None).unwrap();
        let value: Value = serde_json::from_str(&removed).unwrap();
        assert_eq!(value["services"][0].as_object().unwrap().len(), 1);
        let one = r#"{"a": 1}"#;
        assert_eq!(set_member(one, &[], "a", None).unwrap(), "{}");
        assert_eq!(
            set_member("{}", &[], "a", Some(&json!(1))).unwrap(),
            r#"{"a": 1}"#
        );
        assert_eq!(
            set_member(one, &[], "b", Some(&json!({"c": true}))).unwrap(),
            r#"{"a": 1, "b": { "c": true }}"#
        );
    }

    #[test]
    fn a_new_object_member_is_written_one_member_per_line() {
        let rollout = json!({"start": "2026-12-01T00:00:00Z", "duration": "10m"});
        let out = set_member(DOC, &path(&["services", "0"]), "rollout", Some(&rollout)).unwrap();
        assert!(
            out.contains(
                "      ],\n      \"rollout\": {\n        \"start\": \"2026-12-01T00:00:00Z\",\n        \"duration\": \"10m\"\n      }\n    }"
            ),
            "{out}"
        );
    }

    #[test]
    fn escapes_in_strings_do_not_end_them() {
        let text = r#"{"a": "x\"}", "b": [1, 2]}"#;
        let span = span_at(text, &path(&["b"])).unwrap();
        assert_eq!(&text[span.start..span.end], "[1, 2]");
    }
}
