//! "Did you mean …?": the known name closest to a mistyped one, by edit distance.

/// The candidate closest to `given` (both case-folded), if it is close enough to be a typo:
/// at most a third of the candidate's length away (at least one edit), and not further away
/// than its whole length. Ties go to the earlier candidate.
pub(super) fn nearest<'a>(
    given: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let given: Vec<char> = given.chars().collect();
    let mut best: Option<(usize, &str)> = None;
    for candidate in candidates {
        let target: Vec<char> = candidate.chars().collect();
        let allowed = (target.len() / 3)
            .max(1)
            .min(target.len().saturating_sub(1));
        // The distance is at least the difference in length; checking it first keeps a huge
        // `given` from costing more than a length comparison.
        if given.len().abs_diff(target.len()) > allowed {
            continue;
        }
        let distance = levenshtein(&given, &target);
        if distance <= allowed && best.is_none_or(|(d, _)| distance < d) {
            best = Some((distance, candidate));
        }
    }
    best.map(|(_, name)| name)
}

/// Insertions, deletions and substitutions needed to turn `a` into `b` (two-row table).
fn levenshtein(a: &[char], b: &[char]) -> usize {
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    let mut current = vec![0; b.len() + 1];
    for (i, ca) in a.iter().enumerate() {
        current[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let substitution = previous[j] + usize::from(ca != cb);
            current[j + 1] = substitution.min(previous[j + 1] + 1).min(current[j] + 1);
        }
        std::mem::swap(&mut previous, &mut current);
    }
    previous[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chars(s: &str) -> Vec<char> {
        s.chars().collect()
    }

    #[test]
    fn distances() {
        assert_eq!(levenshtein(&chars(""), &chars("abc")), 3);
        assert_eq!(levenshtein(&chars("kitten"), &chars("sitting")), 3);
        assert_eq!(levenshtein(&chars("example"), &chars("exmple")), 1);
        assert_eq!(levenshtein(&chars("zoë"), &chars("zoe")), 1);
    }

    #[test]
    fn suggests_only_close_names() {
        let names = ["deploy", "example", "fdaaa"];
        assert_eq!(nearest("exampel", names), Some("example"));
        assert_eq!(nearest("deplo", names), Some("deploy"));
        assert_eq!(nearest("zzz", names), None);
        assert_eq!(nearest("", names), None);
        assert_eq!(nearest(&"x".repeat(40_000), names), None);
        // A one-letter name is never "close" to another one-letter word.
        assert_eq!(nearest("b", ["a"]), None);
    }
}
