//! A service's header and cookie `rules`: one source, one test, one tag each.

use super::service::HeaderSlots;
use super::Checks;
use crate::config::RuleSpec;
use crate::error::ErrorKind;
use crate::ids::TagId;
use crate::names::{is_cookie_name, is_header_name};
use crate::request::Source;
use crate::routing::Tag;
use crate::rules::{Rule, Test};

pub(super) fn compile(
    specs: &[RuleSpec],
    tags: &[Tag],
    headers: &mut HeaderSlots,
    checks: &mut Checks,
) -> Vec<Rule> {
    let mut rules = Vec::with_capacity(specs.len());
    for (i, spec) in specs.iter().enumerate() {
        let at = format!("rules[{i}]");
        let source = match (&spec.header, &spec.cookie) {
            (Some(header), None) if is_header_name(header) => Some(headers.header(header)),
            (None, Some(cookie)) if is_cookie_name(cookie) => Some(headers.cookie(cookie)),
            (Some(name), None) | (None, Some(name)) => {
                checks.fail(
                    &at,
                    ErrorKind::InvalidValue,
                    format_args!("{name:?} is not a header or cookie name"),
                );
                None
            }
            _ => {
                checks.fail(&at, ErrorKind::Conflict, "set one of header or cookie");
                None
            }
        };
        // Hosts compare in lower case, as the host is read.
        let value = |v: &str| -> Box<str> {
            if source == Some(Source::Host) {
                v.to_ascii_lowercase().into()
            } else {
                v.into()
            }
        };
        let test = match (&spec.exact, &spec.prefix, spec.present) {
            (Some(v), None, None) => Some(Test::Exact(value(v))),
            (None, Some(v), None) => Some(Test::Prefix(value(v))),
            (None, None, Some(true)) => Some(Test::Present),
            (None, None, Some(false)) => {
                checks.fail(
                    &at,
                    ErrorKind::InvalidValue,
                    "present must be true (a rule matches what a request has)",
                );
                None
            }
            _ => {
                checks.fail(
                    &at,
                    ErrorKind::Conflict,
                    "set one of exact, prefix or present",
                );
                None
            }
        };
        let tag = tags.iter().position(|t| t.name.as_str() == &*spec.tag);
        if tag.is_none() {
            checks.fail(
                &at,
                ErrorKind::UnknownReference,
                format_args!("tag {:?} is not a tag of this service's traffic", spec.tag),
            );
        }
        if let (Some(source), Some(test), Some(tag)) = (source, test, tag) {
            rules.push(Rule {
                source,
                test,
                tag: TagId::new(tag),
            });
        }
    }
    rules
}
