//! `guard set`, `guard remove` and `guard resume`. A guard's verdict holds
//! until the configuration's text changes, so resuming one is a change to
//! the text: the service's `guard.resumedAt` set to the instant of the
//! resume.

use std::io::{self, Write};

use serde_json::{Map, Value};

use super::{edit, Where};
use crate::time::format_instant;

/// Guard a service's canary, stop guarding it, or resume a tripped guard.
#[derive(clap::Subcommand)]
pub enum GuardCommand {
    #[command(after_help = crate::EXIT_STATUS_HELP)]
    Set(SetArgs),
    #[command(after_help = crate::EXIT_STATUS_HELP)]
    Remove(RemoveArgs),
    #[command(after_help = crate::EXIT_STATUS_HELP)]
    Resume(ResumeArgs),
}

/// Guard a canary: judge its split answers and take its share away when it
/// fails significantly more often than the rest (docs/guard.md).
///
/// Without --tag or --revision, the guard guards the service's timed
/// rollout. Options left out keep the filter's defaults.
#[derive(clap::Args)]
pub struct SetArgs {
    #[command(flatten)]
    at: Where,
    /// The candidate, by tag
    #[arg(long, value_name = "TAG", conflicts_with = "revision")]
    tag: Option<String>,
    /// The candidate, by revision name
    #[arg(long, value_name = "REVISION")]
    revision: Option<String>,
    /// Answers per verdict (default 100)
    #[arg(long, value_name = "N")]
    min_answers: Option<u32>,
    /// The oldest answers a verdict may rest on, a Go duration (default 60s)
    #[arg(long, value_name = "DURATION")]
    window: Option<String>,
    /// Percentage points the candidate may fail more often than the rest
    /// (default 5)
    #[arg(long, value_name = "POINTS")]
    tolerance: Option<f64>,
    /// Judge the candidate's failure rate alone, not against the rest's
    #[arg(long)]
    no_compare: bool,
    /// Also count an answer slower than this as failed
    #[arg(long, value_name = "MS")]
    latency_ms: Option<u64>,
}

/// Stop guarding a service.
#[derive(clap::Args)]
pub struct RemoveArgs {
    #[command(flatten)]
    at: Where,
}

/// Resume a guard that stopped a failing candidate.
///
/// Sets the service's guard.resumedAt to now (or --at). A proxy keeps a
/// guard's verdict until the configuration's text changes; once it loads
/// this change, the guard judges afresh and the split is the configured one
/// again.
#[derive(clap::Args)]
pub struct ResumeArgs {
    #[command(flatten)]
    at: Where,
    /// The instant written as resumedAt, RFC 3339, to the second (default:
    /// now)
    #[arg(long = "at", value_name = "TIME", value_parser = crate::time::parse_at)]
    instant: Option<u64>,
}

pub fn run(command: &GuardCommand, out: &mut impl Write, err: &mut impl Write) -> io::Result<u8> {
    match command {
        GuardCommand::Set(args) => edit(&args.at, out, err, |spec, _, _| {
            spec.insert("guard".into(), Value::Object(guard(args)));
            Ok(())
        }),
        GuardCommand::Remove(args) => edit(&args.at, out, err, |spec, _, _| {
            spec.remove("guard")
                .map(|_| ())
                .ok_or_else(|| "has no guard".to_owned())
        }),
        GuardCommand::Resume(args) => edit(&args.at, out, err, |spec, _, now| {
            resume(spec, args.instant.unwrap_or(now))
        }),
    }
}

/// The guard the options describe, its fields in the reference's order.
fn guard(args: &SetArgs) -> Map<String, Value> {
    let mut guard = Map::new();
    let mut put = |key: &str, value: Option<Value>| {
        if let Some(value) = value {
            guard.insert(key.into(), value);
        }
    };
    put("tag", args.tag.clone().map(Value::from));
    put("revisionName", args.revision.clone().map(Value::from));
    put("minAnswers", args.min_answers.map(Value::from));
    put("window", args.window.clone().map(Value::from));
    put("tolerance", args.tolerance.map(Value::from));
    put("compare", args.no_compare.then_some(Value::Bool(false)));
    put("latencyMs", args.latency_ms.map(Value::from));
    guard
}

fn resume(spec: &mut Map<String, Value>, at_ms: u64) -> Result<(), String> {
    let guard = spec
        .get_mut("guard")
        .and_then(Value::as_object_mut)
        .ok_or("has no guard")?;
    let at = format_instant(at_ms / 1000 * 1000);
    // The same text would keep the verdict: that is no resume.
    if guard.get("resumedAt").and_then(Value::as_str) == Some(at.as_str()) {
        return Err(format!(
            "its guard was already resumed at {at}: the configuration would not change, and a verdict holds until it does; give a later --at"
        ));
    }
    guard.insert("resumedAt".into(), at.into());
    Ok(())
}
