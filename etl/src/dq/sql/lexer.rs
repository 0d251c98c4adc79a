//! Tokens of the SQL subset (Spark SQL spelling): identifiers (bare or `` `quoted` ``), numbers,
//! strings in single or double quotes (with Spark's backslash escapes and doubled quotes),
//! operators and punctuation. Keywords are identifiers recognised case-insensitively by the parser.

use super::SqlError;

/// One token and the byte offset where it starts.
#[derive(Debug, Clone, PartialEq)]
pub struct Token {
    /// What was read.
    pub kind: Tok,
    /// Byte offset in the statement.
    pub at: usize,
}

/// Token kinds.
#[derive(Debug, Clone, PartialEq)]
pub enum Tok {
    /// A bare word (also keywords); `quoted` for `` `name` ``.
    Ident { text: String, quoted: bool },
    /// An integer literal.
    Int(i64),
    /// A literal with a fraction or exponent.
    Float(f64),
    /// A string literal, escapes resolved.
    Str(String),
    /// `=`, `==`, `!=`, `<>`, `<`, `<=`, `>`, `>=`, `<=>`, `+`, `-`, `*`, `/`, `%`, `||`.
    Op(&'static str),
    /// `(`
    LParen,
    /// `)`
    RParen,
    /// `,`
    Comma,
    /// `.`
    Dot,
    /// `;`
    Semicolon,
}

/// Splits `text` into tokens.
pub fn tokenize(text: &str) -> Result<Vec<Token>, SqlError> {
    let bytes = text.as_bytes();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        let at = i;
        if c.is_ascii_whitespace() {
            i += 1;
            continue;
        }
        // `-- comment` to end of line
        if c == b'-' && bytes.get(i + 1) == Some(&b'-') {
            while i < bytes.len() && bytes[i] != b'\n' {
                i += 1;
            }
            continue;
        }
        let kind = if c.is_ascii_alphabetic() || c == b'_' {
            let start = i;
            while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_') {
                i += 1;
            }
            Tok::Ident {
                text: text[start..i].to_string(),
                quoted: false,
            }
        } else if c.is_ascii_digit()
            || (c == b'.' && bytes.get(i + 1).is_some_and(u8::is_ascii_digit))
        {
            let (tok, end) = number(text, i)?;
            i = end;
            tok
        } else if c == b'`' {
            let (name, end) = quoted(text, i, b'`', false)?;
            i = end;
            Tok::Ident {
                text: name,
                quoted: true,
            }
        } else if c == b'\'' || c == b'"' {
            let (s, end) = quoted(text, i, c, true)?;
            i = end;
            Tok::Str(s)
        } else {
            let two = text.get(i..i + 2).unwrap_or("");
            let three = text.get(i..i + 3).unwrap_or("");
            let (tok, width) = if three == "<=>" {
                (Tok::Op("<=>"), 3)
            } else {
                match two {
                    "==" => (Tok::Op("="), 2),
                    "!=" | "<>" => (Tok::Op("!="), 2),
                    "<=" => (Tok::Op("<="), 2),
                    ">=" => (Tok::Op(">="), 2),
                    "||" => (Tok::Op("||"), 2),
                    _ => match c {
                        b'=' => (Tok::Op("="), 1),
                        b'<' => (Tok::Op("<"), 1),
                        b'>' => (Tok::Op(">"), 1),
                        b'+' => (Tok::Op("+"), 1),
                        b'-' => (Tok::Op("-"), 1),
                        b'*' => (Tok::Op("*"), 1),
                        b'/' => (Tok::Op("/"), 1),
                        b'%' => (Tok::Op("%"), 1),
                        b'(' => (Tok::LParen, 1),
                        b')' => (Tok::RParen, 1),
                        b',' => (Tok::Comma, 1),
                        b'.' => (Tok::Dot, 1),
                        b';' => (Tok::Semicolon, 1),
                        _ => {
                            let ch = text[i..].chars().next().unwrap_or('?');
                            return Err(SqlError::at(at, format!("unexpected character '{ch}'")));
                        }
                    },
                }
            };
            i += width;
            tok
        };
        tokens.push(Token { kind, at });
    }
    Ok(tokens)
}

fn number(text: &str, start: usize) -> Result<(Tok, usize), SqlError> {
    let bytes = text.as_bytes();
    let mut i = start;
    let mut float = false;
    while i < bytes.len() && bytes[i].is_ascii_digit() {
        i += 1;
    }
    if i < bytes.len() && bytes[i] == b'.' {
        float = true;
        i += 1;
        while i < bytes.len() && bytes[i].is_ascii_digit() {
            i += 1;
        }
    }
    if i < bytes.len() && (bytes[i] == b'e' || bytes[i] == b'E') {
        let mut j = i + 1;
        if j < bytes.len() && (bytes[j] == b'+' || bytes[j] == b'-') {
            j += 1;
        }
        if j < bytes.len() && bytes[j].is_ascii_digit() {
            float = true;
            i = j;
            while i < bytes.len() && bytes[i].is_ascii_digit() {
                i += 1;
            }
        }
    }
    // Spark's typed suffixes (`10L`, `1.5D`) are accepted and ignored.
    if i < bytes.len() && matches!(bytes[i], b'L' | b'l' | b'D' | b'd') {
        let next = bytes.get(i + 1);
        if !next.is_some_and(|b| b.is_ascii_alphanumeric() || *b == b'_') {
            float |= matches!(bytes[i], b'D' | b'd');
            let literal = &text[start..i];
            return Ok((parse_number(literal, float, start)?, i + 1));
        }
    }
    if i < bytes.len() && (bytes[i].is_ascii_alphabetic() || bytes[i] == b'_') {
        return Err(SqlError::at(start, "a name cannot start with a digit"));
    }
    Ok((parse_number(&text[start..i], float, start)?, i))
}

fn parse_number(literal: &str, float: bool, at: usize) -> Result<Tok, SqlError> {
    if !float {
        if let Ok(v) = literal.parse::<i64>() {
            return Ok(Tok::Int(v));
        }
    }
    literal
        .parse::<f64>()
        .map(Tok::Float)
        .map_err(|_| SqlError::at(at, format!("invalid number {literal}")))
}

/// Reads a quoted run starting at `start` (the opening quote). Strings resolve backslash
/// escapes and a doubled quote; quoted identifiers only a doubled backtick.
fn quoted(text: &str, start: usize, quote: u8, escapes: bool) -> Result<(String, usize), SqlError> {
    let mut out = String::new();
    let mut chars = text[start + 1..].char_indices();
    while let Some((offset, ch)) = chars.next() {
        let pos = start + 1 + offset;
        if ch as u32 == quote as u32 {
            if text.as_bytes().get(pos + 1) == Some(&quote) {
                out.push(ch);
                chars.next();
                continue;
            }
            return Ok((out, pos + 1));
        }
        if escapes && ch == '\\' {
            match chars.next() {
                Some((_, 'n')) => out.push('\n'),
                Some((_, 't')) => out.push('\t'),
                Some((_, 'r')) => out.push('\r'),
                Some((_, '0')) => out.push('\0'),
                Some((_, other)) => out.push(other),
                None => break,
            }
            continue;
        }
        out.push(ch);
    }
    let what = if escapes { "string" } else { "quoted name" };
    Err(SqlError::at(start, format!("unterminated {what}")))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn kinds(s: &str) -> Vec<Tok> {
        tokenize(s).unwrap().into_iter().map(|t| t.kind).collect()
    }

    fn ident(s: &str) -> Tok {
        Tok::Ident {
            text: s.into(),
            quoted: false,
        }
    }

    #[test]
    fn reads_words_numbers_strings_and_operators() {
        assert_eq!(
            kinds("a_1 >= 10 AND b <> 'it''s' or c != 2.5e1"),
            vec![
                ident("a_1"),
                Tok::Op(">="),
                Tok::Int(10),
                ident("AND"),
                ident("b"),
                Tok::Op("!="),
                Tok::Str("it's".into()),
                ident("or"),
                ident("c"),
                Tok::Op("!="),
                Tok::Float(25.0),
            ]
        );
    }

    #[test]
    fn escapes_and_quoted_identifiers() {
        assert_eq!(
            kinds(r#"`my col` = "x\"y" || 'a\nb'"#),
            vec![
                Tok::Ident {
                    text: "my col".into(),
                    quoted: true
                },
                Tok::Op("="),
                Tok::Str("x\"y".into()),
                Tok::Op("||"),
                Tok::Str("a\nb".into()),
            ]
        );
    }

    #[test]
    fn numbers_with_suffixes_and_leading_dot() {
        assert_eq!(
            kinds("10L .5 3D 7"),
            vec![Tok::Int(10), Tok::Float(0.5), Tok::Float(3.0), Tok::Int(7)]
        );
        assert_eq!(kinds("99999999999999999999"), vec![Tok::Float(1e20)]);
    }

    #[test]
    fn comments_and_empty_input() {
        assert_eq!(kinds(""), vec![]);
        assert_eq!(
            kinds("a -- rest\n + 1"),
            vec![ident("a"), Tok::Op("+"), Tok::Int(1)]
        );
    }

    #[test]
    fn errors_say_where() {
        let e = tokenize("a = 'open").unwrap_err();
        assert_eq!((e.at, e.message.as_str()), (Some(4), "unterminated string"));
        let e = tokenize("a # b").unwrap_err();
        assert_eq!(
            (e.at, e.message.as_str()),
            (Some(2), "unexpected character '#'")
        );
        let e = tokenize("1abc").unwrap_err();
        assert_eq!(e.at, Some(0));
    }
}
