//! How the tool words a service's guard, for every command that shows one
//! (`describe`, `simulate`, `status`): what it judges, and the split a trip
//! leaves. Every number is read off the compiled [`Guard`], so the commands
//! say what the filter does.

use knative_traffic::guard::Guard;
use knative_traffic::routing::Service;
use knative_traffic::split::{Split, BUCKETS_PER_PERCENT};

use crate::rollout_view;

/// The revision the guard judges.
pub fn candidate<'s>(service: &'s Service, guard: &Guard) -> &'s str {
    rollout_view::revision(service, guard.candidate)
}

/// A share of buckets as a percent: `60%`, or `66.67%` for hundredths.
pub fn percent_text(buckets: u32) -> String {
    if buckets % BUCKETS_PER_PERCENT == 0 {
        format!("{}%", buckets / BUCKETS_PER_PERCENT)
    } else {
        format!(
            "{:.2}%",
            f64::from(buckets) / f64::from(BUCKETS_PER_PERCENT)
        )
    }
}

/// `web-1 66.67%, web-2 33.33%`.
pub fn split_text(service: &Service, split: &Split) -> String {
    split
        .shares()
        .into_iter()
        .map(|(d, buckets)| {
            format!(
                "{} {}",
                rollout_view::revision(service, d),
                percent_text(buckets)
            )
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// The fallback's percents by revision, to the hundredth.
pub fn fallback_percents(service: &Service, guard: &Guard) -> Vec<(String, f64)> {
    guard
        .fallback
        .shares()
        .into_iter()
        .map(|(d, buckets)| {
            (
                rollout_view::revision(service, d).to_owned(),
                f64::from(buckets) / f64::from(BUCKETS_PER_PERCENT),
            )
        })
        .collect()
}

/// The tolerance in percentage points, as a number reads: `5`, `2.5`.
pub fn tolerance_points(guard: &Guard) -> f64 {
    // The policy keeps a fraction; a million-th of a point is below any
    // tolerance anyone writes.
    (guard.policy.tolerance * 100.0 * 1e6).round() / 1e6
}

pub fn window_seconds(guard: &Guard) -> u64 {
    guard.policy.window_ms / 1000
}

/// What the guard judges: `web-3 on windows of 100 split answers (60s at
/// most): a 5xx fails; trips when significantly above the rest's failure
/// rate + 5 points`.
pub fn judges(service: &Service, guard: &Guard) -> String {
    let policy = &guard.policy;
    let failing = match policy.latency_ms {
        Some(ms) => format!("a 5xx or an answer slower than {ms} ms fails"),
        None => "a 5xx fails".to_owned(),
    };
    let bar = if policy.compare {
        format!(
            "the rest's failure rate + {} points",
            tolerance_points(guard)
        )
    } else {
        format!("a failure rate of {}%", tolerance_points(guard))
    };
    format!(
        "{} on windows of {} split answers ({}s at most): {failing}; trips when significantly above {bar}",
        candidate(service, guard),
        policy.min_answers,
        window_seconds(guard)
    )
}

/// What a trip leaves: the fallback split, and for a timed rollout that it
/// halts and where its rolling tags then go (each to its own revision).
pub fn trip_leaves(service: &Service, guard: &Guard) -> String {
    let mut text = split_text(service, &guard.fallback);
    if service.rollout().is_some() {
        text.push_str(", the timed rollout halted");
    }
    // Tags grouped by the revision they reach once no schedule rolls them.
    let mut reached: Vec<(&str, Vec<&str>)> = Vec::new();
    for (tag, _) in service.tag_rollouts() {
        let Some((_, destination)) = service.tags().find(|(name, _)| *name == tag) else {
            continue;
        };
        let revision = &*destination.revision;
        match reached.iter_mut().find(|(r, _)| *r == revision) {
            Some((_, tags)) => tags.push(tag),
            None => reached.push((revision, vec![tag])),
        }
    }
    for (revision, tags) in reached {
        match tags.as_slice() {
            [tag] => text.push_str(&format!("; tag {tag} reaches {revision}")),
            [first @ .., last] => text.push_str(&format!(
                "; tags {} and {last} reach {revision}",
                first.join(", ")
            )),
            [] => {}
        }
    }
    text
}
