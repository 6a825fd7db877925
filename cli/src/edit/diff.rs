//! The change an edit makes, as an operator reads it: the split per
//! revision before and after, the tags that moved, the timed rollout and
//! the guard.

use std::io::{self, Write};

use knative_traffic::routing::Service;
use serde_json::Value;

use super::targets::{self, Target, LATEST};

/// A service's `traffic` block from its JSON.
fn traffic(service: Option<&Value>) -> Vec<Target> {
    match service.and_then(|s| s.get("traffic")) {
        Some(t) => serde_json::from_value(t.clone()).unwrap_or_default(),
        None => vec![targets::new_target(None, None, 100)],
    }
}

/// What a target points at: its revision, or `@latest`.
fn key(target: &Target) -> String {
    match targets::revision(target) {
        Some(revision) if !targets::follows_latest(target) => revision.to_owned(),
        _ => LATEST.to_owned(),
    }
}

fn latest(service: Option<&Value>) -> Option<&str> {
    service?.get("latestReadyRevisionName")?.as_str()
}

/// Per key, in order of first appearance, the summed percent.
fn split(service: Option<&Value>) -> Vec<(String, u64)> {
    let mut out: Vec<(String, u64)> = Vec::new();
    for target in traffic(service) {
        let key = key(&target);
        let percent = targets::percent(&target);
        match out.iter_mut().find(|(k, _)| *k == key) {
            Some((_, p)) => *p += percent,
            None => out.push((key, percent)),
        }
    }
    out
}

fn tags(service: Option<&Value>) -> Vec<(String, String)> {
    traffic(service)
        .iter()
        .filter_map(|t| Some((targets::tag(t)?.to_owned(), key(t))))
        .collect()
}

/// `from A to B over 10m, from 2026-…`.
fn rollout(service: Option<&Value>) -> Option<String> {
    let rollout = service?.get("rollout")?;
    let field = |key: &str| rollout.get(key).and_then(Value::as_str).unwrap_or("?");
    Some(format!(
        "from {} to {} over {}, starting {}",
        field("fromRevisionName"),
        latest(service).unwrap_or("?"),
        field("duration"),
        field("start")
    ))
}

pub fn write(
    out: &mut impl Write,
    file: &str,
    service: &Service,
    before: Option<&Value>,
    after: Option<&Value>,
) -> io::Result<()> {
    writeln!(out, "{file}: {}/{}", service.namespace, service.name)?;
    let (old, new) = (split(before), split(after));
    let mut rows: Vec<(String, Option<u64>, Option<u64>)> = Vec::new();
    for (label, percent) in &old {
        let after = new.iter().find(|(l, _)| l == label).map(|(_, p)| *p);
        rows.push((label.clone(), Some(*percent), after));
    }
    for (label, percent) in &new {
        if !old.iter().any(|(l, _)| l == label) {
            rows.push((label.clone(), None, Some(*percent)));
        }
    }
    // `@latest (web-2)`, or `@latest (web-2 -> web-3)` when the latest
    // ready revision changes.
    let latest_label = match (latest(before), latest(after)) {
        (Some(b), Some(a)) if a != b => format!("{LATEST} ({b} -> {a})"),
        (_, Some(a)) => format!("{LATEST} ({a})"),
        (Some(b), None) => format!("{LATEST} ({b})"),
        (None, None) => LATEST.to_owned(),
    };
    let label = |key: &str| {
        if key == LATEST {
            latest_label.clone()
        } else {
            key.to_owned()
        }
    };
    let width = rows
        .iter()
        .map(|(k, _, _)| label(k).len())
        .max()
        .unwrap_or(0);
    for (key, before, after) in rows {
        let shown = |p: Option<u64>| p.map_or("-".to_owned(), |p| format!("{p}%"));
        let change = if before == after {
            format!("{:>4}", shown(before))
        } else {
            format!("{:>4} -> {}", shown(before), shown(after))
        };
        writeln!(out, "  {:<width$}  {change}", label(&key))?;
    }
    let (old, new) = (tags(before), tags(after));
    for (tag, target) in &new {
        match old.iter().find(|(t, _)| t == tag) {
            None => writeln!(out, "  tag {tag}: added, {}", label(target))?,
            Some((_, was)) if was != target => {
                writeln!(out, "  tag {tag}: {} -> {}", label(was), label(target))?
            }
            Some(_) => {}
        }
    }
    for (tag, target) in &old {
        if !new.iter().any(|(t, _)| t == tag) {
            writeln!(out, "  tag {tag}: removed (was {})", label(target))?;
        }
    }
    match (rollout(before), rollout(after)) {
        (None, Some(new)) => writeln!(out, "  timed rollout: {new}")?,
        (Some(old), None) => writeln!(out, "  timed rollout: removed (was {old})")?,
        (Some(old), Some(new)) if old != new => writeln!(out, "  timed rollout: {old} -> {new}")?,
        _ => {}
    }
    write_guard(out, before, after)?;
    Ok(())
}

/// The guard's change: `guard resume` sets its `resumedAt`, and that is
/// what an operator wants to read; any other change of it is named only.
fn write_guard(
    out: &mut impl Write,
    before: Option<&Value>,
    after: Option<&Value>,
) -> io::Result<()> {
    let guard = |service: Option<&Value>| service.and_then(|s| s.get("guard")).cloned();
    let (old, new) = (guard(before), guard(after));
    let (old, new) = match (old, new) {
        (None, None) => return Ok(()),
        (None, Some(_)) => return writeln!(out, "  guard: added"),
        (Some(_), None) => return writeln!(out, "  guard: removed"),
        (Some(old), Some(new)) => (old, new),
    };
    // Each side's resumedAt, taken out of it.
    let split = |mut guard: Value| {
        let resumed = guard
            .as_object_mut()
            .and_then(|g| g.remove("resumedAt"))
            .and_then(|r| r.as_str().map(str::to_owned));
        (guard, resumed)
    };
    let ((old, was), (new, now)) = (split(old), split(new));
    if let Some(at) = now.filter(|at| was.as_ref() != Some(at)) {
        let was = was.map(|w| format!(" (was {w})")).unwrap_or_default();
        writeln!(out, "  guard: resumed at {at}{was}")?;
    }
    if old != new {
        writeln!(out, "  guard: changed")?;
    }
    Ok(())
}
