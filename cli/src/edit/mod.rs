//! The commands that change a configuration where it lives, as `kn service
//! update` changes a Knative Service: `set-traffic`, `tag`, `untag`,
//! `rollback`, `rollout start|stop|finish` and `guard resume`. Each reads the file (any of
//! the forms [`crate::source`] reads), changes one service, checks the
//! result with the filter's own compiler, prints the change of the split,
//! and replaces the file atomically (a new file beside it, renamed over it,
//! which is also how Envoy wants an ECDS resource file replaced). Nothing is
//! written when anything is wrong.

mod diff;
pub mod guard;
pub mod rollout;
mod targets;

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use knative_traffic::routing::Service;
use knative_traffic::RouteTable;
use serde_json::{Map, Value};

use crate::input;
use crate::source::{Form, Located};
use crate::{EXIT_FAILURE, EXIT_OK};

pub use guard::GuardCommand;
pub use rollout::RolloutCommand;
use targets::{Changes, Target};

/// Which file and which service an edit is about.
#[derive(clap::Args)]
pub struct Where {
    /// The file holding the configuration: a JSON or YAML configuration, an
    /// Envoy config or ECDS resource file with the filter's `configuration`,
    /// or a WasmPlugin manifest; `-` reads standard input and writes the
    /// changed file to standard output (the change then goes to standard
    /// error)
    #[arg(
        short = 'f',
        long = "file",
        value_name = "FILE",
        env = "KNATIVE_TRAFFIC_FILE"
    )]
    file: PathBuf,
    /// The service: NAME, or NAMESPACE/NAME where names repeat
    #[arg(value_name = "SERVICE")]
    service: String,
    /// Show the change without writing it
    #[arg(long)]
    dry_run: bool,
}

/// Set the traffic split, as `kn service update --traffic`.
///
/// Each REF=PERCENT names a tag, a revision or @latest (the latest ready
/// revision); the percents must sum to 100, and every target not named
/// gets 0% (and goes unless it has a tag). --tag and --untag are applied
/// first, as kn applies them.
#[derive(clap::Args)]
pub struct SetTrafficArgs {
    #[command(flatten)]
    at: Where,
    /// REF=PERCENT, e.g. v1=80 v2=10 @latest=10 (or comma-separated)
    #[arg(value_name = "REF=PERCENT", required = true)]
    split: Vec<String>,
    /// REVISION=TAG: give a revision (or @latest) a tag
    #[arg(long = "tag", value_name = "REVISION=TAG")]
    tags: Vec<String>,
    /// Remove a tag
    #[arg(long = "untag", value_name = "TAG")]
    untags: Vec<String>,
}

/// Give revisions tags, as `kn service update --tag`: the revision's target
/// gets the tag if it has none, else a new 0% target is added for it.
#[derive(clap::Args)]
pub struct TagArgs {
    #[command(flatten)]
    at: Where,
    /// REVISION=TAG, REVISION a revision name or @latest
    #[arg(value_name = "REVISION=TAG", required = true)]
    tags: Vec<String>,
}

/// Remove tags, as `kn service update --untag`: a target left with no tag
/// and 0% goes.
#[derive(clap::Args)]
pub struct UntagArgs {
    #[command(flatten)]
    at: Where,
    #[arg(value_name = "TAG", required = true)]
    tags: Vec<String>,
}

/// Send all of a service's traffic back to one revision (a revision name, a
/// tag or @latest), and end its timed rollout if it has one. Tags stay, at
/// 0%.
#[derive(clap::Args)]
pub struct RollbackArgs {
    #[command(flatten)]
    at: Where,
    /// The revision, tag or @latest to send 100% to
    #[arg(value_name = "REF")]
    to: String,
}

fn split_commas(values: &[String]) -> Vec<String> {
    values
        .iter()
        .flat_map(|v| v.split(','))
        .filter(|v| !v.is_empty())
        .map(str::to_owned)
        .collect()
}

pub fn set_traffic(
    args: &SetTrafficArgs,
    out: &mut impl Write,
    err: &mut impl Write,
) -> io::Result<u8> {
    let changes = Changes {
        split: split_commas(&args.split),
        tags: split_commas(&args.tags),
        untags: split_commas(&args.untags),
    };
    edit(&args.at, out, err, |service, _, _| {
        traffic(service, &changes)
    })
}

pub fn tag(args: &TagArgs, out: &mut impl Write, err: &mut impl Write) -> io::Result<u8> {
    let changes = Changes {
        tags: split_commas(&args.tags),
        ..Changes::default()
    };
    edit(&args.at, out, err, |service, _, _| {
        traffic(service, &changes)
    })
}

pub fn untag(args: &UntagArgs, out: &mut impl Write, err: &mut impl Write) -> io::Result<u8> {
    let changes = Changes {
        untags: split_commas(&args.tags),
        ..Changes::default()
    };
    edit(&args.at, out, err, |service, _, _| {
        traffic(service, &changes)
    })
}

pub fn rollback(args: &RollbackArgs, out: &mut impl Write, err: &mut impl Write) -> io::Result<u8> {
    let changes = Changes {
        split: vec![format!("{}=100", args.to)],
        ..Changes::default()
    };
    edit(&args.at, out, err, |service, _, _| {
        // The reference must be there already: a rollback goes back, it
        // does not add a revision.
        let known = service_traffic(service)?.iter().any(|t| {
            targets::tag(t) == Some(args.to.as_str())
                || targets::revision(t) == Some(args.to.as_str())
                || (args.to == targets::LATEST && targets::follows_latest(t))
        });
        if !known {
            return Err(format!(
                "{} is neither a tag nor a revision of this service's traffic",
                args.to
            ));
        }
        service.remove("rollout");
        traffic(service, &changes)
    })
}

/// The service's `traffic` (Knative's default, all to the latest revision,
/// when it has none).
fn service_traffic(service: &Map<String, Value>) -> Result<Vec<Target>, String> {
    match service.get("traffic") {
        None => Ok(vec![targets::new_target(None, None, 100)]),
        Some(traffic) => serde_json::from_value(traffic.clone())
            .map_err(|_| "traffic is not a list of targets".to_owned()),
    }
}

fn traffic(service: &mut Map<String, Value>, changes: &Changes) -> Result<(), String> {
    let name = service
        .get("name")
        .and_then(Value::as_str)
        .unwrap_or("?")
        .to_owned();
    let traffic = targets::compute(service_traffic(service)?, changes, &name)?;
    service.insert(
        "traffic".into(),
        Value::Array(traffic.into_iter().map(Value::Object).collect()),
    );
    Ok(())
}

/// The index of the service named `wanted` (`name` or `namespace/name`).
fn find_service(configuration: &Value, wanted: &str) -> Result<usize, String> {
    let services = configuration
        .get("services")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[]);
    let field = |s: &Value, key: &str| s.get(key).and_then(Value::as_str).unwrap_or("").to_owned();
    let (namespace, name) = match wanted.split_once('/') {
        Some((ns, name)) => (Some(ns), name),
        None => (None, wanted),
    };
    let found: Vec<usize> = services
        .iter()
        .enumerate()
        .filter(|(_, s)| {
            field(s, "name") == name && namespace.is_none_or(|ns| field(s, "namespace") == ns)
        })
        .map(|(i, _)| i)
        .collect();
    match found.as_slice() {
        [one] => Ok(*one),
        [] => {
            let known: Vec<String> = services
                .iter()
                .map(|s| format!("{}/{}", field(s, "namespace"), field(s, "name")))
                .collect();
            Err(format!(
                "no service {wanted}; the configuration has {}",
                known.join(", ")
            ))
        }
        _ => Err(format!(
            "{name} is in more than one namespace; name it as NAMESPACE/{name}"
        )),
    }
}

/// The compiled service for `services[index]` of the configuration.
fn compiled<'t>(table: &'t RouteTable, configuration: &Value, index: usize) -> Option<&'t Service> {
    let spec = configuration.get("services")?.get(index)?;
    let name = spec.get("name")?.as_str()?;
    let namespace = spec.get("namespace")?.as_str()?;
    table
        .services()
        .iter()
        .find(|s| &*s.name == name && &*s.namespace == namespace)
}

/// Reads the file, applies `change` to the service, checks, shows and
/// writes the result.
fn edit(
    at: &Where,
    out: &mut impl Write,
    err: &mut impl Write,
    change: impl FnOnce(&mut Map<String, Value>, &Service, u64) -> Result<(), String>,
) -> io::Result<u8> {
    let (located, table) = match input::read_located(&at.file) {
        Ok(found) => found,
        Err(errors) => {
            for error in errors {
                writeln!(err, "{error}")?;
            }
            return Ok(EXIT_FAILURE);
        }
    };
    let name = located.input.name.clone();
    let fail = |err: &mut dyn Write, message: String| -> io::Result<u8> {
        writeln!(err, "{name}: {message}")?;
        Ok(EXIT_FAILURE)
    };
    let index = match find_service(&located.configuration, &at.service) {
        Ok(index) => index,
        Err(message) => return fail(err, message),
    };
    let Some(service) = compiled(&table, &located.configuration, index) else {
        return fail(err, format!("no service {}", at.service));
    };
    let mut configuration = located.configuration.clone();
    let Some(spec) = configuration
        .get_mut("services")
        .and_then(|s| s.get_mut(index))
        .and_then(Value::as_object_mut)
    else {
        return fail(err, format!("services[{index}] is not an object"));
    };
    if let Err(message) = change(spec, service, crate::time::now_ms()) {
        return fail(
            err,
            format!("{}/{}: {message}", service.namespace, service.name),
        );
    }
    let guard_went = drop_rollouts_guard(spec);
    let to_stdout = at.file.as_os_str() == "-";
    let mut report: Vec<u8> = Vec::new();
    let before = located
        .configuration
        .get("services")
        .and_then(|s| s.get(index));
    let after = configuration.get("services").and_then(|s| s.get(index));
    if before == after {
        writeln!(
            err,
            "{name}: {}/{}: no change",
            service.namespace, service.name
        )?;
        if to_stdout {
            out.write_all(&located.input.bytes)?;
        }
        return Ok(EXIT_OK);
    }
    // The filter's own check, before anything is written.
    let json = serde_json::to_vec(&configuration).unwrap_or_default();
    if let Err(errors) = knative_traffic::compile(&json) {
        writeln!(err, "{name}: the change is refused, nothing was written:")?;
        for error in &errors.0 {
            writeln!(err, "{name}: {error}")?;
        }
        return Ok(EXIT_FAILURE);
    }
    let text = match located.rewrite(&configuration) {
        Ok(text) => text,
        Err(message) => return fail(err, message),
    };
    diff::write(&mut report, &name, service, before, after)?;
    notes(&mut report, &located, before, after)?;
    if guard_went {
        writeln!(
            report,
            "note: the guard of the timed rollout went with it (name its candidate to keep one)"
        )?;
    }
    if to_stdout {
        err.write_all(&report)?;
        out.write_all(text.as_bytes())?;
        return Ok(EXIT_OK);
    }
    out.write_all(&report)?;
    if at.dry_run {
        writeln!(out, "dry run: {name} was not changed")?;
        return Ok(EXIT_OK);
    }
    match replace_file(&at.file, &text) {
        Ok(()) => {
            writeln!(out, "wrote {name}")?;
            Ok(EXIT_OK)
        }
        Err(e) => fail(err, format!("cannot write: {e}")),
    }
}

/// A guard that names no candidate guards its service's timed rollout: an
/// edit that ends the rollout ends that guard too (it would have nothing
/// to judge, and the filter would refuse it). Whether it did.
fn drop_rollouts_guard(spec: &mut Map<String, Value>) -> bool {
    let default_guard = spec
        .get("guard")
        .and_then(Value::as_object)
        .is_some_and(|g| !g.contains_key("tag") && !g.contains_key("revisionName"));
    if default_guard && !spec.contains_key("rollout") {
        spec.remove("guard");
        return true;
    }
    false
}

/// What a user must do besides: a revision new to the service needs its
/// route where the routes are not the filter's.
fn notes(
    out: &mut impl Write,
    located: &Located,
    before: Option<&Value>,
    after: Option<&Value>,
) -> io::Result<()> {
    let revisions = |service: Option<&Value>| -> Vec<String> {
        service
            .and_then(|s| s.get("traffic"))
            .and_then(Value::as_array)
            .map(|t| {
                t.iter()
                    .filter_map(|t| {
                        t.get("revisionName")
                            .and_then(Value::as_str)
                            .map(str::to_owned)
                    })
                    .collect()
            })
            .unwrap_or_default()
    };
    let latest = |service: Option<&Value>| {
        service
            .and_then(|s| s.get("latestReadyRevisionName"))
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    let mut old = revisions(before);
    old.extend(latest(before));
    let mut new: Vec<String> = revisions(after)
        .into_iter()
        .chain(latest(after))
        .filter(|r| !old.contains(r))
        .collect();
    new.dedup();
    for revision in new {
        match located.form {
            Form::WasmPlugin => writeln!(
                out,
                "note: {revision} is new to this service: its VirtualService needs a route for it \
                 (knative-traffic istio writes them)"
            )?,
            _ => writeln!(
                out,
                "note: {revision} is new to this service: Envoy needs its cluster (by default \
                 named {revision})"
            )?,
        }
    }
    Ok(())
}

/// Replaces `path` with `text`: a new file beside it, with its permissions,
/// renamed over it, so that a reader (Envoy watching an ECDS file) sees the
/// old file or the new one, never half of one.
fn replace_file(path: &Path, text: &str) -> io::Result<()> {
    // A symbolic link's target is what is replaced.
    let path = fs::canonicalize(path)?;
    let dir = path.parent().unwrap_or(Path::new("."));
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let temporary = dir.join(format!(
        ".{file_name}.knative-traffic-{}",
        std::process::id()
    ));
    let result = (|| {
        fs::write(&temporary, text)?;
        fs::set_permissions(&temporary, fs::metadata(&path)?.permissions())?;
        fs::File::open(&temporary)?.sync_all()?;
        fs::rename(&temporary, &path)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&temporary);
    }
    result
}
