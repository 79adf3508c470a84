//! Where each placeholder stands in the shell text of a template: inside quotes (refused: ebmbot
//! quotes values itself), right after `$`, or where bash reads the value *again* after quote
//! removal — arithmetic, a variable name, a command string that another shell runs, a
//! here-document, a `fab` argument list. [`Reread`] names such a place; the loader refuses it
//! unless the param's rule keeps the place's special characters out (see `config::params`).
//!
//! This is a lexer for the bash a template is written in, not a full parser: where it is unsure
//! it errs towards calling a place re-reading (a refused template can be fixed; a value that
//! runs code cannot be taken back).

use std::collections::BTreeMap;

use super::super::params::Alphabet;

/// One item of a template after `{{`/`}}` and placeholders are decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Tok {
    Char(char),
    /// The n-th placeholder occurrence.
    Param(usize),
}

/// Where a placeholder occurrence stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Place {
    Plain,
    Quoted,
    AfterDollar,
    /// Right after an unquoted `\`, which would take the value's opening quote.
    AfterBackslash,
    Reread(Reread),
}

/// What kind of re-reading a place does, which decides the characters a value may carry there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RereadKind {
    /// Bash arithmetic: `a[$(cmd)]` runs `cmd`. Digits and `-` only.
    Arithmetic,
    /// A variable name, whose subscript bash evaluates. Letters, digits and `_` only.
    Name,
    /// Shell code that a shell (this one, another, a remote one) parses again, or text where a
    /// newline or `$` means something. Letters, digits and `_ . / : @ + , -` only.
    Shell,
    /// A Fabric 1 argument list `task:a,k=v`: `,` `=` `:` and `\` split it.
    Fab,
    /// Inside `${ … }`, where an offset is arithmetic and quotes are not removed: no value.
    Expansion,
}

impl RereadKind {
    /// The characters a value may hold in this place.
    pub fn safe(self) -> Alphabet {
        const ALNUM: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
        match self {
            Self::Arithmetic => Alphabet::of_str("0123456789-"),
            Self::Name => Alphabet::of_str(&format!("{ALNUM}_")),
            Self::Shell => Alphabet::of_str(&format!("{ALNUM}_./:@+,-")),
            Self::Fab => Alphabet::of_str(&format!("{ALNUM}_./@+-")),
            Self::Expansion => Alphabet::NONE,
        }
    }

    /// A rule that fits, for the fix in messages.
    pub fn fix(self) -> &'static str {
        match self {
            Self::Arithmetic => "`type = \"int\"`",
            Self::Name => "`pattern = \"^[A-Za-z_][A-Za-z0-9_]*$\"`",
            Self::Shell | Self::Fab => "`type = \"int\"` or `pattern = \"^[A-Za-z0-9_.-]+$\"`",
            Self::Expansion => "nothing: assign the value to a variable first (`v={v}; echo ${x:-$v}`)",
        }
    }
}

/// A place where bash reads a quoted value again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reread {
    pub kind: RereadKind,
    /// The construct, for messages: "`$(( … ))`", "`eval`", "a here-document", …
    pub what: String,
    /// Bash removes no quotes here (inside `$(( … ))`, `(( … ))`, `$[ … ]`, a subscript, a
    /// here-document): `'3'` stays `'3'`. A value that passed its rule is written bare
    /// (see [`super::bare`]).
    pub bare: bool,
}

impl Reread {
    fn new(kind: RereadKind, what: impl Into<String>) -> Reread {
        Reread { kind, what: what.into(), bare: false }
    }

    fn bare(kind: RereadKind, what: impl Into<String>) -> Reread {
        Reread { kind, what: what.into(), bare: true }
    }

    /// Why the place is dangerous, in a few words.
    pub fn why(&self) -> &'static str {
        match self.kind {
            RereadKind::Arithmetic => "where bash evaluates the value again as arithmetic",
            RereadKind::Name => "where bash reads the value again as a variable name",
            RereadKind::Shell => "where the value is read again as shell text",
            RereadKind::Fab => "where Fabric splits the value again at `,` and `=`",
            RereadKind::Expansion => "where bash removes no quotes and may evaluate the value as arithmetic",
        }
    }
}

const SHELLS: [&str; 9] = ["bash", "sh", "dash", "zsh", "ksh", "mksh", "ash", "su", "runuser"];
/// Variables whose value bash expands or runs again: prompts (`PS4` with `set -x`), the
/// prompt command, and the files non-interactive shells source.
const SPECIAL_VARIABLES: [&str; 8] = ["PS0", "PS1", "PS2", "PS3", "PS4", "PROMPT_COMMAND", "BASH_ENV", "ENV"];
const ARITH_TESTS: [&str; 6] = ["-eq", "-ne", "-lt", "-le", "-gt", "-ge"];
/// Words that may stand before the command word.
const PREFIXES: [&str; 14] =
    ["!", "{", "if", "then", "else", "elif", "while", "until", "do", "time", "exec", "command", "builtin", "nohup"];
/// `ssh` options that take an argument.
const SSH_ARG_OPTIONS: &str = "BbcDEeFIiJLlmOoPpQRSWw";
/// Marks a placeholder in a word's text.
const MARK: char = '\u{1}';
/// A `$` inside single quotes, in a word's text: no expansion.
const LITERAL_DOLLAR: char = '\u{2}';

#[derive(Debug, Default)]
struct Word {
    /// The text with quotes removed and each placeholder as [`MARK`].
    text: String,
    /// Placeholder occurrences, each with whether an `=` came before it in the word.
    params: Vec<(usize, bool)>,
    started: bool,
    redirect: bool,
    /// The word after `<<<`.
    herestring: bool,
    /// Values carried into the word by `$( … )` or `( … )` inside it.
    carried: Vec<usize>,
    /// Variables read in the word that hold a value (filled when the word ends).
    reads: Vec<Read>,
}

/// A read of a variable that holds a value.
#[derive(Debug, Clone)]
struct Read {
    name: String,
    occurrences: Vec<usize>,
    /// `$name` (else a bare name, which only arithmetic reads).
    dollar: bool,
    eq_before: bool,
}

impl Word {
    fn base(&self) -> &str {
        self.text.rsplit('/').next().unwrap_or_default()
    }
}

#[derive(Debug, Default)]
struct Cmd {
    words: Vec<Word>,
    cur: Word,
    /// Placeholders of earlier commands of this pipeline.
    pipeline: Vec<usize>,
    /// Pushed by `(`: a `)` closes it.
    closes_paren: bool,
    /// Inside an array assignment `x=( … )`.
    array: Array,
    case_depth: u32,
    comment: bool,
    /// The next word is a here-document delimiter (`true`: `<<-`) or a redirection target.
    heredoc_next: Option<bool>,
    redirect_next: bool,
    herestring_next: bool,
    /// Every value seen in this frame, carried out to the enclosing word when it closes.
    inner: Vec<usize>,
}

/// Whether a command frame is an array assignment, and where its values stand.
#[derive(Debug, Default)]
enum Array {
    #[default]
    No,
    Plain,
    /// `declare -i x=( … )`: its values are arithmetic.
    Declared(Reread),
}

#[derive(Debug)]
enum Kind {
    Cmd(Cmd),
    /// `$(( … ))`, `(( … ))`, `$[ … ]`: ends at the `))` or `]` at depth 0.
    Arith {
        depth: u32,
        bracket: bool,
        what: &'static str,
    },
    /// `${ … }`: the parameter's name, whether it is read, and whether an offset follows it
    /// (`${x:…}`, which is arithmetic).
    Expansion {
        depth: u32,
        name: String,
        named: bool,
        offset: bool,
        /// `${!name}`: the value names another variable.
        indirect: bool,
    },
    /// `name[ … ]`.
    Subscript {
        depth: u32,
    },
}

#[derive(Debug)]
struct Frame {
    kind: Kind,
    quote: Option<char>,
    /// Some enclosing frame is inside double quotes.
    in_dq: bool,
    /// The identifier being read in an arithmetic place, and whether `$` came before it.
    ident: String,
    ident_dollar: bool,
}

impl Frame {
    fn new(kind: Kind, in_dq: bool) -> Frame {
        Frame { kind, quote: None, in_dq, ident: String::new(), ident_dollar: false }
    }
}

struct HereDoc {
    delimiter: String,
    strip_tabs: bool,
}

struct Scanner<'t> {
    toks: &'t [Tok],
    i: usize,
    frames: Vec<Frame>,
    escaped: bool,
    after_dollar: bool,
    pending: Vec<HereDoc>,
    body: Option<(HereDoc, String)>,
    places: Vec<Place>,
    /// Variables that hold a value: name → the placeholder occurrences it came from
    /// (`n={n}`, `m=$n`, `for i in {x}`; `$1`…`$9` from every placeholder).
    taint: BTreeMap<String, Vec<usize>>,
}

/// The place of every placeholder occurrence of `toks` (`count` of them). A value that reaches
/// a place through a variable of the template (`n={n}; [[ $n -gt 0 ]]`) counts as standing
/// there: a first pass finds which variables hold values, the second classifies.
pub(super) fn places(toks: &[Tok], count: usize) -> Vec<Place> {
    let (_, mut taint) = scan(toks, count, BTreeMap::new());
    for name in ["1", "2", "3", "4", "5", "6", "7", "8", "9", "@", "*"] {
        taint.insert(name.to_owned(), (0..count).collect());
    }
    scan(toks, count, taint).0
}

fn scan(toks: &[Tok], count: usize, taint: BTreeMap<String, Vec<usize>>) -> (Vec<Place>, BTreeMap<String, Vec<usize>>) {
    let mut s = Scanner {
        toks,
        i: 0,
        frames: vec![Frame::new(Kind::Cmd(Cmd::default()), false)],
        escaped: false,
        after_dollar: false,
        pending: Vec::new(),
        body: None,
        places: vec![Place::Plain; count],
        taint,
    };
    while s.i < toks.len() {
        let tok = toks[s.i];
        s.i += 1;
        if s.body.is_some() {
            s.heredoc_body(tok);
            continue;
        }
        match tok {
            Tok::Param(p) => s.param(p),
            Tok::Char(c) => {
                let after_dollar = std::mem::take(&mut s.after_dollar);
                s.char(c, after_dollar);
            }
        }
    }
    // Whatever is still open at the end closes here.
    while let Some(frame) = s.frames.pop() {
        if let Kind::Cmd(mut cmd) = frame.kind {
            Scanner::finish_word(&mut s.places, &mut s.pending, &mut s.taint, &mut cmd);
            finish_command(&mut s.places, &mut s.taint, &cmd);
            let inner = cmd.inner;
            if let Some(Frame { kind: Kind::Cmd(outer), .. }) = s.frames.last_mut() {
                outer.cur.carried.extend(inner);
            }
        }
    }
    (s.places, s.taint)
}

impl Scanner<'_> {
    fn peek(&self, ahead: usize) -> Option<char> {
        match self.toks.get(self.i + ahead) {
            Some(Tok::Char(c)) => Some(*c),
            _ => None,
        }
    }

    fn frame(&mut self) -> &mut Frame {
        self.frames.last_mut().expect("the outermost frame is never popped while scanning")
    }

    fn set(&mut self, p: usize, place: Place) {
        if matches!(self.places[p], Place::Plain) {
            self.places[p] = place;
        }
    }

    fn param(&mut self, p: usize) {
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

    fn heredoc_body(&mut self, tok: Tok) {
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

    fn next_heredoc(&mut self) {
        if !self.pending.is_empty() {
            let doc = self.pending.remove(0);
            self.body = Some((doc, String::new()));
        }
    }

    /// Pushes a frame for `$((`, `$(`, `${` or `$[` after a `$`; false if none follows.
    fn dollar(&mut self) -> bool {
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

    fn char(&mut self, c: char, after_dollar: bool) {
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
    fn quoted_char(&mut self, c: char) -> bool {
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
    fn unquoted_char(&mut self, c: char, after_dollar: bool) {
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
    fn arith_ident(&mut self, c: char, after_dollar: bool, next: Option<char>) {
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
    fn reference(&mut self, name: &str, dollar: bool) {
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
    fn carry(&mut self, occurrences: Vec<usize>) {
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

    fn push_text_str(&mut self, text: &str) {
        for c in text.chars() {
            self.push_text(c);
        }
    }

    fn in_comment(&mut self) -> bool {
        matches!(&self.frame().kind, Kind::Cmd(cmd) if cmd.comment)
    }

    fn push_text(&mut self, c: char) {
        if let Kind::Cmd(cmd) = &mut self.frame().kind {
            cmd.cur.text.push(c);
            cmd.cur.started = true;
        }
    }

    fn cmd(&mut self) -> &mut Cmd {
        match &mut self.frame().kind {
            Kind::Cmd(cmd) => cmd,
            _ => unreachable!("cmd() is called in a command frame"),
        }
    }

    fn cmd_char(&mut self, c: char, in_dq: bool) {
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
    fn bracket_char(&mut self, c: char, in_dq: bool) {
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

    fn redirection(&mut self, c: char, in_dq: bool) {
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

    fn newline(&mut self) {
        self.end_command(false);
        if self.body.is_none() {
            self.next_heredoc();
        }
    }

    /// The place of values in an array assignment of the current command (`declare -i x=( … )`).
    fn declared_place(&mut self) -> Option<Reread> {
        let words = &self.cmd().words;
        let j = words.iter().position(|w| matches!(w.text.as_str(), "declare" | "typeset" | "local"))?;
        let flags: String =
            words[j + 1..].iter().filter(|w| w.text.starts_with(['-', '+'])).map(|w| w.text.as_str()).collect();
        flags.contains(['i', 'n']).then(|| Reread::new(RereadKind::Arithmetic, format!("`{} -i`", words[j].text)))
    }

    fn end_word(&mut self) {
        let Scanner { frames, places, pending, taint, .. } = self;
        if let Some(Frame { kind: Kind::Cmd(cmd), .. }) = frames.last_mut() {
            Scanner::finish_word(places, pending, taint, cmd);
        }
    }

    fn finish_word(
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

    fn end_command(&mut self, pipe: bool) {
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

fn set_place(places: &mut [Place], p: usize, r: &Reread) {
    if matches!(places[p], Place::Plain) {
        places[p] = Place::Reread(r.clone());
    }
}

/// The values a word holds: its placeholders and what it reads with `$`.
fn values(word: &Word) -> Vec<usize> {
    let reads = word.reads.iter().filter(|r| r.dollar).flat_map(|r| r.occurrences.iter().copied());
    word.params.iter().map(|&(p, _)| p).chain(reads).collect()
}

fn through(r: &Reread, name: &str) -> Reread {
    Reread::new(r.kind, format!("{} (through `${name}`)", r.what))
}

/// The places of the values in `word`, given the words before it in its simple command.
fn classify_word(places: &mut [Place], words: &[&Word], word: &Word, pipeline: &[usize]) {
    for &(p, eq_before) in &word.params {
        if let Some(r) = rule(words, eq_before) {
            set_place(places, p, &r);
        }
    }
    for read in &word.reads {
        if let Some(r) = rule(words, read.eq_before)
            && (read.dollar || r.kind == RereadKind::Arithmetic)
        {
            for &p in &read.occurrences {
                set_place(places, p, &through(&r, &read.name));
            }
        }
    }
    // `[[ {n} -gt 0 ]]`: the operator comes after the operand.
    if ARITH_TESTS.contains(&word.text.as_str())
        && words.iter().any(|w| w.text == "[[")
        && let Some(prev) = words.last()
    {
        let r = Reread::new(RereadKind::Arithmetic, format!("`[[ … {} … ]]`", word.text));
        for &(p, _) in &prev.params {
            set_place(places, p, &r);
        }
        for read in &prev.reads {
            for &p in &read.occurrences {
                set_place(places, p, &through(&r, &read.name));
            }
        }
    }
    if word.base() == "xargs" {
        let r = Reread::new(RereadKind::Shell, "a pipe into `xargs`");
        for &p in pipeline {
            set_place(places, p, &r);
        }
    }
}

/// What a word does to variables: `declare -n r=x` (an alias), `declare -i n` (later
/// assignments are arithmetic), an assignment to a prompt variable, and which variables now hold
/// a value (`n={n}`, `m=$n`, `for i in {x}`).
fn word_effects(places: &mut [Place], taint: &mut BTreeMap<String, Vec<usize>>, words: &[&Word], word: &Word) {
    let flags = |letter: char| {
        words.first().is_some_and(|f| matches!(f.text.as_str(), "declare" | "typeset" | "local"))
            && words[1..].iter().any(|w| w.text.starts_with('-') && w.text.contains(letter))
    };
    let name = word.text.split(['=', '[', '+']).next().unwrap_or_default().to_owned();
    if flags('n')
        && let Some((alias, target)) = word.text.split_once('=')
        && let Some(held) = taint.get(target).cloned()
    {
        taint.entry(alias.to_owned()).or_default().extend(held);
    }
    if flags('i') && !word.text.starts_with(['-', '+']) {
        taint.entry(format!("-i {name}")).or_default();
    }
    let target = if is_assignment(&word.text) {
        let place = if taint.contains_key(&format!("-i {name}")) {
            Some(Reread::new(RereadKind::Arithmetic, format!("an assignment to `{name}`, declared `-i`")))
        } else if SPECIAL_VARIABLES.contains(&name.as_str()) {
            Some(Reread::new(RereadKind::Shell, format!("`{name}`, which bash expands again")))
        } else {
            None
        };
        if let Some(r) = place {
            for p in values(word) {
                set_place(places, p, &r);
            }
        }
        Some(name)
    } else if words.len() >= 3 && words[0].text == "for" && words[2].text == "in" {
        Some(words[1].text.clone())
    } else {
        None
    };
    let new = values(word);
    if let Some(name) = target
        && !new.is_empty()
    {
        let held = taint.entry(name).or_default();
        held.extend(new);
        held.sort_unstable();
        held.dedup();
    }
}

/// At the end of a simple command: values that reach a shell or a variable through stdin
/// (`echo {v} | bash`, `bash <<< {v}`, `read x <<< {v}`) or `printf -v`.
fn finish_command(places: &mut [Place], taint: &mut BTreeMap<String, Vec<usize>>, cmd: &Cmd) {
    let words: Vec<&Word> = cmd.words.iter().filter(|w| !w.redirect).collect();
    let Some(first) = words.iter().position(|w| !is_assignment(&w.text) && !PREFIXES.contains(&w.text.as_str())) else {
        return;
    };
    let values = |w: &Word| -> Vec<usize> {
        let reads = w.reads.iter().filter(|r| r.dollar).flat_map(|r| r.occurrences.iter().copied());
        w.params.iter().map(|&(p, _)| p).chain(reads).collect()
    };
    let stdin: Vec<usize> =
        cmd.words.iter().filter(|w| w.herestring).flat_map(&values).chain(cmd.pipeline.iter().copied()).collect();
    let base = words[first].base();
    let rest = &words[first + 1..];
    let set = |places: &mut [Place], p: usize, r: &Reread| {
        if matches!(places[p], Place::Plain) {
            places[p] = Place::Reread(r.clone());
        }
    };
    let is_c = rest.iter().any(|w| w.text.strip_prefix('-').is_some_and(|f| !f.starts_with('-') && f.contains('c')));
    let mut taint_names = |names: Vec<String>, from: &[usize]| {
        if from.is_empty() {
            return;
        }
        for name in names {
            let held = taint.entry(name).or_default();
            held.extend(from);
            held.sort_unstable();
            held.dedup();
        }
    };
    match base {
        b if (SHELLS.contains(&b) && !is_c) || b == "xargs" => {
            let r = Reread::new(RereadKind::Shell, format!("the input of `{b}`, which runs it"));
            for &p in &stdin {
                set(places, p, &r);
            }
        }
        "read" | "mapfile" | "readarray" => {
            let takes_arg = if base == "read" { "pdtnNui" } else { "dnOsuCc" };
            let mut names = Vec::new();
            let mut skip = false;
            for w in rest {
                if skip {
                    skip = false;
                } else if let Some(flag) = w.text.strip_prefix('-') {
                    skip = flag.len() == 1 && takes_arg.contains(flag);
                } else {
                    names.push(w.text.clone());
                }
            }
            taint_names(names, &stdin);
        }
        "printf" => {
            if let Some(at) = rest.iter().position(|w| w.text == "-v")
                && let Some(name) = rest.get(at + 1)
            {
                let all: Vec<usize> = rest.iter().flat_map(|w| values(w)).collect();
                taint_names(vec![name.text.clone()], &all);
            }
        }
        _ => {}
    }
}

/// The variables of `taint` that `text` reads: `$name`, `$1`, and bare names (which only an
/// arithmetic place reads).
fn reads(text: &str, taint: &BTreeMap<String, Vec<usize>>) -> Vec<Read> {
    let mut out = Vec::new();
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    let mut i = 0;
    while i < chars.len() {
        let (at, c) = chars[i];
        let ident = |c: char| c.is_ascii_alphanumeric() || c == '_';
        let dollar = c == '$';
        let start = if dollar { i + 1 } else { i };
        let preceded = i > 0 && ident(chars[i - 1].1);
        if dollar && let Some(&(_, all @ ('@' | '*'))) = chars.get(i + 1) {
            if let Some(occurrences) = taint.get(&all.to_string()) {
                let eq_before = text[..at].contains('=');
                out.push(Read { name: all.to_string(), occurrences: occurrences.clone(), dollar, eq_before });
            }
            i += 2;
            continue;
        }
        if (dollar || (ident(c) && !preceded)) && start < chars.len() && ident(chars[start].1) {
            let mut end = start;
            // `$1` is one digit; a name runs on.
            if chars[start].1.is_ascii_digit() {
                end += 1;
            } else {
                while end < chars.len() && ident(chars[end].1) {
                    end += 1;
                }
            }
            let name: String = chars[start..end].iter().map(|(_, c)| c).collect();
            let number = name.starts_with(|c: char| c.is_ascii_digit());
            if let Some(occurrences) = taint.get(&name).filter(|_| dollar || !number) {
                out.push(Read { name, occurrences: occurrences.clone(), dollar, eq_before: text[..at].contains('=') });
            }
            i = end;
            continue;
        }
        i += 1;
    }
    out
}

fn is_assignment(text: &str) -> bool {
    let name_end = text.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).unwrap_or(text.len());
    name_end > 0 && !text.starts_with(|c: char| c.is_ascii_digit()) && text[name_end..].starts_with(['=', '[', '+'])
}

/// The place of a placeholder in `word`, given the words before it in its simple command.
fn rule(words: &[&Word], eq_before: bool) -> Option<Reread> {
    let shell = |what: String| Some(Reread::new(RereadKind::Shell, what));
    let first = words.iter().position(|w| !is_assignment(&w.text) && !PREFIXES.contains(&w.text.as_str()));
    let prev = words.last().map(|w| w.text.as_str());
    for (j, w) in words.iter().enumerate() {
        let base = w.base();
        match base {
            "eval" | "source" | "xargs" | "trap" | "watch" | "alias" => return shell(format!("`{base}`")),
            "." if Some(j) == first => return shell("`.` (source)".to_owned()),
            "fab" => return Some(Reread::new(RereadKind::Fab, "a `fab` command line")),
            "let" => return Some(Reread::new(RereadKind::Arithmetic, "`let`")),
            "ssh" if after_ssh_destination(&words[j + 1..]) => {
                return shell("`ssh host …`, whose remote shell parses it again".to_owned());
            }
            "declare" | "typeset" | "local" => {
                let flags: String = words[j + 1..]
                    .iter()
                    .filter(|w| w.text.starts_with(['-', '+']) && w.params.is_empty())
                    .map(|w| w.text.as_str())
                    .collect();
                if !eq_before {
                    return Some(Reread::new(RereadKind::Name, format!("a variable name after `{base}`")));
                }
                if flags.contains('i') {
                    return Some(Reread::new(RereadKind::Arithmetic, format!("`{base} -i`")));
                }
                if flags.contains('n') {
                    return Some(Reread::new(RereadKind::Name, format!("`{base} -n`")));
                }
            }
            "printf" if prev == Some("-v") => return Some(Reread::new(RereadKind::Name, "`printf -v`")),
            "read" if Some(j) == first && !matches!(prev, Some("-p" | "-d" | "-t" | "-n" | "-N" | "-u" | "-i")) => {
                return Some(Reread::new(RereadKind::Name, "`read`"));
            }
            "mapfile" | "readarray" if prev == Some("-C") => return shell(format!("`{base} -C`")),
            "test" | "[" if prev == Some("-v") => return Some(Reread::new(RereadKind::Name, format!("`{base} -v`"))),
            "[[" if prev == Some("-v") => return Some(Reread::new(RereadKind::Name, "`[[ -v … ]]`")),
            "[[" if prev.is_some_and(|p| ARITH_TESTS.contains(&p)) => {
                return Some(Reread::new(RereadKind::Arithmetic, format!("`[[ … {} … ]]`", prev.unwrap_or_default())));
            }
            _ => {}
        }
        let is_shell = SHELLS.contains(&base) || w.text.starts_with('$');
        if is_shell && is_command_string(&words[j + 1..]) {
            let name = if w.text.starts_with('$') { w.text.as_str() } else { base };
            return shell(format!("`{name} -c`"));
        }
    }
    None
}

/// After a shell word: whether `word`, coming after `rest`, is the command string of a `-c`.
fn is_command_string(rest: &[&Word]) -> bool {
    let is_c = |w: &Word| {
        w.params.is_empty()
            && (w.text.starts_with("--command")
                || w.text.strip_prefix('-').is_some_and(|f| !f.starts_with('-') && f.contains('c')))
    };
    let Some(k) = rest.iter().position(|w| is_c(w)) else { return false };
    let mut skip = false;
    for w in &rest[k + 1..] {
        if skip {
            skip = false;
            continue;
        }
        if w.params.is_empty() && w.text.starts_with(['-', '+']) {
            skip = matches!(w.text.as_str(), "-o" | "+o" | "-O" | "+O");
            continue;
        }
        // The command string is already given; `word` is a positional parameter.
        return false;
    }
    // `word` is the first non-option word after `-c` (or the argument of `-o`: counted too).
    true
}

/// After `ssh`: whether its destination is among `rest` (so what follows is the remote command).
fn after_ssh_destination(rest: &[&Word]) -> bool {
    let mut skip = false;
    for w in rest {
        if skip {
            skip = false;
            continue;
        }
        if w.params.is_empty() && w.text.starts_with('-') {
            let flag = w.text.strip_prefix('-').unwrap_or_default();
            skip = flag.len() == 1 && SSH_ARG_OPTIONS.contains(flag);
            continue;
        }
        return true;
    }
    false
}
