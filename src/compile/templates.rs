//! Knative's host templates (config-network's `domain-template` and
//! `tag-template`, knative/networking `pkg/config/config.go`), compiled once:
//! Go template text reduced to literal text and the placeholders Knative
//! defines, so that a host is built by concatenation and never evaluated per
//! request.

use crate::hosts::TagShape;
use crate::names::is_dns1123_label;

/// Knative's default domain template.
pub const DEFAULT_DOMAIN_TEMPLATE: &str = "{{.Name}}.{{.Namespace}}.{{.Domain}}";
/// Knative's default tag template.
pub const DEFAULT_TAG_TEMPLATE: &str = "{{.Tag}}-{{.Name}}";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    Name,
    Namespace,
    Domain,
    Tag,
}

impl Field {
    fn of(name: &str) -> Option<Field> {
        match name {
            "Name" => Some(Field::Name),
            "Namespace" => Some(Field::Namespace),
            "Domain" => Some(Field::Domain),
            "Tag" => Some(Field::Tag),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Text(String),
    Field(Field),
}

/// A compiled template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Template {
    parts: Vec<Part>,
}

/// The values a template is applied to.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Values<'a> {
    pub(crate) name: &'a str,
    pub(crate) namespace: &'a str,
    pub(crate) domain: &'a str,
    pub(crate) tag: &'a str,
}

impl Template {
    /// The template of no text, which stands in for a refused one.
    pub(crate) fn empty() -> Template {
        Template { parts: Vec::new() }
    }

    /// Parses Go template text that uses only the fields `allowed` (Knative's
    /// DomainTemplateValues or TagTemplateValues), in `{{.Field}}` actions.
    fn parse(text: &str, allowed: &[Field], names: &str) -> Result<Template, String> {
        let mut parts = Vec::new();
        let mut rest = text;
        while let Some(open) = rest.find("{{") {
            if open > 0 {
                parts.push(Part::Text(rest.get(..open).unwrap_or_default().to_owned()));
            }
            let after = rest.get(open + 2..).unwrap_or_default();
            let Some(close) = after.find("}}") else {
                return Err(format!("{text:?} has a {{{{ without its }}}}"));
            };
            let action = after.get(..close).unwrap_or_default();
            // Go's trim markers `{{- ` and ` -}}` only trim spaces, which a
            // host template has none of.
            let inner = action
                .trim()
                .trim_start_matches("- ")
                .trim_end_matches(" -")
                .trim();
            let field = inner
                .strip_prefix('.')
                .filter(|f| f.bytes().all(|b| b.is_ascii_alphanumeric()))
                .and_then(Field::of)
                .filter(|f| allowed.contains(f));
            match field {
                Some(field) => parts.push(Part::Field(field)),
                None if inner.contains("Annotations") || inner.contains("Labels") => {
                    return Err(format!(
                        "{text:?} reads {inner:?}: the filter has no Route metadata to read annotations or labels from; use {names}"
                    ))
                }
                None => {
                    return Err(format!(
                        "{text:?} uses {{{{{action}}}}}, which is none of the fields Knative gives it: use {names}"
                    ))
                }
            }
            rest = after.get(close + 2..).unwrap_or_default();
        }
        if !rest.is_empty() {
            parts.push(Part::Text(rest.to_owned()));
        }
        Ok(Template { parts })
    }

    /// A domain template, checked as Knative's `checkDomainTemplate` does:
    /// applied to name foo, namespace bar and domain baz.com it must give a
    /// host name, with no path.
    pub(crate) fn domain(text: &str) -> Result<Template, String> {
        let template = Template::parse(
            text,
            &[Field::Name, Field::Namespace, Field::Domain],
            "{{.Name}}, {{.Namespace}} and {{.Domain}}",
        )?;
        let sample = template.render(Values {
            name: "foo",
            namespace: "bar",
            domain: "baz.com",
            tag: "",
        });
        if sample.is_empty() {
            return Err(format!("{text:?} gives an empty host name"));
        }
        if sample.contains('/') {
            return Err(format!(
                "{text:?} gives a host with a URL path ({sample:?})"
            ));
        }
        Ok(template)
    }

    /// A tag template, checked as Knative's `checkTagTemplate` does, and
    /// further: the filter finds tags within a host's labels, so the
    /// template must give one DNS label (name foo and tag v2 give one).
    pub(crate) fn tag(text: &str) -> Result<Template, String> {
        let template = Template::parse(text, &[Field::Name, Field::Tag], "{{.Tag}} and {{.Name}}")?;
        let sample = template.render(Values {
            name: "foo",
            tag: "v2",
            ..Values::default()
        });
        if !is_dns1123_label(&sample) {
            return Err(format!(
                "{text:?} gives {sample:?} for tag v2 of foo: a tag's name in hosts must be one DNS label (lower-case letters, digits and '-')"
            ));
        }
        Ok(template)
    }

    pub(crate) fn render<'a>(&'a self, values: Values<'a>) -> String {
        let mut out = String::new();
        self.render_into(values, &mut out);
        out
    }

    /// [`Template::render`] into `out`, in place of what it held.
    pub(crate) fn render_into<'a>(&'a self, values: Values<'a>, out: &mut String) {
        let part = |part: &'a Part| -> &'a str {
            match part {
                Part::Text(text) => text,
                Part::Field(Field::Name) => values.name,
                Part::Field(Field::Namespace) => values.namespace,
                Part::Field(Field::Domain) => values.domain,
                Part::Field(Field::Tag) => values.tag,
            }
        };
        // Sized first: a compile renders several hosts and labels per
        // service, and a profile showed the reallocations as it grew.
        let len = self.parts.iter().map(|p| part(p).len()).sum();
        out.clear();
        out.reserve(len);
        for p in &self.parts {
            out.push_str(part(p));
        }
    }

    /// For a domain template that starts with `{{.Name}}.` and names the
    /// namespace after it: the rest, which is the zone of the namespace's
    /// external hosts. `None` for any other template, whose hosts are kept
    /// whole.
    pub(crate) fn zone(&self) -> Option<Template> {
        let mut parts = self.parts.iter();
        if parts.next() != Some(&Part::Field(Field::Name)) {
            return None;
        }
        let mut rest: Vec<Part> = parts.cloned().collect();
        match rest.first_mut() {
            Some(Part::Text(text)) if text.starts_with('.') => {
                text.remove(0);
                if text.is_empty() {
                    rest.remove(0);
                }
            }
            _ => return None,
        }
        let names_namespace = rest.contains(&Part::Field(Field::Namespace));
        let more_names = rest.contains(&Part::Field(Field::Name));
        (names_namespace && !more_names).then_some(Template { parts: rest })
    }

    /// Where the tag and the name sit in a tag template's label, if each
    /// occurs once with some text between them.
    pub(crate) fn tag_shape(&self) -> Option<TagShape> {
        let position = |field| {
            let mut at = self
                .parts
                .iter()
                .enumerate()
                .filter(|(_, p)| **p == Part::Field(field))
                .map(|(i, _)| i);
            let first = at.next()?;
            at.next().is_none().then_some(first)
        };
        let (tag, name) = (position(Field::Tag)?, position(Field::Name)?);
        let text = |range: std::ops::Range<usize>| -> String {
            self.parts
                .get(range)
                .unwrap_or_default()
                .iter()
                .map(|p| match p {
                    Part::Text(t) => t.as_str(),
                    Part::Field(_) => "",
                })
                .collect()
        };
        let (low, high) = (tag.min(name), tag.max(name));
        let between = text(low + 1..high);
        if between.is_empty() {
            return None;
        }
        Some(TagShape {
            prefix: text(0..low).into(),
            between: between.into(),
            suffix: text(high + 1..self.parts.len()).into(),
            tag_first: tag < name,
        })
    }
}

/// The domain a service's external host was built with by `template`
/// (its `{{.Domain}}`): what `import-knative` reads off a Service's
/// `status.url`. `Ok(None)` if the host is not the template's for that name
/// and namespace; `Err` if the template is refused or names no domain.
pub fn domain_of_host(
    template: &str,
    name: &str,
    namespace: &str,
    host: &str,
) -> Result<Option<String>, String> {
    let template = Template::domain(template)?;
    // A character no host has marks where the domain goes.
    let marked = template.render(Values {
        name,
        namespace,
        domain: "\u{0}",
        tag: "",
    });
    let mut pieces = marked.split('\u{0}');
    let (Some(before), Some(after), None) = (pieces.next(), pieces.next(), pieces.next()) else {
        return Err("names the domain not exactly once ({{.Domain}})".into());
    };
    Ok(host
        .strip_prefix(before)
        .and_then(|rest| rest.strip_suffix(after))
        .filter(|domain| !domain.is_empty())
        .map(str::to_owned))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values<'a>(name: &'a str, tag: &'a str) -> Values<'a> {
        Values {
            name,
            namespace: "default",
            domain: "example.com",
            tag,
        }
    }

    /// Knative's TestDomainNameFromTemplate (name test-name, namespace
    /// default, domain example.com).
    #[test]
    fn domain_templates_as_knative_applies_them() {
        for (template, want) in [
            (DEFAULT_DOMAIN_TEMPLATE, "test-name.default.example.com"),
            (
                "{{.Name}}-{{.Namespace}}.{{.Domain}}",
                "test-name-default.example.com",
            ),
            ("{{.Name}}.{{.Domain}}", "test-name.example.com"),
            (
                "{{ .Name }}.{{ .Namespace }}.{{ .Domain }}",
                "test-name.default.example.com",
            ),
        ] {
            let t = Template::domain(template).unwrap();
            assert_eq!(t.render(values("test-name", "")), want, "{template}");
        }
        // "BadVarName", and Annotations and Labels, which need Route metadata.
        assert_eq!(
            Template::domain("{{.Name}}.{{.NNNamespace}}.{{.Domain}}").unwrap_err(),
            "\"{{.Name}}.{{.NNNamespace}}.{{.Domain}}\" uses {{.NNNamespace}}, which is none of the fields Knative gives it: use {{.Name}}, {{.Namespace}} and {{.Domain}}"
        );
        assert!(
            Template::domain("{{.Name}}.{{ index .Annotations \"sub\"}}.{{.Domain}}")
                .unwrap_err()
                .contains("no Route metadata")
        );
    }

    /// Knative's TestConfiguration: the template checks at load.
    #[test]
    fn templates_are_checked_as_knative_checks_them() {
        assert!(Template::domain("{{.Namespace}}.{{.Name}}.{{.Domain}}").is_ok());
        // "blank domain template": empty hostname.
        assert_eq!(
            Template::domain("").unwrap_err(),
            "\"\" gives an empty host name"
        );
        // "bad domain template": a missing brace.
        assert!(Template::domain("{{.Namespace}.{{.Name}}.{{.Domain}}").is_err());
        // "bad url": a path.
        assert!(Template::domain("{{.Domain}}/{{.Namespace}}/{{.Name}}.")
            .unwrap_err()
            .contains("URL path"));
        // "bad variable".
        assert!(Template::domain("{{.Name}}.{{.NAmespace}}.{{.Domain}}").is_err());
        // A tag template knows only Name and Tag.
        assert!(Template::tag("{{.Namespace}}-{{.Tag}}").is_err());
        assert!(Template::tag("{{.Tag}}.{{.Name}}")
            .unwrap_err()
            .contains("one DNS label"));
    }

    /// Knative's TestGetAllDomainsAndTags: the tag template's styles.
    #[test]
    fn tag_templates_and_their_shapes() {
        for (template, want, shape) in [
            (
                DEFAULT_TAG_TEMPLATE,
                "target-1-myroute",
                ("", "-", "", true),
            ),
            (
                "{{.Name}}-{{.Tag}}",
                "myroute-target-1",
                ("", "-", "", false),
            ),
            (
                "{{.Tag}}-dot-{{.Name}}",
                "target-1-dot-myroute",
                ("", "-dot-", "", true),
            ),
            (
                "x{{.Name}}--{{.Tag}}y",
                "xmyroute--target-1y",
                ("x", "--", "y", false),
            ),
        ] {
            let t = Template::tag(template).unwrap();
            assert_eq!(t.render(values("myroute", "target-1")), want);
            let s = t.tag_shape().unwrap();
            assert_eq!(
                (&*s.prefix, &*s.between, &*s.suffix, s.tag_first),
                shape,
                "{template}"
            );
        }
        assert_eq!(
            Template::tag(DEFAULT_TAG_TEMPLATE).unwrap().tag_shape(),
            Some(TagShape::knative_default())
        );
        // Nothing between the two, or one of them twice: tags cannot be
        // told apart from names.
        assert_eq!(
            Template::tag("{{.Tag}}{{.Name}}").unwrap().tag_shape(),
            None
        );
        assert_eq!(
            Template::tag("{{.Tag}}-{{.Name}}-{{.Tag}}")
                .unwrap()
                .tag_shape(),
            None
        );
    }

    #[test]
    fn the_domain_is_read_off_a_host() {
        let read = |t: &str, host: &str| domain_of_host(t, "web", "shop", host);
        assert_eq!(
            read(DEFAULT_DOMAIN_TEMPLATE, "web.shop.example.com"),
            Ok(Some("example.com".into()))
        );
        assert_eq!(
            read(
                "{{.Name}}-{{.Namespace}}.{{.Domain}}",
                "web-shop.apps.example.com"
            ),
            Ok(Some("apps.example.com".into()))
        );
        assert_eq!(
            read(DEFAULT_DOMAIN_TEMPLATE, "web.other.example.com"),
            Ok(None)
        );
        assert!(read("{{.Name}}.{{.Namespace}}", "web.shop").is_err());
    }

    #[test]
    fn zones_of_name_first_templates() {
        let zone = |t: &str| {
            Template::domain(t)
                .unwrap()
                .zone()
                .map(|z| z.render(values("web", "")))
        };
        assert_eq!(
            zone(DEFAULT_DOMAIN_TEMPLATE).as_deref(),
            Some("default.example.com")
        );
        assert_eq!(
            zone("{{.Name}}.{{.Namespace}}-apps.{{.Domain}}").as_deref(),
            Some("default-apps.example.com")
        );
        // No namespace in the rest, or the name not first: kept whole.
        assert_eq!(zone("{{.Name}}.{{.Domain}}"), None);
        assert_eq!(zone("{{.Name}}-{{.Namespace}}.{{.Domain}}"), None);
        assert_eq!(zone("{{.Namespace}}.{{.Name}}.{{.Domain}}"), None);
    }
}
