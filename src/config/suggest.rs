//! "Did you mean …?": the nearest valid name to a misspelt one, by edit distance.

/// The candidate nearest to `word`, if one is close enough to be a likely typo.
///
/// Close enough means at most one edit per three characters of `word` (at least one edit), or,
/// failing that, the only candidate that starts with `word` (`delay` → `delay_seconds`).
/// Comparison ignores ASCII case; on a tie the first candidate wins.
pub fn closest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let word = word.to_ascii_lowercase();
    let candidates: Vec<(String, &str)> = candidates.into_iter().map(|c| (c.to_ascii_lowercase(), c)).collect();
    let limit = (word.chars().count() / 3).max(1);
    let nearest = candidates
        .iter()
        // The distance is at least the difference in length: checking that first keeps a huge
        // `word` (a 40 KB chat message) from costing more than a comparison.
        .filter(|(lower, _)| word.len().abs_diff(lower.len()) <= limit)
        .map(|(lower, c)| (distance(&word, lower), *c))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c);
    nearest.or_else(|| {
        let mut prefixed = candidates.iter().filter(|(lower, _)| word.len() >= 3 && lower.starts_with(&word));
        match (prefixed.next(), prefixed.next()) {
            (Some((_, only)), None) => Some(*only),
            _ => None,
        }
    })
}

/// Edit distance counting insertions, deletions, substitutions and swaps of two neighbouring
/// characters (`ecoh` → `echo` is one edit), over chars: optimal string alignment.
fn distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    // Three rows of the table: `prev2` (i-2), `prev` (i-1) and `row` (i).
    let mut prev2: Vec<usize> = vec![0; b.len() + 1];
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for i in 1..=a.len() {
        let mut row = vec![i; b.len() + 1];
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            row[j] = (prev[j] + 1).min(row[j - 1] + 1).min(prev[j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                row[j] = row[j].min(prev2[j - 2] + 1);
            }
        }
        prev2 = std::mem::replace(&mut prev, row);
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distances() {
        assert_eq!(distance("", ""), 0);
        assert_eq!(distance("abc", ""), 3);
        assert_eq!(distance("kitten", "sitting"), 3);
        assert_eq!(distance("helo", "hello"), 1);
        assert_eq!(distance("run_arg_template", "run_args_template"), 1);
        assert_eq!(distance("ecoh", "echo"), 1);
    }

    #[test]
    fn suggests_close_names_only() {
        let keys = ["run_args_template", "report_stdout", "report_format"];
        assert_eq!(closest("run_arg_template", keys), Some("run_args_template"));
        assert_eq!(closest("report_formt", keys), Some("report_format"));
        assert_eq!(closest("colour", keys), None);
        assert_eq!(closest("Hello", ["hello", "hello_world"]), Some("hello"));
        assert_eq!(closest("txt", ["text", "blocks"]), Some("text"));
        assert_eq!(closest("x", Vec::<&str>::new()), None);
        assert_eq!(closest("delay", ["delay_seconds", "help"]), Some("delay_seconds"));
        assert_eq!(closest("report", keys), None, "ambiguous prefix");
        assert_eq!(closest("de", ["delay_seconds"]), None, "too short to guess");
    }
}
