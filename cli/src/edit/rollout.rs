//! `rollout start|stop|finish`: a timed rollout begun, frozen or completed
//! by editing the service's `rollout` (see docs/routing.md, timed rollouts).

use std::io::{self, Write};

use knative_traffic::routing::Service;
use serde_json::{Map, Value};

use super::targets::{self, Target};
use super::{edit, service_traffic, Where};

/// Start, stop or finish a timed rollout.
#[derive(clap::Subcommand)]
pub enum RolloutCommand {
    Start(StartArgs),
    Stop(StopArgs),
    Finish(FinishArgs),
}

/// Roll the share that follows the latest revision (`@latest`) from the
/// current latest ready revision to a new one over a duration, in Knative's
/// steps: 1% at the start, then equal steps. The new revision becomes the
/// service's latestReadyRevisionName.
#[derive(clap::Args)]
pub struct StartArgs {
    #[command(flatten)]
    at: Where,
    /// The revision to roll to
    #[arg(long, value_name = "REVISION")]
    to: String,
    /// How long the rollout takes, as Knative's rollout-duration (10m, 1h30m)
    #[arg(long, value_name = "DURATION")]
    duration: String,
    /// When it starts, RFC 3339 (default: now, to the second)
    #[arg(long, value_name = "TIME", value_parser = crate::time::parse_at)]
    start: Option<u64>,
    /// The revision it rolls from (default: the current latestReadyRevisionName)
    #[arg(long, value_name = "REVISION")]
    from: Option<String>,
    /// Knative's minimum step (default 1s)
    #[arg(long, value_name = "DURATION", conflicts_with = "steps")]
    min_step: Option<String>,
    /// Instead of Knative's timing, this many equal steps ending at start + duration
    #[arg(long, value_name = "N")]
    steps: Option<u32>,
}

/// Stop a timed rollout where it is: the split in force (at --at, default
/// now) is written as revisions' percents and the rollout removed. A tag
/// that followed the latest revision then reaches it wholly.
#[derive(clap::Args)]
pub struct StopArgs {
    #[command(flatten)]
    at: Where,
    /// The instant whose split is kept, RFC 3339 (default: now)
    #[arg(long = "at", value_name = "TIME", value_parser = crate::time::parse_at)]
    instant: Option<u64>,
}

/// Finish a timed rollout now: the rollout is removed, so the share that
/// follows the latest revision goes to it at once.
#[derive(clap::Args)]
pub struct FinishArgs {
    #[command(flatten)]
    at: Where,
}

pub fn run(command: &RolloutCommand, out: &mut impl Write, err: &mut impl Write) -> io::Result<u8> {
    match command {
        RolloutCommand::Start(args) => edit(&args.at, out, err, |spec, service, now| {
            start(args, spec, service, now)
        }),
        RolloutCommand::Stop(args) => edit(&args.at, out, err, |spec, service, now| {
            stop(spec, service, args.instant.unwrap_or(now))
        }),
        RolloutCommand::Finish(args) => edit(&args.at, out, err, |spec, _, _| {
            spec.remove("rollout")
                .map(|_| ())
                .ok_or_else(|| "has no timed rollout".to_owned())
        }),
    }
}

fn start(
    args: &StartArgs,
    spec: &mut Map<String, Value>,
    service: &Service,
    now: u64,
) -> Result<(), String> {
    let start = args.start.unwrap_or(now / 1000 * 1000);
    if let Some(rollout) = service.rollout() {
        let end = rollout
            .route()
            .map(|s| s.end_ms())
            .into_iter()
            .chain(service.tag_rollouts().map(|(_, s)| s.end_ms()))
            .max()
            .unwrap_or(0);
        if end > now {
            return Err(
                "has a timed rollout in progress: `rollout stop` or `rollout finish` it first"
                    .into(),
            );
        }
    }
    let current = spec
        .get("latestReadyRevisionName")
        .and_then(Value::as_str)
        .map(str::to_owned);
    let from = args
        .from
        .clone()
        .or(current)
        .ok_or("has no latestReadyRevisionName to roll from: give --from")?;
    if from == args.to {
        return Err(format!(
            "{} is already the revision the rollout starts from",
            args.to
        ));
    }
    let traffic = service_traffic(spec)?;
    let main: u64 = traffic
        .iter()
        .filter(|t| targets::follows_latest(t))
        .map(targets::percent)
        .sum();
    let tagged = traffic
        .iter()
        .any(|t| targets::follows_latest(t) && targets::tag(t).is_some());
    if main < 2 && !tagged {
        return Err(
            "has no traffic that follows the latest revision, so nothing would roll: \
             give @latest a share first (set-traffic … @latest=100)"
                .into(),
        );
    }
    let mut rollout = Map::new();
    rollout.insert("fromRevisionName".into(), from.into());
    rollout.insert("start".into(), crate::time::format_instant(start).into());
    rollout.insert("duration".into(), args.duration.clone().into());
    if let Some(min_step) = &args.min_step {
        rollout.insert("minStep".into(), min_step.clone().into());
    }
    if let Some(steps) = args.steps {
        rollout.insert("steps".into(), steps.into());
    }
    spec.insert("latestReadyRevisionName".into(), args.to.clone().into());
    spec.insert("rollout".into(), Value::Object(rollout));
    Ok(())
}

/// The rollout frozen at `now`: the main route's split in force, written as
/// percents of revisions, with the targets pinned to a revision as they are
/// and the latest-following ones at 0% (kept only if tagged).
fn stop(spec: &mut Map<String, Value>, service: &Service, now: u64) -> Result<(), String> {
    let rollout = service.rollout().ok_or("has no timed rollout")?;
    let traffic = service_traffic(spec)?;
    let mut frozen: Vec<(String, u64)> = Vec::new();
    if let Some(schedule) = rollout.route() {
        let shares = match schedule.step_at(now) {
            None => schedule.shares_before(),
            Some(k) => schedule.step_shares(k).unwrap_or_default(),
        };
        for (destination, percent) in shares {
            let revision = service
                .destinations
                .get(destination.index())
                .map(|d| d.revision.to_string())
                .ok_or("a destination of the rollout is not the service's")?;
            frozen.push((revision, u64::from(percent)));
        }
    }
    // What the pinned targets already give each revision stays theirs.
    let mut new: Vec<Target> = Vec::with_capacity(traffic.len() + 2);
    for mut target in traffic {
        if targets::follows_latest(&target) {
            target.insert("percent".into(), 0.into());
        } else if let Some(revision) = targets::revision(&target) {
            if let Some((_, left)) = frozen.iter_mut().find(|(r, _)| r == revision) {
                *left = left.saturating_sub(targets::percent(&target));
            }
        }
        new.push(target);
    }
    for (revision, percent) in frozen.into_iter().filter(|(_, p)| *p > 0) {
        let untagged = new.iter_mut().find(|t| {
            targets::tag(t).is_none()
                && !targets::follows_latest(t)
                && targets::revision(t) == Some(revision.as_str())
        });
        match untagged {
            Some(target) => {
                let sum = targets::percent(target) + percent;
                target.insert("percent".into(), sum.into());
            }
            None => new.push(targets::new_target(None, Some(&revision), percent)),
        }
    }
    new.retain(|t| targets::tag(t).is_some() || targets::percent(t) != 0);
    spec.insert(
        "traffic".into(),
        Value::Array(new.into_iter().map(Value::Object).collect()),
    );
    spec.remove("rollout");
    Ok(())
}
