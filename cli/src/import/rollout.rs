//! A rollout Knative has in progress, as a Service's `status.traffic` shows
//! it, continued by the filter's clock: the split in force at the import,
//! then the rest of Knative's steps to the end.
//!
//! During a rollout, Knative's status lists a latest-following target once
//! per revision its share is split between (traffic.go,
//! GetRevisionTrafficTargets), oldest first; its controller keeps the
//! schedule in the KIngress, which a Service does not show. So the import
//! works the schedule out: Knative's steps for the duration (the Service's
//! `rollout-duration`, or config-network's), with the smallest minimum step
//! that has the split in force as one of its steps, placed so that the
//! import's instant is that step.

use knative_traffic::rollout::{moves, Plan, Timing};
use serde_json::Value;

/// What the import writes as the service's `rollout`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Continued {
    pub from: String,
    pub start_ms: u64,
    pub duration_s: u64,
    pub min_step_s: u64,
}

/// The latest-following group whose split the status shows: the main
/// route's (untagged targets), else the first tag's.
struct Group {
    /// `(revision, percent)` in the status's order, oldest first.
    revisions: Vec<(String, u32)>,
}

fn group(status_traffic: &[Value]) -> Option<Group> {
    let latest: Vec<&Value> = status_traffic
        .iter()
        .filter(|t| t.get("latestRevision").and_then(Value::as_bool) == Some(true))
        .collect();
    fn tag_of(t: &Value) -> Option<&str> {
        t.get("tag")
            .and_then(Value::as_str)
            .filter(|t| !t.is_empty())
    }
    let untagged: Vec<&&Value> = latest.iter().filter(|t| tag_of(t).is_none()).collect();
    let chosen: Vec<&Value> = if untagged.is_empty() {
        let first = latest.iter().find_map(|t| tag_of(t))?;
        latest
            .iter()
            .filter(|t| tag_of(t) == Some(first))
            .copied()
            .collect()
    } else {
        untagged.into_iter().copied().collect()
    };
    let revisions = chosen
        .iter()
        .filter_map(|t| {
            let revision = t.get("revisionName").and_then(Value::as_str)?;
            let percent = t.get("percent").and_then(Value::as_u64).unwrap_or(0);
            Some((revision.to_owned(), u32::try_from(percent).ok()?))
        })
        .collect();
    Some(Group { revisions })
}

/// The rollout to write for a Service whose status shows one in progress,
/// `None` if it shows none. `duration_s` is the rollout duration in force
/// (`None` if unknown); `now_ms` the import's instant.
pub fn continued(
    status_traffic: &[Value],
    latest_ready: &str,
    duration_s: Option<u64>,
    now_ms: u64,
    warnings: &mut Vec<String>,
) -> Result<Option<Continued>, String> {
    let Some(group) = group(status_traffic) else {
        return Ok(None);
    };
    let new = group
        .revisions
        .iter()
        .filter(|(r, _)| r == latest_ready)
        .map(|(_, p)| p)
        .sum::<u32>();
    let older: Vec<&(String, u32)> = group
        .revisions
        .iter()
        .filter(|(r, p)| r != latest_ready && *p > 0)
        .collect();
    let Some((from, _)) = older.last() else {
        return Ok(None);
    };
    let share = new + older.iter().map(|(_, p)| p).sum::<u32>();
    if older.len() > 1 {
        let names: Vec<&str> = older.iter().map(|(r, _)| r.as_str()).collect();
        warnings.push(format!(
            "the rollout in progress moves traffic from {} revisions ({}); the filter's rollout moves from one, so the import rolls from the newest, {from}, which takes the others' share",
            names.len(),
            names.join(", ")
        ));
    }
    let Some(duration_s) = duration_s.filter(|d| *d > 0) else {
        return Err(format!(
            "status.traffic shows a rollout from {from} to {latest_ready} in progress, but its duration is unknown: give the Service serving.knative.dev/rollout-duration, or pass the cluster's config-network with --config-network"
        ));
    };
    let plan = |min_step_s| Plan {
        start_ms: 0,
        duration_s,
        timing: Timing::Knative { min_step_s },
    };
    // The smallest minimum step whose schedule has the split in force as a
    // step (Knative's controller measures the minimum step in whole seconds).
    let on_schedule = (1..=duration_s.min(600)).find_map(|min_step_s| {
        let (_, steps) = moves(&plan(min_step_s), share);
        steps
            .iter()
            .find(|(percent, _)| *percent == new)
            .map(|(_, offset)| (min_step_s, *offset))
    });
    let (min_step_s, offset) = match on_schedule {
        Some(found) => found,
        None => {
            let (_, steps) = moves(&plan(1), share);
            let (percent, offset) = steps
                .iter()
                .rev()
                .find(|(percent, _)| *percent <= new)
                .copied()
                .unwrap_or((1, 0));
            warnings.push(format!(
                "the split in force ({latest_ready} at {new}% of {share}%) is no step of Knative's schedule for a {duration_s}s rollout; the import starts at the nearest step below, {percent}%"
            ));
            (1, offset)
        }
    };
    Ok(Some(Continued {
        from: from.clone(),
        start_ms: now_ms.saturating_sub(offset),
        duration_s,
        min_step_s,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const NOW: u64 = 1_795_622_400_000;

    #[test]
    fn a_rollout_in_progress_is_continued_from_its_split() {
        // Knative's table test "simple route rollout when ingress becomes
        // ready": [config-00000 99, config-00001 1], both latestRevision.
        let status = [
            json!({"revisionName": "config-00000", "percent": 99, "latestRevision": true}),
            json!({"revisionName": "config-00001", "percent": 1, "latestRevision": true}),
        ];
        let mut warnings = Vec::new();
        let c = continued(&status, "config-00001", Some(120), NOW, &mut warnings)
            .unwrap()
            .unwrap();
        assert_eq!(
            c,
            Continued {
                from: "config-00000".into(),
                start_ms: NOW,
                duration_s: 120,
                min_step_s: 1
            }
        );
        assert!(warnings.is_empty());
        // Mid-way: 37% of a 70% share rolled (a pinned 30% beside it).
        let status = [
            json!({"revisionName": "web-1", "percent": 30, "latestRevision": false}),
            json!({"revisionName": "web-2", "percent": 33, "latestRevision": true}),
            json!({"revisionName": "web-3", "percent": 37, "latestRevision": true}),
        ];
        let c = continued(&status, "web-3", Some(400), NOW, &mut warnings)
            .unwrap()
            .unwrap();
        let (_, steps) = moves(
            &Plan {
                start_ms: c.start_ms,
                duration_s: 400,
                timing: Timing::Knative {
                    min_step_s: c.min_step_s,
                },
            },
            70,
        );
        // The import's instant is the start of the step that gives 37%.
        assert!(steps
            .iter()
            .any(|(p, offset)| *p == 37 && c.start_ms + offset == NOW));
    }

    #[test]
    fn no_rollout_and_unknown_durations() {
        let done = [json!({"revisionName": "web-3", "percent": 100, "latestRevision": true})];
        let mut warnings = Vec::new();
        assert_eq!(
            continued(&done, "web-3", Some(60), NOW, &mut warnings),
            Ok(None)
        );
        let rolling = [
            json!({"revisionName": "web-2", "percent": 50, "latestRevision": true}),
            json!({"revisionName": "web-3", "percent": 50, "latestRevision": true}),
        ];
        assert!(continued(&rolling, "web-3", None, NOW, &mut warnings)
            .unwrap_err()
            .contains("its duration is unknown"));
    }
}
