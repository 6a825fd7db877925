//! What a name in a configuration may be: the predicates every check uses,
//! in one place, so that the filter and the command-line tool agree on them.

/// The longest DNS label, in bytes (RFC 1035).
pub const MAX_LABEL: usize = 63;

/// The longest DNS name, in bytes (RFC 1035).
pub const MAX_NAME: usize = 253;

/// What a DNS-1035 label is, for error messages.
pub const DNS1035: &str =
    "a DNS-1035 label (lower-case letters, digits and '-', starting with a letter, at most 63 characters)";

/// What a DNS-1123 label is, for error messages.
pub const DNS1123: &str =
    "a DNS-1123 label (lower-case letters, digits and '-', at most 63 characters)";

/// A DNS-1035 label, as Knative requires of service names and tags: lower-case
/// letters, digits and '-', starting with a letter, ending with a letter or
/// digit, at most 63 characters.
pub fn is_dns1035_label(s: &str) -> bool {
    s.bytes().next().is_some_and(|b| b.is_ascii_lowercase()) && is_dns1123_label(s)
}

/// A DNS-1123 label, as Kubernetes requires of namespaces: like DNS-1035 but
/// it may start with a digit.
pub fn is_dns1123_label(s: &str) -> bool {
    let bytes = s.as_bytes();
    !bytes.is_empty()
        && bytes.len() <= MAX_LABEL
        && bytes
            .iter()
            .all(|&b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && bytes.first().is_some_and(|&b| b != b'-')
        && bytes.last().is_some_and(|&b| b != b'-')
}

/// A DNS name of lower-case DNS-1123 labels separated by dots.
pub fn is_dns_name(s: &str) -> bool {
    s.len() <= MAX_NAME && s.split('.').all(is_dns1123_label)
}

/// A token as RFC 9110 defines header names: letters, digits and
/// ``!#$%&'*+-.^_`|~``.
pub fn is_header_name(name: &str) -> bool {
    is_token(name)
}

/// Why a header must not be one the filter writes, if it must not: writing
/// it breaks the message (`content-length: revision=…` empties every
/// response), its routing, a client's state or credentials, or what a
/// proxy does. `name` is in lower case.
pub fn reserved_header(name: &str) -> Option<&'static str> {
    Some(match name {
        "content-length" => {
            "frames the message body: a value of the filter's truncates or corrupts it"
        }
        "connection" | "keep-alive" | "proxy-connection" | "transfer-encoding" | "te"
        | "trailer" | "upgrade" => {
            "is a hop-by-hop or framing header (RFC 9110 §7.6.1): proxies act on it and remove it"
        }
        "host" => "names the request's host, which routing reads",
        "cookie" | "set-cookie" => "carries cookies, the client's state",
        "authorization" | "proxy-authorization" | "www-authenticate" | "proxy-authenticate" => {
            "carries credentials"
        }
        "content-type" | "content-encoding" | "content-range" => {
            "describes the message body, which the filter does not touch"
        }
        _ if name.starts_with("x-envoy-") || name.starts_with("x-forwarded-") => {
            "is read by Envoy as an instruction"
        }
        _ => return None,
    })
}

/// A cookie name: a token, as RFC 6265 defines it (the same characters as a
/// header name).
pub fn is_cookie_name(name: &str) -> bool {
    is_token(name)
}

fn is_token(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// Printable ASCII without spaces: what a revision name may be, since it is
/// written as a header value and is part of a cluster's name.
pub fn is_revision_name(value: &str) -> bool {
    is_plain_value(value)
}

/// An Envoy cluster name the filter may write into the cluster header:
/// printable ASCII without spaces.
pub fn is_cluster_name(value: &str) -> bool {
    is_plain_value(value)
}

fn is_plain_value(value: &str) -> bool {
    !value.is_empty() && value.bytes().all(|b| b.is_ascii_graphic())
}

/// A DNS-1123 subdomain, as Kubernetes requires of object names.
pub fn is_object_name(value: &str) -> bool {
    !value.is_empty() && is_dns_name(value)
}

/// Kubernetes' label name and value syntax: at most 63 characters of
/// letters, digits, '-', '_' and '.', starting and ending with a letter or
/// digit (a value may be empty).
pub fn is_label_part(value: &str) -> bool {
    let bytes = value.as_bytes();
    bytes.len() <= MAX_LABEL
        && bytes
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(b))
        && bytes.first().is_none_or(u8::is_ascii_alphanumeric)
        && bytes.last().is_none_or(u8::is_ascii_alphanumeric)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_rules() {
        assert!(is_dns1035_label("v1"));
        assert!(is_dns1035_label("latest"));
        assert!(!is_dns1035_label("1v"));
        assert!(!is_dns1035_label("V1"));
        assert!(!is_dns1035_label("v1-"));
        assert!(!is_dns1035_label(""));
        assert!(!is_dns1035_label(&"a".repeat(64)));
        assert!(is_dns1035_label(&"a".repeat(63)));
        assert!(is_dns1123_label("1default"));
        assert!(is_dns_name("example.com"));
        assert!(!is_dns_name("example..com"));
        assert!(!is_dns_name("Example.com"));
    }

    #[test]
    fn header_cookie_and_cluster_names() {
        assert!(is_header_name("x-knative-cluster"));
        assert!(is_header_name("X_Weird~Name!"));
        assert!(!is_header_name(""));
        assert!(!is_header_name("x knative"));
        assert!(!is_header_name("x:y"));
        assert!(is_cookie_name("kn-key"));
        assert!(!is_cookie_name("a=b"));
        assert!(is_cluster_name(
            "outbound|80||web.default.svc.cluster.local"
        ));
        assert!(!is_cluster_name("two words"));
        assert!(!is_cluster_name(""));
        assert!(is_revision_name("web-00001"));
        assert!(!is_revision_name("web\u{e9}"));
    }
}
