//! A service's `sticky`: where a client's key is read from, and whether the
//! filter hands one out.

use super::service::HeaderSlots;
use super::Checks;
use crate::config::{ServiceSpec, StickySpec};
use crate::error::ErrorKind;
use crate::names::{is_cookie_name, is_header_name};
use crate::sticky::Sticky;

pub(super) fn compile(
    spec: &StickySpec,
    service: &ServiceSpec,
    headers: &mut HeaderSlots,
    checks: &mut Checks,
) -> Option<Sticky> {
    let source = match (&spec.cookie, &spec.header) {
        (Some(cookie), None) if is_cookie_name(cookie) => headers.cookie(cookie),
        (None, Some(header)) if is_header_name(header) => headers.header(header),
        (Some(name), None) | (None, Some(name)) => {
            checks.fail(
                "sticky",
                ErrorKind::InvalidValue,
                format_args!("{name:?} is not a header or cookie name"),
            );
            return None;
        }
        _ => {
            checks.fail("sticky", ErrorKind::Conflict, "set one of cookie or header");
            return None;
        }
    };
    let set_cookie = spec.set_cookie.unwrap_or(false);
    if set_cookie && spec.cookie.is_none() {
        checks.fail(
            "sticky",
            ErrorKind::Conflict,
            "setCookie needs a cookie key",
        );
    }
    if spec.max_age.is_some() && !set_cookie {
        checks.fail(
            "sticky",
            ErrorKind::Conflict,
            "maxAge applies only with setCookie: true",
        );
    }
    let max_age = set_cookie.then(|| {
        spec.max_age
            .unwrap_or(crate::config::DEFAULT_STICKY_MAX_AGE)
    });
    Some(Sticky::new(
        source,
        &service.namespace,
        &service.name,
        max_age,
    ))
}
