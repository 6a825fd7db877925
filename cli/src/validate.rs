//! `validate FILE…`: the filter's own validation, with its own messages.

use std::io::{self, Write};
use std::path::PathBuf;

use knative_traffic::RouteTable;

use crate::{input, EXIT_FAILURE, EXIT_OK};

/// Check configuration files with the filter's own validation.
///
/// Each valid file gets a line on standard output; each error gets a line on
/// standard error: the file, then the message the filter would log and
/// refuse the configuration with. Every file is checked, and the status is 1
/// if any file has an error, so it can gate a CI pipeline.
#[derive(clap::Args)]
pub struct Args {
    /// Filter configurations: JSON or YAML, Envoy configs or ECDS resources
    /// with the filter, or WasmPlugins; `-` reads standard input
    #[arg(required = true, value_name = "FILE")]
    files: Vec<PathBuf>,
}

pub fn run(args: &Args, out: &mut impl Write, err: &mut impl Write) -> io::Result<u8> {
    let mut status = EXIT_OK;
    for path in &args.files {
        match input::read_configuration(path) {
            Ok((input, table)) => writeln!(out, "{}: ok ({})", input.name, summary(&table))?,
            Err(errors) => {
                status = EXIT_FAILURE;
                for error in errors {
                    writeln!(err, "{error}")?;
                }
            }
        }
    }
    Ok(status)
}

/// `2 services, 5 revisions, 6 tags`, then the timed rollouts, mirrors
/// and guards if there are any.
fn summary(table: &RouteTable) -> String {
    let services = table.services();
    let revisions: usize = services.iter().map(|s| s.destinations.len()).sum();
    let tags: usize = services.iter().map(|s| s.tags().count()).sum();
    let rollouts = services.iter().filter(|s| s.rollout().is_some()).count();
    let mirrors = services
        .iter()
        .filter(|s| s.mirror_destination().is_some())
        .count();
    let guards = services.iter().filter(|s| s.guard.is_some()).count();
    let mut parts = vec![
        plural(services.len(), "service"),
        plural(revisions, "revision"),
        plural(tags, "tag"),
    ];
    if rollouts > 0 {
        parts.push(plural(rollouts, "timed rollout"));
    }
    if mirrors > 0 {
        parts.push(plural(mirrors, "mirror"));
    }
    if guards > 0 {
        parts.push(plural(guards, "guard"));
    }
    parts.join(", ")
}

fn plural(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}
