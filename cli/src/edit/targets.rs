//! A service's `traffic` as kn edits it: `kn service update --traffic`,
//! `--tag` and `--untag`, in the order and with the rules of knative/client's
//! `pkg/kn/commands/traffic/compute.go` (`Compute`): untag first, then tag
//! (`@latest` first), then the split, which resets every percent and sets
//! the ones given; at the end a target with neither a tag nor a percent
//! goes. Targets are kept as JSON objects, so the fields kn does not touch
//! (`visibility`, `url`) and the order of each target's fields stay.

use serde_json::{Map, Value};

/// kn's name for the target that follows the latest ready revision.
pub const LATEST: &str = "@latest";

pub type Target = Map<String, Value>;

fn text<'t>(target: &'t Target, key: &str) -> Option<&'t str> {
    target.get(key).and_then(Value::as_str)
}

pub fn tag(target: &Target) -> Option<&str> {
    text(target, "tag").filter(|t| !t.is_empty())
}

pub fn revision(target: &Target) -> Option<&str> {
    text(target, "revisionName")
}

pub fn follows_latest(target: &Target) -> bool {
    target.get("latestRevision").and_then(Value::as_bool) == Some(true)
}

pub fn percent(target: &Target) -> u64 {
    target.get("percent").and_then(Value::as_u64).unwrap_or(0)
}

/// A new target, with its fields in Knative's order.
pub fn new_target(tag: Option<&str>, revision: Option<&str>, percent: u64) -> Target {
    let mut target = Map::new();
    if let Some(tag) = tag {
        target.insert("tag".into(), tag.into());
    }
    match revision {
        Some(revision) => target.insert("revisionName".into(), revision.into()),
        None => target.insert("latestRevision".into(), true.into()),
    };
    target.insert("percent".into(), percent.into());
    target
}

/// `REF=VALUE` (kn's `splitByEqualSign`), with a `%` after a percent
/// allowed.
fn split_pair(pair: &str) -> Result<(&str, &str), String> {
    match pair.split('=').collect::<Vec<_>>().as_slice() {
        [a, b] if !a.is_empty() && !b.is_empty() => Ok((a, b.trim_end_matches('%'))),
        _ => Err(format!(
            "expecting the value format in value1=value2, given {pair}"
        )),
    }
}

/// What to change, as kn's flags say it.
#[derive(Debug, Default)]
pub struct Changes {
    /// `REF=PERCENT`: REF a tag, a revision or `@latest`.
    pub split: Vec<String>,
    /// `REVISION=TAG`: REVISION a revision or `@latest`.
    pub tags: Vec<String>,
    pub untags: Vec<String>,
}

/// The split as given, checked as kn checks it (`verifyInputSanity`): each
/// reference once, integer percents from 0 to 100 that sum to 100.
fn parse_split(split: &[String]) -> Result<Vec<(String, u64)>, String> {
    let mut out: Vec<(String, u64)> = Vec::new();
    for pair in split {
        let (reference, percent) = split_pair(pair)?;
        if out.iter().any(|(r, _)| r == reference) {
            let what = if reference == LATEST {
                format!("identifier {LATEST}")
            } else {
                format!("revision reference {reference}")
            };
            return Err(format!("repetition of {what} is not allowed, use it once"));
        }
        let percent: i64 = percent.parse().map_err(|_| {
            format!("error converting given {percent} to integer value for traffic distribution")
        })?;
        let percent = u64::try_from(percent)
            .ok()
            .filter(|p| *p <= 100)
            .ok_or_else(|| {
                format!("invalid value for traffic percent {percent}, expected 0 <= percent <= 100")
            })?;
        out.push((reference.to_owned(), percent));
    }
    let sum: u64 = out.iter().map(|(_, p)| p).sum();
    if !out.is_empty() && sum != 100 {
        return Err(format!("given traffic percents sum to {sum}, want 100"));
    }
    Ok(out)
}

/// `traffic` with `changes` applied.
pub fn compute(
    mut traffic: Vec<Target>,
    changes: &Changes,
    service: &str,
) -> Result<Vec<Target>, String> {
    let split = parse_split(&changes.split)?;
    let mut tags: Vec<(String, String)> = Vec::new();
    for pair in &changes.tags {
        let (revision, tag) = split_pair(pair)?;
        if revision == LATEST && tags.iter().any(|(r, _)| r == LATEST) {
            return Err(format!(
                "repetition of identifier {LATEST} is not allowed, use it once"
            ));
        }
        tags.push((revision.to_owned(), tag.to_owned()));
    }

    // Untag.
    let missing: Vec<&str> = changes
        .untags
        .iter()
        .filter(
            |name| match traffic.iter_mut().find(|t| tag(t) == Some(name.as_str())) {
                Some(target) => {
                    target.remove("tag");
                    false
                }
                None => true,
            },
        )
        .map(String::as_str)
        .collect();
    if !missing.is_empty() {
        return Err(format!(
            "tag(s) {} not present for any revisions of service {service}",
            missing.join(", ")
        ));
    }

    // Tag.
    let overwriting = |tag: &str| {
        format!("refusing to overwrite existing tag in service, add `--untag {tag}` to untag it")
    };
    for (revision, new_tag) in &tags {
        let present = |traffic: &[Target]| traffic.iter().any(|t| tag(t) == Some(new_tag.as_str()));
        if revision == LATEST {
            let existing = traffic
                .iter()
                .find(|t| follows_latest(t))
                .and_then(|t| tag(t).map(str::to_owned));
            if existing.as_deref() == Some(new_tag.as_str()) {
                continue;
            }
            if present(&traffic) {
                return Err(overwriting(new_tag));
            }
            if let Some(existing) = existing {
                return Err(format!(
                    "tag '{existing}' exists on the latest ready revision of the service, refusing \
                     to overwrite it with '{new_tag}', add `--untag {existing}` to untag it"
                ));
            }
            match traffic.iter_mut().find(|t| follows_latest(t)) {
                Some(target) => {
                    target.insert("tag".into(), new_tag.as_str().into());
                }
                None => traffic.push(new_target(Some(new_tag), None, 0)),
            }
            continue;
        }
        if traffic
            .iter()
            .any(|t| tag(t) == Some(new_tag.as_str()) && revision_is(t, revision))
        {
            continue;
        }
        if present(&traffic) {
            return Err(overwriting(new_tag));
        }
        // kn's TagRevision: the first target of the revision if it has no
        // tag yet, else a new 0% target.
        match traffic.iter_mut().find(|t| revision_is(t, revision)) {
            Some(target) if tag(target).is_none() => {
                let mut tagged = Map::new();
                tagged.insert("tag".into(), new_tag.as_str().into());
                tagged.extend(std::mem::take(target));
                *target = tagged;
            }
            _ => traffic.push(new_target(Some(new_tag), Some(revision), 0)),
        }
    }

    // Split.
    if !split.is_empty() {
        for target in &mut traffic {
            target.insert("percent".into(), 0.into());
        }
        for (reference, percent) in split {
            let found = if reference == LATEST {
                traffic.iter_mut().find(|t| follows_latest(t))
            } else {
                // A tag first: tags are unique, revision names need not be.
                match traffic
                    .iter()
                    .position(|t| tag(t) == Some(reference.as_str()))
                {
                    Some(i) => traffic.get_mut(i),
                    None => traffic.iter_mut().find(|t| revision_is(t, &reference)),
                }
            };
            match found {
                Some(target) => {
                    target.insert("percent".into(), percent.into());
                }
                None if reference == LATEST => traffic.push(new_target(None, None, percent)),
                None => traffic.push(new_target(None, Some(&reference), percent)),
            }
        }
    }
    traffic.retain(|t| tag(t).is_some() || percent(t) != 0);
    Ok(traffic)
}

fn revision_is(target: &Target, revision: &str) -> bool {
    !follows_latest(target) && self::revision(target) == Some(revision)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn traffic(value: Value) -> Vec<Target> {
        serde_json::from_value(value).unwrap()
    }

    fn run(before: Value, split: &[&str], tags: &[&str], untags: &[&str]) -> Result<Value, String> {
        let changes = Changes {
            split: split.iter().map(|s| s.to_string()).collect(),
            tags: tags.iter().map(|s| s.to_string()).collect(),
            untags: untags.iter().map(|s| s.to_string()).collect(),
        };
        compute(traffic(before), &changes, "web").map(|t| serde_json::to_value(t).unwrap())
    }

    fn seed() -> Value {
        json!([
            {"tag": "v1", "revisionName": "web-1", "percent": 80},
            {"tag": "v2", "revisionName": "web-2", "percent": 20},
            {"tag": "latest", "latestRevision": true, "percent": 0}
        ])
    }

    #[test]
    fn a_split_resets_the_percents_it_does_not_name() {
        assert_eq!(
            run(seed(), &["v1=70", "web-2=20%", "@latest=10"], &[], &[]).unwrap(),
            json!([
                {"tag": "v1", "revisionName": "web-1", "percent": 70},
                {"tag": "v2", "revisionName": "web-2", "percent": 20},
                {"tag": "latest", "latestRevision": true, "percent": 10}
            ])
        );
        // A revision with no target gets one; an untagged 0% target goes.
        let before = json!([{"revisionName": "web-1", "percent": 100}]);
        assert_eq!(
            run(before, &["web-2=100"], &[], &[]).unwrap(),
            json!([{"revisionName": "web-2", "percent": 100}])
        );
        let before = json!([{"revisionName": "web-1", "percent": 100}]);
        assert_eq!(
            run(before, &["web-1=50", "@latest=50"], &[], &[]).unwrap(),
            json!([{"revisionName": "web-1", "percent": 50}, {"latestRevision": true, "percent": 50}])
        );
    }

    #[test]
    fn splits_are_checked_as_kn_checks_them() {
        let e = |split: &[&str]| run(seed(), split, &[], &[]).unwrap_err();
        assert_eq!(
            e(&["v1=80", "v2=10"]),
            "given traffic percents sum to 90, want 100"
        );
        assert_eq!(
            e(&["v1=101"]),
            "invalid value for traffic percent 101, expected 0 <= percent <= 100"
        );
        assert_eq!(
            e(&["v1=ten"]),
            "error converting given ten to integer value for traffic distribution"
        );
        assert_eq!(
            e(&["v1=50", "v1=50"]),
            "repetition of revision reference v1 is not allowed, use it once"
        );
        assert_eq!(
            e(&["v1"]),
            "expecting the value format in value1=value2, given v1"
        );
    }

    #[test]
    fn tags_and_untags() {
        // A revision without a tag is tagged; one with a tag gets a 0% target.
        let before = json!([{"revisionName": "web-1", "percent": 100}]);
        assert_eq!(
            run(before, &[], &["web-1=stable", "web-2=next"], &[]).unwrap(),
            json!([
                {"tag": "stable", "revisionName": "web-1", "percent": 100},
                {"tag": "next", "revisionName": "web-2", "percent": 0}
            ])
        );
        assert_eq!(
            run(seed(), &[], &["web-1=old"], &[]).unwrap()[3],
            json!({"tag": "old", "revisionName": "web-1", "percent": 0})
        );
        // Untagging a 0% target removes it.
        assert_eq!(
            run(seed(), &[], &[], &["latest"])
                .unwrap()
                .as_array()
                .unwrap()
                .len(),
            2
        );
        assert_eq!(
            run(seed(), &[], &[], &["nope", "gone"]).unwrap_err(),
            "tag(s) nope, gone not present for any revisions of service web"
        );
        assert!(run(seed(), &[], &["web-3=v1"], &[])
            .unwrap_err()
            .contains("--untag v1"));
        assert!(run(seed(), &[], &["@latest=head"], &[])
            .unwrap_err()
            .contains("tag 'latest' exists"));
        // Untag first, then tag: a tag moves in one command.
        let moved = run(seed(), &[], &["web-1=v2"], &["v2"]).unwrap();
        assert_eq!(
            moved[0],
            json!({"tag": "v1", "revisionName": "web-1", "percent": 80})
        );
        assert_eq!(moved[1], json!({"revisionName": "web-2", "percent": 20}));
        assert_eq!(
            moved[3],
            json!({"tag": "v2", "revisionName": "web-1", "percent": 0})
        );
    }
}
