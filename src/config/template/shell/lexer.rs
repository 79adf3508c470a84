//! The scanner's characters: quotes, `$` and what follows it (expansions, arithmetic,
//! command substitutions), here-document bodies, and the variables a value reaches.

use super::{Cmd, Frame, Kind, LITERAL_DOLLAR, MARK, Place, Reread, RereadKind, Scanner, Tok};

impl Scanner<'_> {
    pub(super) fn peek(&self, ahead: usize) -> Option<char> {
        match self.toks.get(self.i + ahead) {
            Some(Tok::Char(c)) => Some(*c),
            _ => None,
        }
    }

    pub(super) fn frame(&mut self) -> &mut Frame {
        self.frames.last_mut().expect("the outermost frame is never popped while scanning")
    }

    pub(super) fn set(&mut self, p: usize, place: Place) {
        if matches!(self.places[p], Place::Plain) {
            self.places[p] = place;
        }
    }

    pub(super) fn param(&mut self, p: usize) {
        let after_dollar = std::mem::take(&mut self.after_dollar);
        let escaped = std::mem::take(&mut self.escaped);
        let in_comment = self.in_comment();
        let frame = self.frames.last_mut().expect("outermost frame");
        let place = if frame.quote.is_some() || frame.in_dq {
            Place::Quoted
        } else if escaped && !in_comment {
            Place::AfterBackslash
        } else if after_dollar {
            Place::AfterDollar
        } else {
            match &mut frame.kind {
                Kind::Arith { what, .. } => Place::Reread(Reread::bare(RereadKind::Arithmetic, *what)),
                Kind::Expansion { .. } => Place::Reread(Reread::new(RereadKind::Expansion, "`${ … }`")),
                Kind::Subscript { .. } => Place::Reread(Reread::bare(RereadKind::Arithmetic, "an array subscript")),
                Kind::Cmd(cmd) if cmd.comment => {
                    Place::Reread(Reread::new(RereadKind::Shell, "a comment (a newline in the value ends it)"))
                }
                Kind::Cmd(cmd) => {
                    let eq_before = cmd.cur.text.contains('=');
                    cmd.cur.text.push(MARK);
                    cmd.cur.params.push((p, eq_before));
                    cmd.cur.started = true;
                    Place::Plain
                }
            }
        };
        self.set(p, place);
    }

    pub(super) fn heredoc_body(&mut self, tok: Tok) {
        let Some((doc, line)) = &mut self.body else { return };
        match tok {
            Tok::Param(p) => {
                line.push(MARK);
                self.set(p, Place::Reread(Reread::bare(RereadKind::Shell, "a here-document")));
            }
            Tok::Char('\n') => {
                let text = if doc.strip_tabs { line.trim_start_matches('\t') } else { line.as_str() };
                if text == doc.delimiter {
                    self.body = None;
                    self.next_heredoc();
                } else {
                    line.clear();
                }
            }
            Tok::Char(c) => line.push(c),
        }
    }

    pub(super) fn next_heredoc(&mut self) {
        if !self.pending.is_empty() {
            let doc = self.pending.remove(0);
            self.body = Some((doc, String::new()));
        }
    }

    /// Pushes a frame for `$((`, `$(`, `${` or `$[` after a `$`; false if none follows.
    pub(super) fn dollar(&mut self) -> bool {
        let in_dq = {
            let f = self.frame();
            f.in_dq || f.quote == Some('"')
        };
        let kind = match (self.peek(0), self.peek(1)) {
            (Some('('), Some('(')) => {
                self.i += 2;
                Kind::Arith { depth: 0, bracket: false, what: "`$(( … ))`" }
            }
            (Some('('), _) => {
                self.i += 1;
                Kind::Cmd(Cmd { closes_paren: true, ..Cmd::default() })
            }
            (Some('{'), _) => {
                self.i += 1;
                Kind::Expansion { depth: 0, name: String::new(), named: false, offset: false, indirect: false }
            }
            (Some('['), _) => {
                self.i += 1;
                Kind::Arith { depth: 0, bracket: true, what: "`$[ … ]`" }
            }
            _ => return false,
        };
        if let Kind::Cmd(cmd) = &mut self.frame().kind {
            cmd.cur.text.push('$');
            cmd.cur.started = true;
        }
        self.frames.push(Frame::new(kind, in_dq));
        true
    }

    pub(super) fn char(&mut self, c: char, after_dollar: bool) {
        if self.in_comment() {
            // A comment ends at the first newline, whatever comes before it.
            if c == '\n' {
                self.escaped = false;
                self.cmd().comment = false;
                self.newline();
            }
            return;
        }
        if std::mem::take(&mut self.escaped) {
            if c != '\n' {
                self.push_text(c);
            }
            return;
        }
        if self.quoted_char(c) {
            return;
        }
        self.unquoted_char(c, after_dollar);
    }

    /// A character inside quotes (or the one that opens them); false when unquoted.
    pub(super) fn quoted_char(&mut self, c: char) -> bool {
        match self.frame().quote {
            Some('\'') => {
                if c == '\'' {
                    self.frame().quote = None;
                } else {
                    // `'$n'` reads nothing in this shell (what another shell does with it is
                    // that program's business, see docs/security.md).
                    self.push_text(if c == '$' { LITERAL_DOLLAR } else { c });
                }
                return true;
            }
            Some('`') => {
                match c {
                    '\\' => self.escaped = true,
                    '`' => self.frame().quote = None,
                    _ => {}
                }
                return true;
            }
            Some(_) => {
                match c {
                    '\\' => self.escaped = true,
                    '"' => self.frame().quote = None,
                    '$' => {
                        if !self.dollar() {
                            self.push_text('$');
                            self.after_dollar = true;
                        }
                    }
                    _ => self.push_text(c),
                }
                return true;
            }
            None => {}
        }
        match c {
            '\\' => self.escaped = true,
            '\'' | '"' | '`' => {
                self.frame().quote = Some(c);
                if let Kind::Cmd(cmd) = &mut self.frame().kind {
                    cmd.cur.started = true;
                }
            }
            '$' => {
                if !self.dollar() {
                    self.push_text('$');
                    self.after_dollar = true;
                }
            }
            _ => return false,
        }
        true
    }

    /// A character outside quotes: frames open and close, words end.
    pub(super) fn unquoted_char(&mut self, c: char, after_dollar: bool) {
        let in_dq = self.frame().in_dq;
        let next = self.peek(0);
        if !matches!(self.frame().kind, Kind::Cmd(_)) {
            self.arith_ident(c, after_dollar, next);
        }
        if c == '[' && matches!(self.frame().kind, Kind::Expansion { .. }) {
            self.frames.push(Frame::new(Kind::Subscript { depth: 0 }, in_dq));
            return;
        }
        let (open, shut, depth) = match &mut self.frame().kind {
            Kind::Cmd(_) => {
                self.cmd_char(c, in_dq);
                return;
            }
            Kind::Arith { depth, bracket: false, .. } => ('(', ')', depth),
            Kind::Arith { depth, bracket: true, .. } => ('[', ']', depth),
            Kind::Expansion { depth, .. } => ('{', '}', depth),
            Kind::Subscript { depth } => ('[', ']', depth),
        };
        if c == open {
            *depth += 1;
        } else if c == shut && *depth > 0 {
            *depth -= 1;
        } else if c == shut {
            let frame = self.frames.pop();
            match frame.map(|f| f.kind) {
                // `$(( … ))`: the second `)` belongs to the frame too.
                Some(Kind::Arith { bracket: false, .. }) if next == Some(')') => self.i += 1,
                Some(Kind::Subscript { .. }) => self.push_text(']'),
                // `${name…}` reads `name`: where the expansion stands decides what that means.
                Some(Kind::Expansion { name, indirect: true, .. }) => {
                    let r = Reread::new(RereadKind::Name, format!("`${{!…}}` (through `${name}`)"));
                    for p in self.taint.get(&name).cloned().unwrap_or_default() {
                        self.set(p, Place::Reread(r.clone()));
                    }
                }
                Some(Kind::Expansion { name, .. }) => self.reference(&name, true),

                _ => {}
            }
        }
    }

    /// Identifiers read in an arithmetic frame (or after the name of a `${…}`): a variable
    /// holding a value that bash evaluates there.
    pub(super) fn arith_ident(&mut self, c: char, after_dollar: bool, next: Option<char>) {
        let frame = self.frame();
        if let Kind::Expansion { name, named, offset, indirect, .. } = &mut frame.kind
            && !*named
        {
            if c.is_ascii_alphanumeric() || c == '_' {
                name.push(c);
            } else if name.is_empty() && c == '!' {
                *indirect = true;
            } else if !(name.is_empty() && c == '#') {
                *named = true;
                *offset = c == ':' && !matches!(next, Some('-' | '=' | '+' | '?'));
            }
            return;
        }
        if c.is_ascii_alphanumeric() || c == '_' {
            if frame.ident.is_empty() {
                frame.ident_dollar = after_dollar;
            }
            frame.ident.push(c);
            return;
        }
        let (ident, dollar) = (std::mem::take(&mut frame.ident), frame.ident_dollar);
        if !ident.is_empty() {
            self.reference(&ident, dollar);
        }
    }

    /// A read of variable `name` in the current frame.
    pub(super) fn reference(&mut self, name: &str, dollar: bool) {
        if name.starts_with(|c: char| c.is_ascii_digit()) && !dollar {
            return; // a number
        }
        let what = match &self.frame().kind {
            Kind::Cmd(_) => {
                // Words are classified when they end; `$name` stays in the text.
                self.push_text_str(name);
                return;
            }
            Kind::Arith { what, .. } => *what,
            Kind::Subscript { .. } => "an array subscript",
            Kind::Expansion { offset: true, .. } => "`${ … }`",
            Kind::Expansion { .. } => return,
        };
        let Some(occurrences) = self.taint.get(name).cloned() else { return };
        let r = Reread::new(RereadKind::Arithmetic, format!("{what} (through `${name}`)"));
        for p in occurrences {
            self.set(p, Place::Reread(r.clone()));
        }
    }

    /// Values carried out of a closed `$( … )` or `( … )` into where it stands.
    pub(super) fn carry(&mut self, occurrences: Vec<usize>) {
        let what = match &mut self.frame().kind {
            Kind::Cmd(cmd) => {
                cmd.cur.carried.extend(occurrences);
                cmd.cur.started = true;
                return;
            }
            Kind::Arith { what, .. } => *what,
            Kind::Subscript { .. } => "an array subscript",
            Kind::Expansion { .. } => "`${ … }`",
        };
        let r = Reread::new(RereadKind::Arithmetic, format!("{what} (through `$( … )`)"));
        for p in occurrences {
            self.set(p, Place::Reread(r.clone()));
        }
    }

    pub(super) fn push_text_str(&mut self, text: &str) {
        for c in text.chars() {
            self.push_text(c);
        }
    }

    pub(super) fn in_comment(&mut self) -> bool {
        matches!(&self.frame().kind, Kind::Cmd(cmd) if cmd.comment)
    }

    pub(super) fn push_text(&mut self, c: char) {
        if let Kind::Cmd(cmd) = &mut self.frame().kind {
            cmd.cur.text.push(c);
            cmd.cur.started = true;
        }
    }
}
