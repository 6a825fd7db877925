//! A frame as text: a heading, then per service a line and its revisions'
//! table. No blank line inside a frame, so that frames written one after
//! another (not to a terminal) are told apart by the blank line between
//! them.

use std::fmt::Write as _;

use super::frame::{
    Answers, Count, Frame, GuardStatus, MirrorStatus, RevisionStatus, ServiceStatus, REASONS,
};
use crate::time::format_instant;

pub fn text(frame: &Frame) -> String {
    let mut out = String::new();
    let envoy = frame
        .envoy
        .as_ref()
        .map_or_else(|| "Envoy".to_owned(), |v| format!("Envoy {v}"));
    let _ = writeln!(
        out,
        "{envoy} at {}, {}: requests in the last {:.1} s; \"total\" since Envoy started",
        frame.admin,
        format_instant(frame.time_ms / 1000 * 1000),
        frame.interval_seconds
    );
    for filter in &frame.filters {
        let _ = writeln!(
            out,
            "filter at {}: {} service{}{}",
            filter.instances.join(", "),
            filter.services,
            plural(filter.services as u64),
            if filter.metrics { "" } else { ", counters off" }
        );
    }
    let loads = frame.config;
    let _ = writeln!(
        out,
        "configuration loads: {} accepted ({}), {} rejected ({}); each Wasm VM counts its own",
        loads.accepted.total,
        delta(loads.accepted),
        loads.rejected.total,
        delta(loads.rejected)
    );
    for note in &frame.notes {
        let _ = writeln!(out, "note: {note}");
    }
    for service in &frame.services {
        write_service(&mut out, service, frame.interval_seconds);
    }
    out
}

fn plural(n: u64) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

fn delta(count: Count) -> String {
    format!("+{}", count.interval)
}

fn write_service(out: &mut String, service: &ServiceStatus, seconds: f64) {
    let name = format!("{}/{}", service.namespace, service.name);
    let Some(requests) = service.requests else {
        let _ = writeln!(out, "service {name}: not counted (\"metrics\": false)");
        let mut rows = vec![vec!["revision".to_owned(), "configured".to_owned()]];
        rows.extend(
            service
                .revisions
                .iter()
                .map(|r| vec![r.revision.clone(), percent(r.configured)]),
        );
        write_table(out, &rows, &[1]);
        write_guard(out, service.guard.as_ref());
        write_rollout(out, service);
        return;
    };
    let rate = if seconds > 0.0 {
        format!(" ({:.1}/s)", requests.interval as f64 / seconds)
    } else {
        String::new()
    };
    let _ = writeln!(
        out,
        "service {name}: {} request{}{rate}, {} in total",
        requests.interval,
        plural(requests.interval),
        requests.total
    );
    // A column for each reason any revision can be reached for.
    let reasons: Vec<&'static str> = REASONS
        .iter()
        .map(|r| r.as_str())
        .filter(|r| {
            service
                .revisions
                .iter()
                .any(|rev| rev.reasons.contains_key(r))
        })
        .collect();
    let mut header = vec!["revision", "requests", "share", "configured"];
    header.extend(&reasons);
    header.push("total");
    let mut rows = vec![header.iter().map(|h| (*h).to_owned()).collect::<Vec<_>>()];
    for revision in &service.revisions {
        rows.push(revision_row(revision, &reasons));
    }
    if let Some(not_found) = service.not_found {
        let mut row = vec![
            "(404, no such tag)".to_owned(),
            not_found.interval.to_string(),
        ];
        row.extend(std::iter::repeat_n(String::new(), 2 + reasons.len()));
        row.push(not_found.total.to_string());
        rows.push(row);
    }
    let right: Vec<usize> = (1..rows.first().map_or(0, Vec::len)).collect();
    write_table(out, &rows, &right);
    if let Some(mirror) = &service.mirror {
        write_mirror(out, mirror);
    }
    write_guard(out, service.guard.as_ref());
    write_rollout(out, service);
}

fn revision_row(revision: &RevisionStatus, reasons: &[&str]) -> Vec<String> {
    let dash = || "-".to_owned();
    let mut row = vec![
        revision.revision.clone(),
        revision
            .requests
            .map_or_else(dash, |c| c.interval.to_string()),
        revision.share.map_or_else(dash, |s| format!("{s:.1}%")),
        percent(revision.configured),
    ];
    for reason in reasons {
        row.push(
            revision
                .reasons
                .get(reason)
                .map_or_else(dash, |c| c.interval.to_string()),
        );
    }
    row.push(revision.requests.map_or_else(dash, |c| c.total.to_string()));
    row
}

fn write_mirror(out: &mut String, mirror: &MirrorStatus) {
    let share = mirror
        .share
        .map_or_else(String::new, |s| format!(" ({s:.1}%)"));
    let _ =
        writeln!(
        out,
        "  mirrored to {}: {} cop{} of {} eligible request{}{share}, configured {}; {} in total",
        mirror.revision,
        mirror.copies.interval,
        if mirror.copies.interval == 1 { "y" } else { "ies" },
        mirror.eligible.interval,
        plural(mirror.eligible.interval),
        percent(mirror.configured),
        mirror.copies.total
    );
}

/// `12 answers, 3 failed (25.0%)`.
fn answers(side: &Answers) -> String {
    let (n, failed) = (side.answers.interval, side.failures.interval);
    if n == 0 {
        return "0 answers".to_owned();
    }
    format!(
        "{n} answer{}, {failed} failed ({:.1}%)",
        plural(n),
        failed as f64 * 100.0 / n as f64
    )
}

fn write_guard(out: &mut String, guard: Option<&GuardStatus>) {
    let Some(g) = guard else { return };
    let tripped = if g.tripped == Some(true) {
        "tripped, the split falls back; "
    } else {
        ""
    };
    let _ = writeln!(
        out,
        "  guard on {}: {tripped}{}; the rest {}; {} ({} failed) and {} ({} failed) in total",
        g.revision,
        answers(&g.candidate),
        answers(&g.rest),
        g.candidate.answers.total,
        g.candidate.failures.total,
        g.rest.answers.total,
        g.rest.failures.total
    );
}

fn write_rollout(out: &mut String, service: &ServiceStatus) {
    let Some(r) = &service.rollout else { return };
    if service
        .guard
        .as_ref()
        .is_some_and(|g| g.tripped == Some(true))
    {
        let _ = writeln!(
            out,
            "  timed rollout of the latest-following {}% from {} to {}: halted by the guard",
            r.share, r.from, r.to
        );
        return;
    }
    let next = r
        .next
        .as_ref()
        .map_or_else(String::new, |at| format!("; the next move at {at}"));
    let state = match r.step {
        None => format!("not started, {} has the {}%", r.from, r.share),
        Some(k) if k >= r.steps => format!("complete, {} has the {}%", r.to, r.share),
        Some(0) => format!("{} has its first 1%", r.to),
        Some(k) => format!("{} has {}% after step {k} of {}", r.to, r.percent, r.steps),
    };
    let _ = writeln!(
        out,
        "  timed rollout of the latest-following {}% from {} to {}: {state}{next}",
        r.share, r.from, r.to
    );
}

/// `80%`, or `12.5%` for a share of hundredths.
fn percent(p: f64) -> String {
    if p.fract() == 0.0 {
        format!("{p:.0}%")
    } else {
        format!("{p:.2}%")
    }
}

/// Columns padded to their widest cell, indented under the service line;
/// the columns in `right` right-aligned.
fn write_table(out: &mut String, rows: &[Vec<String>], right: &[usize]) {
    let columns = rows.iter().map(Vec::len).max().unwrap_or(0);
    let mut widths = vec![0usize; columns];
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    for row in rows {
        let mut line = String::from(" ");
        for (i, (cell, width)) in row.iter().zip(&widths).enumerate() {
            let pad = " ".repeat(width.saturating_sub(cell.chars().count()));
            line.push(' ');
            if i > 0 {
                line.push(' ');
            }
            if right.contains(&i) {
                line.push_str(&pad);
                line.push_str(cell);
            } else {
                line.push_str(cell);
                line.push_str(&pad);
            }
        }
        let _ = writeln!(out, "{}", line.trim_end());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::status::frame::{FilterStatus, Loads, RolloutStatus};
    use std::collections::BTreeMap;

    fn count(interval: u64, total: u64) -> Count {
        Count { interval, total }
    }

    fn revision(
        name: &str,
        share: Option<f64>,
        configured: f64,
        reasons: &[(&'static str, Count)],
    ) -> RevisionStatus {
        let reasons: BTreeMap<&'static str, Count> = reasons.iter().copied().collect();
        RevisionStatus {
            revision: name.into(),
            requests: Some(reasons.values().fold(count(0, 0), |a, c| {
                count(a.interval + c.interval, a.total + c.total)
            })),
            share,
            configured,
            reasons,
        }
    }

    #[test]
    fn a_frame() {
        let frame = Frame {
            admin: "http://127.0.0.1:9901".into(),
            envoy: Some("1.40.0".into()),
            time: "2026-11-25T16:05:00.250Z".into(),
            time_ms: 1_795_622_700_250,
            interval_seconds: 2.0,
            config: Loads {
                accepted: count(0, 4),
                rejected: count(1, 1),
            },
            filters: vec![FilterStatus {
                instances: vec!["listener ingress (root id knative-traffic)".into()],
                services: 2,
                metrics: true,
            }],
            services: vec![
                ServiceStatus {
                    namespace: "default".into(),
                    name: "traffic-example".into(),
                    metrics: true,
                    requests: Some(count(119, 1000)),
                    revisions: vec![
                        revision(
                            "traffic-example-v1",
                            Some(80.5),
                            80.0,
                            &[("draw", count(81, 800)), ("tag-host", count(0, 0))],
                        ),
                        revision(
                            "traffic-example-v2",
                            Some(19.5),
                            20.0,
                            &[("draw", count(19, 150)), ("tag-host", count(0, 10))],
                        ),
                        revision(
                            "traffic-example-v3",
                            Some(0.0),
                            0.0,
                            &[("tag-host", count(19, 40))],
                        ),
                    ],
                    not_found: Some(count(2, 7)),
                    mirror: Some(MirrorStatus {
                        revision: "traffic-example-v3".into(),
                        copies: count(9, 95),
                        eligible: count(100, 950),
                        share: Some(9.0),
                        configured: 10.0,
                    }),
                    rollout: None,
                    guard: None,
                },
                ServiceStatus {
                    namespace: "shop".into(),
                    name: "web".into(),
                    metrics: false,
                    requests: None,
                    revisions: vec![RevisionStatus {
                        revision: "web-1".into(),
                        requests: None,
                        share: None,
                        configured: 100.0,
                        reasons: BTreeMap::new(),
                    }],
                    not_found: None,
                    mirror: None,
                    rollout: Some(RolloutStatus {
                        from: "web-2".into(),
                        to: "web-3".into(),
                        share: 40,
                        step: Some(2),
                        steps: 4,
                        percent: 21,
                        next: Some("2026-11-25T16:07:30Z".into()),
                    }),
                    guard: None,
                },
            ],
            notes: vec![],
        };
        let shown = text(&frame);
        assert_eq!(
            shown,
            "\
Envoy 1.40.0 at http://127.0.0.1:9901, 2026-11-25T16:05:00Z: requests in the last 2.0 s; \"total\" since Envoy started
filter at listener ingress (root id knative-traffic): 2 services
configuration loads: 4 accepted (+0), 1 rejected (+1); each Wasm VM counts its own
service default/traffic-example: 119 requests (59.5/s), 1000 in total
  revision            requests  share  configured  draw  tag-host  total
  traffic-example-v1        81  80.5%         80%    81         0    800
  traffic-example-v2        19  19.5%         20%    19         0    160
  traffic-example-v3        19   0.0%          0%     -        19     40
  (404, no such tag)         2                                         7
  mirrored to traffic-example-v3: 9 copies of 100 eligible requests (9.0%), configured 10%; 95 in total
service shop/web: not counted (\"metrics\": false)
  revision  configured
  web-1           100%
  timed rollout of the latest-following 40% from web-2 to web-3: web-3 has 21% after step 2 of 4; the next move at 2026-11-25T16:07:30Z
"
        );
        assert!(!shown.contains("\n\n"));
    }

    #[test]
    fn a_guards_line() {
        let side = |n, f, tn, tf| Answers {
            answers: count(n, tn),
            failures: count(f, tf),
        };
        let mut service = ServiceStatus {
            namespace: "shop".into(),
            name: "web".into(),
            metrics: true,
            requests: Some(count(120, 620)),
            revisions: vec![],
            not_found: None,
            mirror: None,
            rollout: Some(RolloutStatus {
                from: "web-2".into(),
                to: "web-3".into(),
                share: 40,
                step: Some(2),
                steps: 4,
                percent: 21,
                next: Some("2026-11-25T16:07:30Z".into()),
            }),
            guard: Some(GuardStatus {
                revision: "web-3".into(),
                candidate: side(12, 3, 52, 4),
                rest: side(108, 1, 568, 2),
                tripped: Some(false),
            }),
        };
        let lines = |service: &ServiceStatus| {
            let mut out = String::new();
            write_guard(&mut out, service.guard.as_ref());
            write_rollout(&mut out, service);
            out
        };
        assert_eq!(
            lines(&service),
            "  guard on web-3: 12 answers, 3 failed (25.0%); the rest 108 answers, 1 failed (0.9%); 52 (4 failed) and 568 (2 failed) in total\n  \
             timed rollout of the latest-following 40% from web-2 to web-3: web-3 has 21% after step 2 of 4; the next move at 2026-11-25T16:07:30Z\n"
        );
        service.guard = Some(GuardStatus {
            revision: "web-3".into(),
            candidate: side(0, 0, 52, 4),
            rest: side(108, 1, 568, 2),
            tripped: Some(true),
        });
        assert_eq!(
            lines(&service),
            "  guard on web-3: tripped, the split falls back; 0 answers; the rest 108 answers, 1 failed (0.9%); 52 (4 failed) and 568 (2 failed) in total\n  \
             timed rollout of the latest-following 40% from web-2 to web-3: halted by the guard\n"
        );
    }
}
