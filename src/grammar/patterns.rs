//! Configured commands: a `[[ns.slack]]` pattern compared word by word with the text after the
//! namespace.
//!
//! - A literal word matches the same word in any case; a value keeps its case.
//! - Each placeholder but the last takes one word; a last placeholder takes the rest of the text
//!   (at least one word), joined with single spaces. A pattern ending in a literal needs exactly
//!   as many words as it has.
//! - When several patterns match, the most specific wins: at the first position where one has a
//!   literal and the other a placeholder, the literal wins (a position past the end of a pattern
//!   counts as a placeholder, since its last placeholder took that word). If that does not
//!   decide, the pattern with more words wins (it matches a subset of the other's texts); then
//!   the one written first.

use std::cmp::Ordering;
use std::collections::BTreeMap;

use crate::config::{PatternWord, SlackCommand};

/// One command's pattern, with literals case-folded once.
#[derive(Debug, Clone)]
pub(super) struct Pattern {
    words: Vec<Word>,
}

#[derive(Debug, Clone)]
enum Word {
    /// Case-folded with [`fold_case`].
    Literal(String),
    Param(String),
}

/// Lowercases char by char, so that both sides of a comparison fold the same way.
pub(super) fn fold_case(word: &str) -> String {
    word.chars().flat_map(char::to_lowercase).collect()
}

fn eq_folded(word: &str, folded: &str) -> bool {
    word.chars().flat_map(char::to_lowercase).eq(folded.chars())
}

impl Pattern {
    pub(super) fn compile(cmd: &SlackCommand) -> Pattern {
        let words = cmd
            .pattern
            .iter()
            .map(|w| match w {
                PatternWord::Literal(l) => Word::Literal(fold_case(l)),
                PatternWord::Param(p) => Word::Param(p.clone()),
            })
            .collect();
        Pattern { words }
    }

    /// Whether `text` (the words after the namespace) fits this pattern.
    fn matches(&self, text: &[&str]) -> bool {
        let fits_length = match self.words.last() {
            None => text.is_empty(),
            Some(Word::Param(_)) => text.len() >= self.words.len(),
            Some(Word::Literal(_)) => text.len() == self.words.len(),
        };
        fits_length
            && self.words.iter().zip(text).all(|(p, w)| match p {
                Word::Literal(l) => eq_folded(w, l),
                Word::Param(_) => true,
            })
    }

    /// Each placeholder's value; call only when [`Pattern::matches`] holds.
    fn bind(&self, text: &[&str]) -> BTreeMap<String, String> {
        let last = self.words.len().saturating_sub(1);
        let mut args = BTreeMap::new();
        for (i, word) in self.words.iter().enumerate() {
            let Word::Param(name) = word else { continue };
            let value = if i == last {
                text.get(i..).unwrap_or_default().join(" ")
            } else {
                text.get(i).copied().unwrap_or_default().to_owned()
            };
            args.insert(name.clone(), value);
        }
        args
    }

    fn is_literal_at(&self, position: usize) -> bool {
        matches!(self.words.get(position), Some(Word::Literal(_)))
    }

    /// `Greater` when `self` is more specific than `other` (both matching the same text).
    fn specificity(&self, other: &Pattern) -> Ordering {
        let longest = self.words.len().max(other.words.len());
        (0..longest)
            .map(|i| self.is_literal_at(i).cmp(&other.is_literal_at(i)))
            .find(|o| o.is_ne())
            .unwrap_or_else(|| self.words.len().cmp(&other.words.len()))
    }
}

/// The index and arguments of the most specific pattern that matches `text`, if any.
pub(super) fn best_match<'a>(
    patterns: impl Iterator<Item = &'a Pattern>,
    text: &[&str],
) -> Option<(usize, BTreeMap<String, String>)> {
    let mut best: Option<(usize, &Pattern)> = None;
    for (index, pattern) in patterns.enumerate() {
        if !pattern.matches(text) {
            continue;
        }
        if best.is_none_or(|(_, b)| pattern.specificity(b).is_gt()) {
            best = Some((index, pattern));
        }
    }
    best.map(|(index, pattern)| (index, pattern.bind(text)))
}
