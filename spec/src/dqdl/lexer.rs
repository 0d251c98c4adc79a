//! Turns DQDL text into tokens, reproducing Glue's lexer: keyword spellings, the identifier
//! alphabet `[A-Za-z0-9_.]`, numbers without exponent, and quoted strings whose whole content
//! looks like a date or a time becoming typed tokens. One deliberate difference: `\r\n` counts as
//! a line break (Glue rejects carriage returns).

use std::ops::Range;

use super::error::DqdlError;

/// A token kind; texts borrow from the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Tok<'a> {
    Colon,
    Comma,
    LBrace,
    RBrace,
    LBracket,
    RBracket,
    LParen,
    RParen,
    Eq,
    Gt,
    Ge,
    Lt,
    Le,
    Bang,
    Minus,
    Plus,
    Star,
    Slash,
    Dollar,
    Kw(Kw),
    /// Digits only (Glue's `DIGIT` and `INT`).
    Int(&'a str),
    /// `INT.INT`.
    Decimal(&'a str),
    /// Raw content of a plain quoted string.
    Str(&'a str),
    /// Content of `"YYYY-MM-DD"`.
    Date(&'a str),
    /// Content of `"H:MM AM"` / `"HH:MM PM"`.
    Time(&'a str),
    /// Content of `"HH:MM"`.
    MilTime(&'a str),
    Ident(&'a str),
    Eof,
}

/// Reserved words. Each is written exactly as listed in [`keyword`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kw {
    And,
    Or,
    Of,
    Null,
    Empty,
    WhitespacesOnly,
    Between,
    In,
    Not,
    Matches,
    Where,
    With,
    Labels,
    DefaultLabels,
    Metadata,
    DataSources,
    Rules,
    Analyzers,
    Now,
    Days,
    Hours,
    Minutes,
    B,
    KB,
    MB,
    GB,
    TB,
}

/// A token and where it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Token<'a> {
    pub tok: Tok<'a>,
    pub start: usize,
    pub end: usize,
}

impl Token<'_> {
    pub fn span(&self) -> Range<usize> {
        self.start..self.end
    }
}

fn keyword(word: &str) -> Option<Kw> {
    Some(match word {
        "and" | "AND" => Kw::And,
        "or" | "OR" => Kw::Or,
        "of" | "OF" => Kw::Of,
        "null" | "NULL" => Kw::Null,
        "empty" | "EMPTY" => Kw::Empty,
        "whitespaces_only" | "WHITESPACES_ONLY" => Kw::WhitespacesOnly,
        "between" => Kw::Between,
        "in" => Kw::In,
        "not" => Kw::Not,
        "matches" => Kw::Matches,
        "where" => Kw::Where,
        "with" => Kw::With,
        "labels" => Kw::Labels,
        "DefaultLabels" => Kw::DefaultLabels,
        "Metadata" => Kw::Metadata,
        "DataSources" => Kw::DataSources,
        "Rules" => Kw::Rules,
        "Analyzers" => Kw::Analyzers,
        "days" => Kw::Days,
        "hours" => Kw::Hours,
        "minutes" => Kw::Minutes,
        "B" => Kw::B,
        "KB" => Kw::KB,
        "MB" => Kw::MB,
        "GB" => Kw::GB,
        "TB" => Kw::TB,
        _ => return None,
    })
}

/// How a token is described in messages ("expected X, found Y").
pub(crate) fn describe(tok: &Tok<'_>) -> String {
    match tok {
        Tok::Colon => "`:`".into(),
        Tok::Comma => "`,`".into(),
        Tok::LBrace => "`{`".into(),
        Tok::RBrace => "`}`".into(),
        Tok::LBracket => "`[`".into(),
        Tok::RBracket => "`]`".into(),
        Tok::LParen => "`(`".into(),
        Tok::RParen => "`)`".into(),
        Tok::Eq => "`=`".into(),
        Tok::Gt => "`>`".into(),
        Tok::Ge => "`>=`".into(),
        Tok::Lt => "`<`".into(),
        Tok::Le => "`<=`".into(),
        Tok::Bang => "`!`".into(),
        Tok::Minus => "`-`".into(),
        Tok::Plus => "`+`".into(),
        Tok::Star => "`*`".into(),
        Tok::Slash => "`/`".into(),
        Tok::Dollar => "`$`".into(),
        Tok::Kw(Kw::Now) => "`now()`".into(),
        Tok::Kw(k) => format!("keyword `{}`", kw_text(*k)),
        Tok::Int(s) | Tok::Decimal(s) => format!("number `{s}`"),
        Tok::Str(s) => format!("string \"{}\"", shorten(s)),
        Tok::Date(s) => format!("date \"{s}\""),
        Tok::Time(s) | Tok::MilTime(s) => format!("time \"{s}\""),
        Tok::Ident(s) => format!("`{}`", shorten(s)),
        Tok::Eof => "end of input".into(),
    }
}

/// Token text for a message: at most 40 characters, line breaks and tabs escaped so a message
/// stays on one line.
fn shorten(s: &str) -> String {
    const MAX: usize = 40;
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i == MAX {
            out.push('…');
            break;
        }
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c => out.push(c),
        }
    }
    out
}

/// Canonical spelling of a keyword.
pub(crate) fn kw_text(k: Kw) -> &'static str {
    match k {
        Kw::And => "and",
        Kw::Or => "or",
        Kw::Of => "of",
        Kw::Null => "NULL",
        Kw::Empty => "EMPTY",
        Kw::WhitespacesOnly => "WHITESPACES_ONLY",
        Kw::Between => "between",
        Kw::In => "in",
        Kw::Not => "not",
        Kw::Matches => "matches",
        Kw::Where => "where",
        Kw::With => "with",
        Kw::Labels => "labels",
        Kw::DefaultLabels => "DefaultLabels",
        Kw::Metadata => "Metadata",
        Kw::DataSources => "DataSources",
        Kw::Rules => "Rules",
        Kw::Analyzers => "Analyzers",
        Kw::Now => "now()",
        Kw::Days => "days",
        Kw::Hours => "hours",
        Kw::Minutes => "minutes",
        Kw::B => "B",
        Kw::KB => "KB",
        Kw::MB => "MB",
        Kw::GB => "GB",
        Kw::TB => "TB",
    }
}

fn is_ident_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'.'
}

/// Lexes the whole input; the last token is [`Tok::Eof`].
pub(crate) fn lex(src: &str) -> Result<Vec<Token<'_>>, DqdlError> {
    let bytes = src.as_bytes();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let start = i;
        let b = bytes[i];
        let single = |tok| Token {
            tok,
            start,
            end: start + 1,
        };
        match b {
            b' ' | b'\t' | b'\n' => i += 1,
            b'\r' if bytes.get(i + 1) == Some(&b'\n') => i += 2,
            b'\r' => {
                return Err(DqdlError::new(
                    src,
                    start..start + 1,
                    "carriage return not followed by a line feed",
                ));
            }
            b'#' => match src[i..].find('\n') {
                Some(offset) => i += offset + 1,
                None => {
                    return Err(DqdlError::new(
                        src,
                        start..src.len(),
                        "a `#` comment must end with a line break (Glue rejects a comment on the \
                         last line without one)",
                    ));
                }
            },
            b'/' if bytes.get(i + 1) == Some(&b'/') => {
                return Err(DqdlError::new(
                    src,
                    start..start + 2,
                    "`//` does not start a comment in DQDL; use `#`",
                ));
            }
            b'"' => {
                let token = lex_string(src, start)?;
                i = token.end;
                tokens.push(token);
            }
            b'>' | b'<' => {
                let or_equal = bytes.get(i + 1) == Some(&b'=');
                let tok = match (b, or_equal) {
                    (b'>', true) => Tok::Ge,
                    (b'>', false) => Tok::Gt,
                    (_, true) => Tok::Le,
                    (_, false) => Tok::Lt,
                };
                i += if or_equal { 2 } else { 1 };
                tokens.push(Token { tok, start, end: i });
            }
            _ if is_ident_byte(b) => {
                while i < bytes.len() && is_ident_byte(bytes[i]) {
                    i += 1;
                }
                let word = &src[start..i];
                if word == "now" && src[i..].starts_with("()") {
                    i += 2;
                    tokens.push(Token {
                        tok: Tok::Kw(Kw::Now),
                        start,
                        end: i,
                    });
                } else {
                    tokens.push(Token {
                        tok: classify_word(word),
                        start,
                        end: i,
                    });
                }
            }
            _ => {
                let tok = match b {
                    b':' => Tok::Colon,
                    b',' => Tok::Comma,
                    b'{' => Tok::LBrace,
                    b'}' => Tok::RBrace,
                    b'[' => Tok::LBracket,
                    b']' => Tok::RBracket,
                    b'(' => Tok::LParen,
                    b')' => Tok::RParen,
                    b'=' => Tok::Eq,
                    b'!' => Tok::Bang,
                    b'-' => Tok::Minus,
                    b'+' => Tok::Plus,
                    b'*' => Tok::Star,
                    b'/' => Tok::Slash,
                    b'$' => Tok::Dollar,
                    _ => return Err(unexpected_char(src, start)),
                };
                i += 1;
                tokens.push(single(tok));
            }
        }
    }
    tokens.push(Token {
        tok: Tok::Eof,
        start: src.len(),
        end: src.len(),
    });
    Ok(tokens)
}

fn unexpected_char(src: &str, at: usize) -> DqdlError {
    let c = src[at..].chars().next().unwrap_or('\u{fffd}');
    let end = at + c.len_utf8();
    let message = match c {
        '\'' => "single quotes do not delimit strings in DQDL; use double quotes".to_string(),
        _ if c.is_control() => format!("unexpected control character U+{:04X}", u32::from(c)),
        _ => format!("unexpected character `{c}`"),
    };
    DqdlError::new(src, at..end, message)
}

/// Digits are numbers, `INT.INT` a decimal, reserved words keywords, anything else an identifier
/// (the longest run wins, so `1col` and `a.b` are identifiers and `5.` is one too).
fn classify_word(word: &str) -> Tok<'_> {
    let all_digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if all_digits(word) {
        return Tok::Int(word);
    }
    if let Some((int, frac)) = word.split_once('.') {
        if all_digits(int) && all_digits(frac) {
            return Tok::Decimal(word);
        }
    }
    keyword(word).map_or(Tok::Ident(word), Tok::Kw)
}

/// A quoted string from `start` (the opening quote). `\"` and `\\` do not end it; a raw line
/// break may appear inside.
fn lex_string(src: &str, start: usize) -> Result<Token<'_>, DqdlError> {
    let bytes = src.as_bytes();
    let mut i = start + 1;
    loop {
        match bytes.get(i) {
            None => {
                return Err(DqdlError::new(
                    src,
                    start..start + 1,
                    "unterminated string: no closing `\"`",
                ));
            }
            Some(b'\\') if matches!(bytes.get(i + 1), Some(b'"' | b'\\')) => i += 2,
            Some(b'"') => break,
            Some(_) => i += 1,
        }
    }
    let content = &src[start + 1..i];
    Ok(Token {
        tok: typed_string(content),
        start,
        end: i + 1,
    })
}

/// Glue's lexer turns a quoted date or time into its own token kind.
fn typed_string(content: &str) -> Tok<'_> {
    let b = content.as_bytes();
    let d = |i: usize| b.get(i).is_some_and(u8::is_ascii_digit);
    let shape = |pattern: &str| {
        pattern.len() == b.len()
            && pattern.bytes().enumerate().all(|(i, p)| match p {
                b'9' => d(i),
                other => b[i] == other,
            })
    };
    if shape("9999-99-99") {
        Tok::Date(content)
    } else if shape("99:99") {
        Tok::MilTime(content)
    } else if ["9:99 AM", "9:99 PM", "99:99 AM", "99:99 PM"]
        .iter()
        .any(|p| shape(p))
    {
        Tok::Time(content)
    } else {
        Tok::Str(content)
    }
}
