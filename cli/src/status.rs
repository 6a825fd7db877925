//! `status --admin URL`: what a running Envoy's filter is doing, from its
//! admin interface. The filter's counters (`/stats`) are sampled twice, an
//! interval apart, and set against the configuration in force
//! (`/config_dump`, compiled with the filter's own code): per service and
//! revision, the requests of the interval by reason, their share of the
//! split next to the configured one, the mirror's copies, a guard's answers
//! and whether it tripped, and the configuration loads.

mod admin;
mod config;
mod frame;
mod http;
mod render;

use std::io::{self, IsTerminal, Write};
use std::time::{Duration, Instant};

use crate::time::now_ms;
use crate::{EXIT_FAILURE, EXIT_OK};
use admin::{Counters, CONFIG_DUMP_PATH, SERVER_INFO_PATH, STATS_PATH};
use http::AdminUrl;

/// The command's own exit statuses: its input is a proxy, not a file.
pub const EXIT_STATUS_HELP: &str = "\
Exit status:
  0  success
  1  the admin interface cannot be read, or Envoy runs no knative-traffic filter
     (or the output cannot be written)
  2  usage error (unknown command or option, missing or malformed argument)";

/// Show what a running Envoy's knative-traffic filter is doing.
///
/// Reads the filter's counters from Envoy's admin interface twice, an
/// interval apart, and the filter's configuration in force, and prints per
/// service and revision: the requests of the interval by reason (draw,
/// sticky, rule, tag-header, tag-host; 404s for a tag that does not exist),
/// each revision's share of the requests that took the split next to the
/// share configured now (a timed rollout's current step, or a tripped guard's
/// fallback), the copies sent to a mirror, a guard's answers and failures of
/// its candidate and of the rest, and the configuration loads accepted and
/// rejected; with the totals since Envoy started. With --watch, a frame every interval until
/// interrupted.
#[derive(clap::Args)]
pub struct Args {
    /// Envoy's admin interface, e.g. http://127.0.0.1:9901 (on Istio, port
    /// 15000 through `kubectl port-forward`)
    #[arg(long, value_name = "URL", value_parser = http::parse_url)]
    admin: AdminUrl,
    /// Print a frame every interval until interrupted; the screen is cleared
    /// between frames on a terminal, and frames are separated by a blank line
    /// otherwise
    #[arg(long)]
    watch: bool,
    /// Seconds between the two samples of a frame
    #[arg(long, value_name = "SECONDS", default_value = "2", value_parser = parse_interval)]
    interval: Duration,
    /// With --watch, stop after N frames
    #[arg(long, value_name = "N", requires = "watch", value_parser = clap::value_parser!(u64).range(1..))]
    count: Option<u64>,
    /// Output format: text, or json (one JSON object per frame, one a line)
    #[arg(short = 'o', long = "output", value_name = "FORMAT", value_enum, default_value_t = Format::Text)]
    output: Format,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Format {
    Text,
    Json,
}

fn parse_interval(text: &str) -> Result<Duration, String> {
    let seconds: f64 = text
        .parse()
        .map_err(|_| format!("{text:?} is not a number of seconds, e.g. 2 or 0.5"))?;
    if !(0.1..=3600.0).contains(&seconds) {
        return Err("expected 0.1 to 3600 seconds".to_owned());
    }
    Ok(Duration::from_secs_f64(seconds))
}

pub fn run(args: &Args, out: &mut impl Write, err: &mut impl Write) -> io::Result<u8> {
    let terminal = io::stdout().is_terminal();
    match frames(args, terminal, out) {
        Ok(()) => Ok(EXIT_OK),
        Err(Failure::Output(e)) => Err(e),
        Err(Failure::Admin(message)) => {
            writeln!(err, "error: {message}")?;
            Ok(EXIT_FAILURE)
        }
    }
}

enum Failure {
    /// The admin interface could not be read, or holds no filter.
    Admin(String),
    Output(io::Error),
}

impl From<io::Error> for Failure {
    fn from(e: io::Error) -> Failure {
        Failure::Output(e)
    }
}

struct Sample {
    at: Instant,
    counters: Counters,
}

fn sample(admin: &AdminUrl) -> Result<Sample, Failure> {
    let text = http::get(admin, STATS_PATH).map_err(Failure::Admin)?;
    let counters = admin::parse_stats(&text)
        .map_err(|e| Failure::Admin(format!("{}: {e}", admin.url(STATS_PATH))))?;
    Ok(Sample {
        at: Instant::now(),
        counters,
    })
}

/// The filter configurations in force.
fn configurations(admin: &AdminUrl) -> Result<Vec<config::Loaded>, Failure> {
    let url = admin.url(CONFIG_DUMP_PATH);
    let text = http::get(admin, CONFIG_DUMP_PATH).map_err(Failure::Admin)?;
    let filters = admin::wasm_filters(&text).map_err(|e| Failure::Admin(format!("{url}: {e}")))?;
    config::load(&filters).map_err(|e| Failure::Admin(format!("{url}: {e}")))
}

/// The first sample comes first, so that a frame's interval starts when
/// the command does; the configuration is read next, so that an Envoy
/// without the filter is reported at once rather than after an interval.
fn frames(args: &Args, terminal: bool, out: &mut impl Write) -> Result<(), Failure> {
    let admin = &args.admin;
    let mut before = sample(admin)?;
    configurations(admin)?;
    let envoy = http::get(admin, SERVER_INFO_PATH)
        .ok()
        .and_then(|info| admin::envoy_version(&info));
    let mut shown = 0u64;
    loop {
        std::thread::sleep(args.interval.saturating_sub(before.at.elapsed()));
        let after = sample(admin)?;
        let now = now_ms();
        let configurations = configurations(admin)?;
        let frame = frame::build(
            &frame::Sampled {
                admin: admin.base(),
                envoy: envoy.clone(),
                before: &before.counters,
                after: &after.counters,
                interval_seconds: after.at.duration_since(before.at).as_secs_f64(),
                now_ms: now,
            },
            &configurations,
        );
        match args.output {
            Format::Json => {
                serde_json::to_writer(&mut *out, &frame).map_err(io::Error::from)?;
                writeln!(out)?;
            }
            Format::Text if terminal && args.watch => {
                // Home, then clear: the frame redraws in place.
                write!(out, "\x1b[H\x1b[2J{}", render::text(&frame))?;
            }
            Format::Text => {
                if shown > 0 {
                    writeln!(out)?;
                }
                write!(out, "{}", render::text(&frame))?;
            }
        }
        out.flush()?;
        shown += 1;
        if !args.watch || args.count.is_some_and(|n| shown >= n) {
            return Ok(());
        }
        before = after;
    }
}

#[cfg(test)]
pub mod tests {
    use super::*;

    /// A capture of Envoy's admin interface, in `tests/data/admin`.
    pub fn data(name: &str) -> String {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/data/admin")
            .join(name);
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    }

    #[test]
    fn intervals() {
        assert_eq!(parse_interval("2"), Ok(Duration::from_secs(2)));
        assert_eq!(parse_interval("0.5"), Ok(Duration::from_millis(500)));
        assert!(parse_interval("0").is_err());
        assert!(parse_interval("-1").is_err());
        assert!(parse_interval("NaN").is_err());
        assert!(parse_interval("2s").is_err());
        assert!(parse_interval("3601").is_err());
    }
}
