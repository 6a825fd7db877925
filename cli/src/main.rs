//! `knative-traffic`: the operators' tool for the filter's traffic
//! configuration. It validates a configuration, simulates where requests go,
//! describes what it sets up, changes a service's traffic (and resumes its
//! guard) in the file where the configuration lives, shows what a running Envoy's filter is doing,
//! imports a configuration from Knative Services and writes the Istio
//! manifests for one, all with the filter's own configuration and routing
//! code (the `knative-traffic` library), so what it says is what the proxy
//! does.
//!
//! Exit status: 0 success, 1 an input is unreadable or invalid, a service or
//! an edit is refused, or it cannot be imported or written as Istio
//! manifests (or the output cannot be written), 2 a usage error.

// Bad input is reported, never a panic: the workspace's lints deny the
// ways to panic outside tests.

mod describe;
mod edit;
mod guard_view;
mod import;
mod input;
mod istio;
mod jsontext;
mod rollout_view;
mod simulate;
mod source;
mod status;
mod time;
mod validate;
mod yamltext;

use std::io::{self, Write};
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Success.
pub const EXIT_OK: u8 = 0;
/// An input is unreadable, not JSON or YAML, an invalid configuration, a
/// service that is not there, an edit the filter would refuse, not
/// importable, or not expressible as Istio manifests; or the output could
/// not be written.
pub const EXIT_FAILURE: u8 = 1;
/// A usage error: an unknown command or option, a missing or malformed
/// argument (clap's own status for these).
pub const EXIT_USAGE: u8 = 2;

const EXIT_STATUS_HELP: &str = "\
Exit status:
  0  success
  1  an input is unreadable, not JSON or YAML, an invalid configuration, an
     unknown service, a refused edit, not importable or not expressible as
     Istio manifests
  2  usage error (unknown command or option, missing or malformed argument)";

/// Knative Serving's traffic model for Envoy: check, try out, describe,
/// change and import the filter's traffic configuration with the filter's
/// own code, watch a running Envoy's filter, and write the Istio manifests
/// that deploy it.
#[derive(Parser)]
#[command(name = "knative-traffic", version, after_help = EXIT_STATUS_HELP)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    #[command(after_help = EXIT_STATUS_HELP)]
    Validate(validate::Args),
    #[command(after_help = EXIT_STATUS_HELP)]
    Simulate(simulate::Args),
    #[command(after_help = EXIT_STATUS_HELP)]
    Describe(describe::Args),
    #[command(after_help = EXIT_STATUS_HELP)]
    SetTraffic(edit::SetTrafficArgs),
    #[command(after_help = EXIT_STATUS_HELP)]
    Tag(edit::TagArgs),
    #[command(after_help = EXIT_STATUS_HELP)]
    Untag(edit::UntagArgs),
    #[command(after_help = EXIT_STATUS_HELP)]
    Rollback(edit::RollbackArgs),
    /// Start, stop or finish a service's timed rollout
    #[command(subcommand)]
    Rollout(edit::RolloutCommand),
    /// Resume a service's guard after it stopped a failing candidate
    #[command(subcommand)]
    Guard(edit::GuardCommand),
    #[command(after_help = EXIT_STATUS_HELP)]
    ImportKnative(import::Args),
    #[command(after_help = EXIT_STATUS_HELP)]
    Istio(istio::Args),
    #[command(after_help = status::EXIT_STATUS_HELP)]
    Status(status::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let stdout = io::stdout();
    let stderr = io::stderr();
    let mut out = stdout.lock();
    let mut err = stderr.lock();
    let result = match &cli.command {
        Command::Validate(args) => validate::run(args, &mut out, &mut err),
        Command::Simulate(args) => simulate::run(args, &mut out, &mut err),
        Command::Describe(args) => describe::run(args, &mut out, &mut err),
        Command::SetTraffic(args) => edit::set_traffic(args, &mut out, &mut err),
        Command::Tag(args) => edit::tag(args, &mut out, &mut err),
        Command::Untag(args) => edit::untag(args, &mut out, &mut err),
        Command::Rollback(args) => edit::rollback(args, &mut out, &mut err),
        Command::Rollout(command) => edit::rollout::run(command, &mut out, &mut err),
        Command::Guard(command) => edit::guard::run(command, &mut out, &mut err),
        Command::ImportKnative(args) => import::run(args, &mut out, &mut err),
        Command::Istio(args) => istio::run(args, &mut out, &mut err),
        Command::Status(args) => status::run(args, &mut out, &mut err),
    };
    let status = result.and_then(|status| out.flush().map(|()| status));
    match status {
        Ok(status) => ExitCode::from(status),
        // A reader that went away (`| head`) is not worth a message.
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => ExitCode::from(EXIT_FAILURE),
        Err(e) => {
            let _ = writeln!(err, "error: cannot write the output: {e}");
            ExitCode::from(EXIT_FAILURE)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_well_formed() {
        Cli::command().debug_assert();
    }
}
