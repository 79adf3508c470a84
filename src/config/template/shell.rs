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

mod commands;
mod lexer;
mod words;

use commands::finish_command;

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
