//! `guard resume`: a guard's verdict holds until the configuration's text
//! changes, so resuming one is a change to the text: the service's
//! `guard.resumedAt` set to the instant of the resume.

use std::io::{self, Write};

use serde_json::{Map, Value};

use super::{edit, Where};
use crate::time::format_instant;

/// Resume a service's guard.
#[derive(clap::Subcommand)]
pub enum GuardCommand {
    #[command(after_help = crate::EXIT_STATUS_HELP)]
    Resume(ResumeArgs),
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
        GuardCommand::Resume(args) => edit(&args.at, out, err, |spec, _, now| {
            resume(spec, args.instant.unwrap_or(now))
        }),
    }
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
