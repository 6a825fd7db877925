//! `simulate FILE --host H …`: routes N requests through the filter's own
//! routing code and counts where they went and why.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::io::{self, Write};
use std::path::PathBuf;

use knative_traffic::names::{is_cookie_name, is_header_name};
use knative_traffic::request::PlainRequest;
use knative_traffic::routing::{Service, TAG_HEADER};
use knative_traffic::{Decision, Reason, Request};
use rand_core::SeedableRng;
use rand_xorshift::XorShiftRng;

use crate::time::{format_instant, now_ms};
use crate::{guard_view, input, rollout_view, EXIT_FAILURE, EXIT_OK};

/// Route requests through the filter's routing code and count where they go.
///
/// Sends N identical requests (the host, headers and cookies given) through
/// the same routing code as the filter and prints, per revision, how many
/// arrived and why: tag-host, tag-header, rule, sticky, draw; a tag host
/// whose tag does not exist is answered 404 (not-found), and a host no
/// service has passes through the filter untouched. Then the split in force
/// and, for a service with a timed rollout, the rollout's step at the
/// instant (--at, default now). For a service with a mirror, how many of
/// the requests were also copied to the candidate (copies go out besides the
/// requests counted above). For a service with a guard, what it judges and
/// the split a trip leaves; --tripped routes as the proxy does once the
/// guard has tripped. The draw uses a seeded generator, so the same command
/// prints the same counts.
#[derive(clap::Args)]
pub struct Args {
    /// The filter's configuration: JSON or YAML, an Envoy config or ECDS
    /// resource with the filter, or a WasmPlugin; `-` reads standard input
    #[arg(value_name = "FILE")]
    file: PathBuf,
    /// The requests' Host, e.g. traffic-example.default.example.com or a tag
    /// host such as v2-traffic-example.default.example.com
    #[arg(long, value_name = "HOST")]
    host: String,
    /// A request header (repeatable), e.g. 'Knative-Serving-Tag: v2'
    #[arg(long = "header", value_name = "NAME:VALUE", value_parser = parse_header)]
    headers: Vec<Header>,
    /// A cookie (repeatable); together they make the request's Cookie header
    #[arg(long = "cookie", value_name = "NAME=VALUE", value_parser = parse_cookie)]
    cookies: Vec<Header>,
    /// How many requests to route
    #[arg(
        long,
        value_name = "N",
        default_value_t = 1000,
        value_parser = clap::value_parser!(u64).range(1..=100_000_000)
    )]
    requests: u64,
    /// The proxy's clock for the requests, an RFC 3339 instant such as
    /// 2026-11-25T16:05:00Z (default: now); it decides a timed rollout's step
    #[arg(long, value_name = "TIME", value_parser = crate::time::parse_at)]
    at: Option<u64>,
    /// Seed of the draw's random generator: the same seed, the same counts
    #[arg(long, value_name = "N", default_value_t = 1)]
    seed: u64,
    /// Route as the proxy does once the service's guard has judged its
    /// candidate failing: the split falls back (a timed rollout halts), and
    /// tags reach their own revisions
    #[arg(long)]
    tripped: bool,
}

/// A request header or a cookie, as given on the command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    name: String,
    value: String,
}

fn parse_header(text: &str) -> Result<Header, String> {
    let (name, value) = text
        .split_once(':')
        .ok_or("expected NAME:VALUE, e.g. 'Knative-Serving-Tag: v2'")?;
    let name = name.trim().to_ascii_lowercase();
    if !is_header_name(&name) {
        return Err(format!("{name:?} is not a header name"));
    }
    if name == "host" {
        return Err("the Host is given with --host".into());
    }
    Ok(Header {
        name,
        value: value.trim().to_owned(),
    })
}

fn parse_cookie(text: &str) -> Result<Header, String> {
    let (name, value) = text
        .split_once('=')
        .ok_or("expected NAME=VALUE, e.g. kn-sticky=abc123")?;
    let name = name.trim();
    if !is_cookie_name(name) {
        return Err(format!("{name:?} is not a cookie name"));
    }
    Ok(Header {
        name: name.to_owned(),
        value: value.trim().to_owned(),
    })
}

/// The simulated request: the given headers, the cookies joined into the
/// (first) `Cookie` header, and a fixed clock.
fn simulated_request(headers: &[Header], cookies: &[Header], now_ms: u64) -> PlainRequest {
    let joined = cookies
        .iter()
        .map(|c| format!("{}={}", c.name, c.value))
        .collect::<Vec<_>>()
        .join("; ");
    let mut headers = headers.to_vec();
    if !joined.is_empty() {
        match headers.iter_mut().find(|h| h.name == "cookie") {
            Some(cookie) => cookie.value = format!("{}; {joined}", cookie.value),
            None => headers.push(Header {
                name: "cookie".into(),
                value: joined,
            }),
        }
    }
    headers
        .iter()
        .fold(PlainRequest::default().at(now_ms), |request, h| {
            request.with_header(&h.name, &h.value)
        })
}

/// Where a request went, in the table's order: by revision (in the
/// service's order), then reason; then 404s, then pass-throughs.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Outcome {
    Routed {
        destination: usize,
        reason: usize,
        tag: Option<String>,
    },
    NotFound,
    PassThrough,
}

pub fn run(args: &Args, out: &mut impl Write, err: &mut impl Write) -> io::Result<u8> {
    let (_, table) = match input::read_configuration(&args.file) {
        Ok(loaded) => loaded,
        Err(errors) => {
            for error in errors {
                writeln!(err, "{error}")?;
            }
            return Ok(EXIT_FAILURE);
        }
    };
    if args.tripped {
        // Only the host's service is routed: tripping every guard trips
        // the one that matters.
        for service in table.services() {
            if let Some(guard) = &service.guard {
                guard.trip();
            }
        }
    }
    let now = args.at.unwrap_or_else(now_ms);
    let request = simulated_request(&args.headers, &args.cookies, now);
    let mut rng = XorShiftRng::seed_from_u64(args.seed);

    let mut service: Option<&Service> = None;
    let mut counts: BTreeMap<Outcome, u64> = BTreeMap::new();
    let mut new_keys = 0u64;
    let mut set_cookie: Option<String> = None;
    // Copies per candidate revision, as Decision::mirrored_slot counts them.
    let mut mirrored: BTreeMap<String, u64> = BTreeMap::new();
    for _ in 0..args.requests {
        let outcome = match table.route(&args.host, &request, &mut rng) {
            Decision::PassThrough => Outcome::PassThrough,
            Decision::NoSuchTag(s) => {
                service = Some(s);
                Outcome::NotFound
            }
            Decision::Route(route) => {
                service = Some(route.service);
                if let Some(candidate) = route.mirror {
                    *mirrored.entry(candidate.revision.to_string()).or_insert(0) += 1;
                }
                if route.new_sticky_key.is_some() {
                    new_keys += 1;
                    if set_cookie.is_none() {
                        set_cookie = route
                            .response_headers()
                            .into_iter()
                            .find(|(name, _)| *name == "set-cookie")
                            .map(|(_, value)| value);
                    }
                }
                // The tag the request reached, on the tag-header path too
                // (where the filter writes none): its rollout is the
                // one the request took.
                let tag = route.tag().map(str::to_owned).or_else(|| {
                    (route.reason == Reason::TagHeader)
                        .then(|| request.header(TAG_HEADER))
                        .flatten()
                        .map(Cow::into_owned)
                });
                Outcome::Routed {
                    destination: route
                        .service
                        .destinations
                        .iter()
                        .position(|d| std::ptr::eq(d, route.destination))
                        .unwrap_or(usize::MAX),
                    reason: Reason::ROUTED
                        .iter()
                        .position(|r| *r == route.reason)
                        .unwrap_or(usize::MAX),
                    tag,
                }
            }
        };
        *counts.entry(outcome).or_insert(0) += 1;
    }

    // Who the host belongs to.
    match (service, counts.contains_key(&Outcome::NotFound)) {
        (Some(s), false) => writeln!(
            out,
            "host {}: service {} in namespace {}",
            args.host, s.name, s.namespace
        )?,
        (Some(s), true) => writeln!(
            out,
            "host {}: a tag host of service {} in namespace {}, which has no such tag: the filter answers 404",
            args.host, s.name, s.namespace
        )?,
        (None, _) => {
            let names: Vec<String> = table
                .services()
                .iter()
                .map(|s| format!("{}/{}", s.namespace, s.name))
                .collect();
            writeln!(
                out,
                "host {}: no configured service has this host: the filter passes such requests through untouched",
                args.host
            )?;
            writeln!(out, "configured services: {}", names.join(", "))?;
        }
    }
    let rollout = service.and_then(Service::rollout);
    let mut run = format!("{} requests, seed {}", args.requests, args.seed);
    if rollout.is_some() || args.at.is_some() {
        run.push_str(&format!(", at {}", format_instant(now)));
    }
    let headers: Vec<String> = request
        .headers()
        .map(|(name, value)| format!("{name}: {value}"))
        .collect();
    if headers.is_empty() {
        writeln!(out, "{run}; headers: none")?;
    } else {
        writeln!(out, "{run}; headers: {}", headers.join(", "))?;
    }
    writeln!(out)?;

    // The table.
    let mut rows = vec![[
        "revision".to_owned(),
        "cluster".to_owned(),
        "requests".to_owned(),
        "share".to_owned(),
        "reason".to_owned(),
    ]];
    for (outcome, count) in &counts {
        let share = format!("{:.1}%", *count as f64 * 100.0 / args.requests as f64);
        let (revision, cluster, reason) = match outcome {
            Outcome::Routed {
                destination,
                reason,
                tag,
            } => {
                let d = service.and_then(|s| s.destinations.get(*destination));
                let reason = Reason::ROUTED.get(*reason).map_or("?", |r| r.as_str());
                let reason = match tag {
                    Some(tag) => format!("{reason} (tag {tag})"),
                    None => reason.to_owned(),
                };
                (
                    d.map_or("?".to_owned(), |d| d.revision.to_string()),
                    d.map_or("?".to_owned(), |d| d.cluster().to_string()),
                    reason,
                )
            }
            Outcome::NotFound => (
                "(none: 404 Not Found)".to_owned(),
                "-".to_owned(),
                Reason::NotFound.as_str().to_owned(),
            ),
            Outcome::PassThrough => (
                "(none: passes through)".to_owned(),
                "-".to_owned(),
                "-".to_owned(),
            ),
        };
        rows.push([revision, cluster, count.to_string(), share, reason]);
    }
    write_table(out, &rows)?;

    // The split in force, and the rollout that decides it, for requests
    // that reached a service.
    let routed = counts.keys().any(|o| matches!(o, Outcome::Routed { .. }));
    if let Some(service) = service.filter(|_| routed) {
        writeln!(out)?;
        let mut split = &service.split;
        let tripped = service.guard.as_ref().filter(|g| g.is_tripped());
        // The schedule of the traffic these requests took: a rolling tag's
        // host's own, or the main route's.
        let tag_schedule = counts.keys().find_map(|o| match o {
            Outcome::Routed { tag: Some(tag), .. } => service
                .tag_rollouts()
                .find(|(name, _)| name == tag)
                .map(|(name, s)| (Some(name), s)),
            _ => None,
        });
        let schedule = tag_schedule.or_else(|| rollout.and_then(|r| r.route()).map(|s| (None, s)));
        if let Some(guard) = tripped {
            // A tripped guard halts the rollout: no schedule is in force.
            writeln!(
                out,
                "guard tripped (--tripped): {} gets no split requests; the split falls back to {}",
                guard_view::candidate(service, guard),
                guard_view::trip_leaves(service, guard)
            )?;
            split = &guard.fallback;
        } else if let (Some(rollout), Some((tag, schedule))) = (rollout, schedule) {
            let names = (
                rollout_view::revision(service, rollout.from()),
                rollout_view::revision(service, rollout.to()),
            );
            let tags: Vec<&str> = tag.into_iter().collect();
            let subject = rollout_view::subject(schedule, &tags);
            writeln!(
                out,
                "{}",
                rollout_view::heading(&subject, schedule, rollout.to(), names)
            )?;
            writeln!(
                out,
                "at {}: {}",
                format_instant(now),
                rollout_view::state(schedule, rollout.to(), names, now)
            )?;
            split = schedule.split_at(now).unwrap_or(&service.split);
        } else if args.at.is_some() {
            writeln!(
                out,
                "no timed rollout: the time does not change this service's split"
            )?;
        }
        match &service.guard {
            Some(guard) if !guard.is_tripped() => writeln!(
                out,
                "guard: judges {}; a trip would leave {}",
                guard_view::judges(service, guard),
                guard_view::trip_leaves(service, guard)
            )?,
            Some(_) => {}
            None if args.tripped => writeln!(
                out,
                "no guard: --tripped does not change this service's split"
            )?,
            None => {}
        }
        writeln!(
            out,
            "split in force: {}",
            guard_view::split_text(service, split)
        )?;
        if let Some(candidate) = service.mirror_destination() {
            let candidate = candidate.revision.to_string();
            mirrored.entry(candidate).or_insert(0);
        }
        for (revision, copies) in &mirrored {
            writeln!(
                out,
                "mirrored to {revision}: {copies} ({:.1}%)",
                *copies as f64 * 100.0 / args.requests as f64
            )?;
        }
        if new_keys > 0 {
            writeln!(
                out,
                "sticky: {new_keys} responses hand out a new key, e.g. Set-Cookie: {}",
                set_cookie.unwrap_or_default()
            )?;
        }
    }
    Ok(EXIT_OK)
}

/// Columns padded to their widest cell; the counts and shares right-aligned.
fn write_table(out: &mut impl Write, rows: &[[String; 5]]) -> io::Result<()> {
    let mut widths = [0usize; 5];
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    for row in rows {
        let mut line = String::new();
        for (i, (cell, width)) in row.iter().zip(widths).enumerate() {
            let pad = " ".repeat(width - cell.chars().count());
            let right_aligned = i == 2 || i == 3;
            if i > 0 {
                line.push_str("  ");
            }
            if right_aligned {
                line.push_str(&pad);
                line.push_str(cell);
            } else {
                line.push_str(cell);
                line.push_str(&pad);
            }
        }
        writeln!(out, "{}", line.trim_end())?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_and_cookies_from_the_command_line() {
        assert_eq!(
            parse_header("Knative-Serving-Tag: v2"),
            Ok(Header {
                name: "knative-serving-tag".into(),
                value: "v2".into()
            })
        );
        assert_eq!(
            parse_header("x-empty:"),
            Ok(Header {
                name: "x-empty".into(),
                value: String::new()
            })
        );
        assert!(parse_header("no-colon").is_err());
        assert!(parse_header(": v").is_err());
        assert!(parse_header("bad name: v").is_err());
        assert!(parse_header("Host: x").is_err());
        assert_eq!(
            parse_cookie("kn-sticky=a=b"),
            Ok(Header {
                name: "kn-sticky".into(),
                value: "a=b".into()
            })
        );
        assert!(parse_cookie("novalue").is_err());
    }

    #[test]
    fn cookies_join_into_one_header() {
        let cookie = |n: &str, v: &str| Header {
            name: n.into(),
            value: v.into(),
        };
        let request = simulated_request(&[], &[cookie("a", "1"), cookie("b", "2")], 0);
        assert_eq!(request.header("cookie").as_deref(), Some("a=1; b=2"));
        let request = simulated_request(
            &[Header {
                name: "cookie".into(),
                value: "x=0".into(),
            }],
            &[cookie("a", "1")],
            0,
        );
        assert_eq!(request.header("cookie").as_deref(), Some("x=0; a=1"));
        assert_eq!(request.header("x-missing"), None);
    }
}
