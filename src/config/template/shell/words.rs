//! The scanner's commands: words, brackets, redirections and here-document delimiters, and
//! the end of a word or a command, where its placeholders' places are decided.

use std::collections::BTreeMap;

use super::commands::{PREFIXES, classify_word, finish_command, is_assignment, reads, set_place, values, word_effects};
use super::{Array, Cmd, Frame, HereDoc, Kind, Place, Read, Reread, RereadKind, Scanner, Word};

impl Scanner<'_> {
    pub(super) fn cmd(&mut self) -> &mut Cmd {
        match &mut self.frame().kind {
            Kind::Cmd(cmd) => cmd,
            _ => unreachable!("cmd() is called in a command frame"),
        }
    }

    pub(super) fn cmd_char(&mut self, c: char, in_dq: bool) {
        match c {
            '#' if !self.cmd().cur.started => self.cmd().comment = true,
            ' ' | '\t' => self.end_word(),
            '\n' => {
                self.end_word();
                self.newline();
            }
            ';' => {
                self.end_word();
                self.end_command(false);
            }
            '&' if self.peek(0) == Some('>') => {
                self.end_word();
                self.i += 1;
                if self.peek(0) == Some('>') {
                    self.i += 1;
                }
                self.cmd().redirect_next = true;
            }
            '&' => {
                self.end_word();
                if self.peek(0) == Some('&') {
                    self.i += 1;
                }
                self.end_command(false);
            }
            '|' => {
                self.end_word();
                match self.peek(0) {
                    Some('|') => {
                        self.i += 1;
                        self.end_command(false);
                    }
                    Some('&') => {
                        self.i += 1;
                        self.end_command(true);
                    }
                    _ => self.end_command(true),
                }
            }
            '<' | '>' => self.redirection(c, in_dq),
            '(' | ')' | '[' => self.bracket_char(c, in_dq),
            c => self.push_text(c),
        }
    }

    /// `(`, `)` and `[` outside quotes: arithmetic, subshells, array assignments, subscripts.
    pub(super) fn bracket_char(&mut self, c: char, in_dq: bool) {
        match c {
            '(' => {
                let cur = &self.cmd().cur;
                let (empty, after_eq) = (!cur.started, cur.text.ends_with('='));
                if empty && self.peek(0) == Some('(') {
                    self.i += 1;
                    let kind = Kind::Arith { depth: 0, bracket: false, what: "`(( … ))`" };
                    self.frames.push(Frame::new(kind, in_dq));
                    return;
                }
                let array = match after_eq.then(|| self.declared_place()) {
                    None => Array::No,
                    Some(None) => Array::Plain,
                    Some(Some(r)) => Array::Declared(r),
                };
                self.push_text('(');
                self.frames.push(Frame::new(Kind::Cmd(Cmd { closes_paren: true, array, ..Cmd::default() }), in_dq));
            }
            ')' => {
                self.end_word();
                let cmd = self.cmd();
                if cmd.closes_paren && cmd.case_depth == 0 {
                    self.end_command(false);
                    // The output of `$( … )`, or the elements of `( … )`, carry its values.
                    if let Some(Frame { kind: Kind::Cmd(inner), .. }) = self.frames.pop() {
                        self.carry(inner.inner);
                    }
                    self.push_text(')');
                } else {
                    self.end_command(false);
                }
            }
            '[' => {
                let cmd = self.cmd();
                let after_name = cmd.cur.text.chars().last().is_some_and(|l| l.is_ascii_alphanumeric() || l == '_');
                let array_key = !matches!(cmd.array, Array::No) && !cmd.cur.started;
                self.push_text('[');
                if after_name || array_key {
                    self.frames.push(Frame::new(Kind::Subscript { depth: 0 }, in_dq));
                }
            }
            _ => {}
        }
    }

    pub(super) fn redirection(&mut self, c: char, in_dq: bool) {
        self.end_word();
        let next = self.peek(0);
        if c == '<' && next == Some('<') {
            if self.peek(1) == Some('<') {
                self.i += 2;
                self.cmd().redirect_next = true;
                self.cmd().herestring_next = true;
            } else if self.peek(1) == Some('-') {
                self.i += 2;
                self.cmd().heredoc_next = Some(true);
            } else {
                self.i += 1;
                self.cmd().heredoc_next = Some(false);
            }
            return;
        }
        if next == Some('(') {
            self.i += 1;
            self.frames.push(Frame::new(Kind::Cmd(Cmd { closes_paren: true, ..Cmd::default() }), in_dq));
            return;
        }
        if matches!(next, Some('>' | '&' | '|')) || (c == '<' && next == Some('>')) {
            self.i += 1;
        }
        self.cmd().redirect_next = true;
    }

    pub(super) fn newline(&mut self) {
        self.end_command(false);
        if self.body.is_none() {
            self.next_heredoc();
        }
    }

    /// The place of values in an array assignment of the current command (`declare -i x=( … )`).
    pub(super) fn declared_place(&mut self) -> Option<Reread> {
        let words = &self.cmd().words;
        let j = words.iter().position(|w| matches!(w.text.as_str(), "declare" | "typeset" | "local"))?;
        let flags: String =
            words[j + 1..].iter().filter(|w| w.text.starts_with(['-', '+'])).map(|w| w.text.as_str()).collect();
        flags.contains(['i', 'n']).then(|| Reread::new(RereadKind::Arithmetic, format!("`{} -i`", words[j].text)))
    }

    pub(super) fn end_word(&mut self) {
        let Scanner { frames, places, pending, taint, .. } = self;
        if let Some(Frame { kind: Kind::Cmd(cmd), .. }) = frames.last_mut() {
            Scanner::finish_word(places, pending, taint, cmd);
        }
    }

    pub(super) fn finish_word(
        places: &mut [Place],
        pending: &mut Vec<HereDoc>,
        taint: &mut BTreeMap<String, Vec<usize>>,
        cmd: &mut Cmd,
    ) {
        if !cmd.cur.started {
            return;
        }
        let mut word = std::mem::take(&mut cmd.cur);
        if let Some(strip_tabs) = cmd.heredoc_next.take() {
            pending.push(HereDoc { delimiter: word.text.clone(), strip_tabs });
            word.redirect = true;
        }
        word.redirect |= std::mem::take(&mut cmd.redirect_next);
        word.herestring = std::mem::take(&mut cmd.herestring_next);
        if let Array::Declared(r) = &cmd.array {
            for &(p, _) in &word.params {
                set_place(places, p, r);
            }
        }
        word.reads = reads(&word.text, taint);
        if !word.carried.is_empty() {
            let eq_before = word.text.contains('=');
            let occurrences = word.carried.clone();
            word.reads.push(Read { name: "( … )".to_owned(), occurrences, dollar: true, eq_before });
        }
        cmd.inner.extend(values(&word));
        if !word.redirect {
            let words: Vec<&Word> = cmd.words.iter().filter(|w| !w.redirect).collect();
            classify_word(places, &words, &word, &cmd.pipeline);
            word_effects(places, taint, &words, &word);
            let command_word = words.iter().all(|w| is_assignment(&w.text) || PREFIXES.contains(&w.text.as_str()));
            if command_word && word.text == "case" {
                cmd.case_depth += 1;
            }
            if command_word && word.text == "esac" {
                cmd.case_depth = cmd.case_depth.saturating_sub(1);
            }
        }
        cmd.words.push(word);
    }

    pub(super) fn end_command(&mut self, pipe: bool) {
        let Scanner { frames, places, taint, .. } = self;
        if let Some(Frame { kind: Kind::Cmd(cmd), .. }) = frames.last_mut() {
            finish_command(places, taint, cmd);
        }
        let cmd = self.cmd();
        if pipe {
            let params: Vec<usize> = cmd.words.iter().flat_map(|w| w.params.iter().map(|&(p, _)| p)).collect();
            let reads: Vec<usize> = cmd
                .words
                .iter()
                .flat_map(|w| w.reads.iter().filter(|r| r.dollar).flat_map(|r| r.occurrences.clone()))
                .collect();
            cmd.pipeline.extend(params);
            cmd.pipeline.extend(reads);
        } else {
            cmd.pipeline.clear();
        }
        cmd.words.clear();
        cmd.heredoc_next = None;
        cmd.redirect_next = false;
    }
}
