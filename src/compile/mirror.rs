//! A service's `mirror`: which revision gets copies, and what share.

use super::service::Revisions;
use super::Checks;
use crate::config::MirrorSpec;
use crate::decimal::Decimal;
use crate::error::ErrorKind;
use crate::ids::DestinationId;
use crate::mirror::Mirror;
use crate::names::is_revision_name;

pub(super) fn compile<'s>(
    spec: &'s MirrorSpec,
    tags: &[(&str, DestinationId, usize)],
    revisions: &mut Revisions<'s>,
    checks: &mut Checks,
) -> Option<Mirror> {
    let hundredths = spec.percent * 100.0;
    let buckets = (spec.percent.is_finite()
        && (0.0..=100.0).contains(&spec.percent)
        && (hundredths - hundredths.round()).abs() < 1e-6)
        .then(|| hundredths.round() as u32);
    if buckets.is_none() {
        checks.fail_worded(
            "mirror.percent",
            ErrorKind::InvalidValue,
            format!(
                "mirror.percent must be from 0 to 100 in steps of 0.01, got {}",
                Decimal(spec.percent)
            ),
        );
    }
    let destination = match (spec.tag.as_deref(), spec.revision_name.as_deref()) {
        (Some(tag), None) => {
            let found = tags.iter().find(|(t, _, _)| *t == tag).map(|(_, d, _)| *d);
            if found.is_none() {
                checks.fail(
                    "mirror",
                    ErrorKind::UnknownReference,
                    format_args!("tag {tag:?} is not a tag of this service's traffic"),
                );
            }
            found
        }
        (None, Some(revision)) if is_revision_name(revision) => {
            Some(revisions.position_or_push(revision))
        }
        (None, Some(revision)) => {
            checks.fail(
                "mirror",
                ErrorKind::InvalidValue,
                format_args!("revisionName {revision:?} is not a revision name"),
            );
            None
        }
        _ => {
            checks.fail(
                "mirror",
                ErrorKind::Conflict,
                "set one of tag or revisionName",
            );
            None
        }
    };
    Some(Mirror {
        destination: destination?,
        buckets: buckets?,
        include_tagged: spec.include_tagged.unwrap_or(false),
    })
}
