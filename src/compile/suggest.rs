//! "did you mean": the known name nearest to an unknown field or value, so
//! a typo is answered with its fix instead of the schema's every name.

/// serde's message for an unknown field or enum value with its list of
/// expected names (`` unknown field `percnt`, expected one of `tag`, … ``)
/// turned into `` unknown field `percnt`, did you mean `percent`? `` when one
/// name is near enough; `None` otherwise, and the list stays.
pub(super) fn suggest(message: &str) -> Option<String> {
    let (unknown, expected) = message.split_once(", expected ")?;
    let given = ["unknown field `", "unknown variant `"]
        .iter()
        .find_map(|start| unknown.strip_prefix(start))?
        .strip_suffix('`')?;
    let nearest = quoted(expected)
        .map(|name| (distance(&normal(given), &normal(name)), name))
        .min_by_key(|(d, _)| *d)
        .filter(|(d, name)| *d <= (normal(name).len() / 3).max(1))?;
    Some(format!("{unknown}, did you mean `{}`?", nearest.1))
}

/// The `` `…` ``-quoted names of serde's list.
fn quoted(list: &str) -> impl Iterator<Item = &str> {
    list.split('`').skip(1).step_by(2)
}

/// A name without case or word separators: `revision_name`, `RevisionName`
/// and `revisionName` are one name misspelt three ways. (ASCII case only:
/// the schema's names are ASCII, and Unicode's tables would weigh 10 KB in
/// the module.)
fn normal(name: &str) -> Vec<char> {
    name.chars()
        .filter(|c| !matches!(c, '_' | '-'))
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// Levenshtein distance, in one row. Names are short, and this runs only on
/// a refused configuration.
fn distance(a: &[char], b: &[char]) -> usize {
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut diagonal = i;
        let mut left = i + 1;
        for (cb, above) in b.iter().zip(row.iter_mut().skip(1)) {
            let cost = usize::from(ca != cb);
            let value = (diagonal + cost).min(left + 1).min(*above + 1);
            diagonal = *above;
            *above = value;
            left = value;
        }
        if let Some(first) = row.first_mut() {
            *first = i + 1;
        }
    }
    row.last().copied().unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distances() {
        let d = |a: &str, b: &str| distance(&normal(a), &normal(b));
        assert_eq!(d("percnt", "percent"), 1);
        assert_eq!(d("kitten", "sitting"), 3);
        assert_eq!(d("", "tag"), 3);
        assert_eq!(d("revision_name", "revisionName"), 0);
    }

    #[test]
    fn a_far_name_gets_no_suggestion() {
        let message = "unknown field `weight`, expected one of `tag`, `percent`";
        assert_eq!(suggest(message), None);
        let message = "unknown field `tg`, expected `tag` or `url`";
        assert_eq!(
            suggest(message).as_deref(),
            Some("unknown field `tg`, did you mean `tag`?")
        );
        assert_eq!(
            suggest("invalid type: integer `5`, expected a string"),
            None
        );
    }
}
