//! `knative-traffic`: the operators' tool for the filter's traffic
//! configuration. It validates a configuration, simulates where requests go,
//! imports one from Knative Services and writes the Istio manifests for one,
//! all with the filter's own configuration and routing code (the
//! `knative-traffic` library), so what it says is what the proxy does.
//!
//! Exit status: 0 success, 1 an input is unreadable, not JSON, invalid, or
//! cannot be imported or written as Istio manifests (or the output cannot be
//! written), 2 a usage error.

// Bad input is reported, never a panic: the workspace's lints deny the
// ways to panic outside tests.

mod describe;
mod import;
mod input;
mod istio;
mod rollout_view;
mod simulate;
mod time;
mod validate;

use std::io::{self, Write};
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Success.
pub const EXIT_OK: u8 = 0;
/// An input is unreadable, not JSON, an invalid configuration, not
/// importable, or not expressible as Istio manifests; or the output could
/// not be written.
pub const EXIT_FAILURE: u8 = 1;
/// A usage error: an unknown command or option, a missing or malformed
/// argument (clap's own status for these).
pub const EXIT_USAGE: u8 = 2;

const EXIT_STATUS_HELP: &str = "\
Exit status:
  0  success
  1  an input is unreadable, not JSON, an invalid configuration, not importable
     or not expressible as Istio manifests
  2  usage error (unknown command or option, missing or malformed argument)";

/// Knative Serving's traffic model for Envoy: check, try out and import the
/// filter's traffic configuration with the filter's own code, and write the
/// Istio manifests that deploy it.
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
    ImportKnative(import::Args),
    #[command(after_help = EXIT_STATUS_HELP)]
    Istio(istio::Args),
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
        Command::ImportKnative(args) => import::run(args, &mut out, &mut err),
        Command::Istio(args) => istio::run(args, &mut out, &mut err),
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
