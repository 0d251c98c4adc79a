//! Glue (Hive) type strings: `bigint`, `decimal(10,2)`, `array<struct<a:int,b:string>>`, ….
//!
//! Owns parsing (case-insensitive, whitespace-tolerant, with the Spark aliases that Glue's
//! ApplyMapping accepts: `long`, `integer`, `short`, `byte`) and the canonical lower-case printing
//! that Glue's catalog stores. It knows nothing of Arrow: the ETL maps these to Arrow types.

use std::fmt;
use std::str::FromStr;

use crate::column_name::same_column;

/// A parsed Glue column type.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum GlueType {
    String,
    /// `char(n)`: fixed length, stored as a string.
    Char(u32),
    /// `varchar(n)`: bounded length, stored as a string.
    Varchar(u32),
    Boolean,
    TinyInt,
    SmallInt,
    Int,
    BigInt,
    Float,
    Double,
    /// `decimal(p,s)`; a bare `decimal` is `decimal(10,0)` as in Hive.
    Decimal {
        precision: u8,
        scale: u8,
    },
    Date,
    Timestamp,
    Binary,
    Array(Box<GlueType>),
    Map(Box<GlueType>, Box<GlueType>),
    Struct(Vec<StructField>),
}

/// One field of a `struct<…>` type.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct StructField {
    pub name: String,
    pub data_type: GlueType,
}

/// Why a type string was rejected, with the byte offset where parsing stopped.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid Glue type {input:?} at offset {offset}: {message}")]
pub struct GlueTypeError {
    pub input: String,
    pub offset: usize,
    pub message: String,
}

/// Decimal precision limit shared by Hive, Spark and Parquet's 16-byte decimals.
pub const MAX_DECIMAL_PRECISION: u8 = 38;

impl GlueType {
    /// True for types whose values are numbers (DQDL statistics rules apply to these).
    pub fn is_numeric(&self) -> bool {
        matches!(
            self,
            GlueType::TinyInt
                | GlueType::SmallInt
                | GlueType::Int
                | GlueType::BigInt
                | GlueType::Float
                | GlueType::Double
                | GlueType::Decimal { .. }
        )
    }

    /// True for `array`, `map` and `struct`.
    pub fn is_complex(&self) -> bool {
        matches!(
            self,
            GlueType::Array(_) | GlueType::Map(..) | GlueType::Struct(_)
        )
    }
}

impl FromStr for GlueType {
    type Err = GlueTypeError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut p = Parser { input: s, pos: 0 };
        let ty = p.parse_type()?;
        p.skip_ws();
        if p.pos != s.len() {
            return Err(p.error("unexpected text after the type"));
        }
        Ok(ty)
    }
}

/// Parses a Glue type string; see [`GlueType`].
pub fn parse_glue_type(s: &str) -> Result<GlueType, GlueTypeError> {
    s.parse()
}

struct Parser<'a> {
    input: &'a str,
    pos: usize,
}

impl Parser<'_> {
    fn error(&self, message: impl Into<String>) -> GlueTypeError {
        GlueTypeError {
            input: self.input.to_string(),
            offset: self.pos,
            message: message.into(),
        }
    }

    fn rest(&self) -> &str {
        &self.input[self.pos..]
    }

    fn skip_ws(&mut self) {
        let trimmed = self.rest().trim_start();
        self.pos = self.input.len() - trimmed.len();
    }

    fn eat(&mut self, c: char) -> bool {
        self.skip_ws();
        if self.rest().starts_with(c) {
            self.pos += c.len_utf8();
            true
        } else {
            false
        }
    }

    fn expect(&mut self, c: char) -> Result<(), GlueTypeError> {
        if self.eat(c) {
            Ok(())
        } else {
            Err(self.error(format!("expected '{c}'")))
        }
    }

    fn word(&mut self) -> &str {
        self.skip_ws();
        let len = self
            .rest()
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(self.rest().len());
        let start = self.pos;
        self.pos += len;
        &self.input[start..self.pos]
    }

    fn number(&mut self) -> Result<u32, GlueTypeError> {
        self.skip_ws();
        let start = self.pos;
        let digits = self.word();
        digits.parse::<u32>().map_err(|_| GlueTypeError {
            input: self.input.to_string(),
            offset: start,
            message: "expected a whole number".into(),
        })
    }

    fn parse_type(&mut self) -> Result<GlueType, GlueTypeError> {
        let start = self.pos;
        let name = self.word().to_ascii_lowercase();
        let ty = match name.as_str() {
            "string" => GlueType::String,
            "boolean" => GlueType::Boolean,
            "tinyint" | "byte" => GlueType::TinyInt,
            "smallint" | "short" => GlueType::SmallInt,
            "int" | "integer" => GlueType::Int,
            "bigint" | "long" => GlueType::BigInt,
            "float" => GlueType::Float,
            "double" => GlueType::Double,
            "date" => GlueType::Date,
            "timestamp" => GlueType::Timestamp,
            "binary" => GlueType::Binary,
            "char" | "varchar" => {
                self.expect('(')?;
                let n = self.number()?;
                self.expect(')')?;
                if n == 0 {
                    return Err(self.error("length must be at least 1"));
                }
                if name == "char" {
                    GlueType::Char(n)
                } else {
                    GlueType::Varchar(n)
                }
            }
            "decimal" => self.parse_decimal()?,
            "array" => {
                self.expect('<')?;
                let item = self.parse_type()?;
                self.expect('>')?;
                GlueType::Array(Box::new(item))
            }
            "map" => {
                self.expect('<')?;
                let key = self.parse_type()?;
                if key.is_complex() {
                    return Err(self.error("map keys must be a primitive type"));
                }
                self.expect(',')?;
                let value = self.parse_type()?;
                self.expect('>')?;
                GlueType::Map(Box::new(key), Box::new(value))
            }
            "struct" => self.parse_struct()?,
            "" => {
                self.pos = start;
                self.skip_ws();
                return Err(self.error("expected a type name"));
            }
            other => {
                self.pos = start;
                self.skip_ws();
                return Err(self.error(format!("unknown type '{other}'")));
            }
        };
        Ok(ty)
    }

    fn parse_decimal(&mut self) -> Result<GlueType, GlueTypeError> {
        if !self.eat('(') {
            return Ok(GlueType::Decimal {
                precision: 10,
                scale: 0,
            });
        }
        let precision = self.number()?;
        let scale = if self.eat(',') { self.number()? } else { 0 };
        self.expect(')')?;
        if precision == 0 || precision > u32::from(MAX_DECIMAL_PRECISION) {
            return Err(self.error(format!(
                "decimal precision must be 1..={MAX_DECIMAL_PRECISION}, got {precision}"
            )));
        }
        if scale > precision {
            return Err(self.error(format!(
                "decimal scale {scale} exceeds precision {precision}"
            )));
        }
        // Both fit in u8: precision <= 38 and scale <= precision.
        Ok(GlueType::Decimal {
            precision: precision as u8,
            scale: scale as u8,
        })
    }

    fn parse_struct(&mut self) -> Result<GlueType, GlueTypeError> {
        self.expect('<')?;
        let mut fields: Vec<StructField> = Vec::new();
        if self.eat('>') {
            return Err(self.error("a struct needs at least one field"));
        }
        loop {
            self.skip_ws();
            let name_start = self.pos;
            let name = self.field_name()?;
            if fields.iter().any(|f| same_column(&f.name, &name)) {
                self.pos = name_start;
                return Err(self.error(format!("duplicate struct field '{name}'")));
            }
            self.expect(':')?;
            let data_type = self.parse_type()?;
            fields.push(StructField { name, data_type });
            if self.eat('>') {
                return Ok(GlueType::Struct(fields));
            }
            self.expect(',')?;
        }
    }

    /// A struct field name: a plain word, or any text in backticks (Hive's quoting).
    fn field_name(&mut self) -> Result<String, GlueTypeError> {
        self.skip_ws();
        if self.eat('`') {
            let end = self
                .rest()
                .find('`')
                .ok_or_else(|| self.error("unterminated `quoted` field name"))?;
            let name = self.rest()[..end].to_string();
            self.pos += end + 1;
            if name.is_empty() {
                return Err(self.error("empty field name"));
            }
            return Ok(name);
        }
        let name = self.word().to_string();
        if name.is_empty() {
            return Err(self.error("expected a field name"));
        }
        Ok(name)
    }
}

impl fmt::Display for GlueType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GlueType::String => f.write_str("string"),
            GlueType::Char(n) => write!(f, "char({n})"),
            GlueType::Varchar(n) => write!(f, "varchar({n})"),
            GlueType::Boolean => f.write_str("boolean"),
            GlueType::TinyInt => f.write_str("tinyint"),
            GlueType::SmallInt => f.write_str("smallint"),
            GlueType::Int => f.write_str("int"),
            GlueType::BigInt => f.write_str("bigint"),
            GlueType::Float => f.write_str("float"),
            GlueType::Double => f.write_str("double"),
            GlueType::Decimal { precision, scale } => write!(f, "decimal({precision},{scale})"),
            GlueType::Date => f.write_str("date"),
            GlueType::Timestamp => f.write_str("timestamp"),
            GlueType::Binary => f.write_str("binary"),
            GlueType::Array(item) => write!(f, "array<{item}>"),
            GlueType::Map(k, v) => write!(f, "map<{k},{v}>"),
            GlueType::Struct(fields) => {
                f.write_str("struct<")?;
                for (i, field) in fields.iter().enumerate() {
                    if i > 0 {
                        f.write_str(",")?;
                    }
                    let plain = field
                        .name
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '_');
                    if plain {
                        write!(f, "{}:{}", field.name, field.data_type)?;
                    } else {
                        write!(f, "`{}`:{}", field.name, field.data_type)?;
                    }
                }
                f.write_str(">")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn accepts_and_prints_canonically() {
        let cases = [
            ("string", "string"),
            ("BIGINT", "bigint"),
            ("long", "bigint"),
            ("integer", "int"),
            ("short", "smallint"),
            ("byte", "tinyint"),
            ("decimal", "decimal(10,0)"),
            ("decimal(12, 2)", "decimal(12,2)"),
            ("decimal(38)", "decimal(38,0)"),
            ("varchar(20)", "varchar(20)"),
            ("array<string>", "array<string>"),
            (
                " array < struct < a : int , b:string > > ",
                "array<struct<a:int,b:string>>",
            ),
            ("map<string,array<double>>", "map<string,array<double>>"),
            (
                "struct<`first name`:string,zip:int>",
                "struct<`first name`:string,zip:int>",
            ),
            ("timestamp", "timestamp"),
            ("date", "date"),
            ("binary", "binary"),
        ];
        for (input, canonical) in cases {
            let ty = parse_glue_type(input).unwrap_or_else(|e| panic!("{input}: {e}"));
            assert_eq!(ty.to_string(), canonical, "{input}");
            assert_eq!(
                parse_glue_type(canonical).unwrap(),
                ty,
                "round trip of {input}"
            );
        }
    }

    #[test]
    fn rejects_with_position_and_reason() {
        let cases = [
            ("", 0, "expected a type name"),
            ("bigitn", 0, "unknown type 'bigitn'"),
            ("array<>", 6, "expected a type name"),
            ("array<int", 9, "expected '>'"),
            (
                "map<array<int>,int>",
                14,
                "map keys must be a primitive type",
            ),
            ("decimal(39,2)", 13, "precision must be 1..=38"),
            ("decimal(5,6)", 12, "scale 6 exceeds precision 5"),
            ("struct<>", 8, "at least one field"),
            ("struct<a:int,A:int>", 13, "duplicate struct field 'A'"),
            ("int int", 4, "unexpected text after the type"),
            ("varchar(x)", 8, "expected a whole number"),
            ("char(0)", 7, "length must be at least 1"),
        ];
        for (input, offset, message) in cases {
            let err = parse_glue_type(input).unwrap_err();
            assert!(err.message.contains(message), "{input}: got {err}");
            assert_eq!(err.offset, offset, "{input}: {err}");
        }
    }

    #[test]
    fn classifies_types() {
        assert!(parse_glue_type("decimal(4,1)").unwrap().is_numeric());
        assert!(!parse_glue_type("string").unwrap().is_numeric());
        assert!(parse_glue_type("map<string,int>").unwrap().is_complex());
    }
}
