//! Arbitrary-precision decimal numbers, as cty has them. Terraform sends
//! numbers as msgpack integers, floats, or (when neither is exact) decimal
//! strings; all three decode to the same canonical [`Number`].

use std::fmt;
use std::str::FromStr;

/// A decimal number `±digits × 10^exponent`, kept canonical (no leading or
/// trailing zero digits) so that `1`, `1.0` and `10e-1` are equal.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Number {
    negative: bool,
    /// Significant decimal digits; empty for zero.
    digits: String,
    exponent: i64,
}

/// Text that is not a decimal number.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a number")]
pub struct NumberError(String);

/// Largest exponent kept: far beyond any real configuration value, small
/// enough that arithmetic on exponents never overflows.
const MAX_EXPONENT: i64 = 1 << 40;

impl Number {
    /// Parses `[-+]digits[.digits][e[-+]digits]`.
    pub fn parse(text: &str) -> Result<Number, NumberError> {
        let err = || NumberError(text.to_owned());
        let (negative, rest) = match text.as_bytes().first() {
            Some(b'-') => (true, &text[1..]),
            Some(b'+') => (false, &text[1..]),
            _ => (false, text),
        };
        let (mantissa, exp_text) = match rest.find(['e', 'E']) {
            Some(i) => (&rest[..i], Some(&rest[i + 1..])),
            None => (rest, None),
        };
        let (int_part, frac_part) = match mantissa.find('.') {
            Some(i) => (&mantissa[..i], &mantissa[i + 1..]),
            None => (mantissa, ""),
        };
        let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
        if int_part.is_empty() && frac_part.is_empty()
            || !all_digits(int_part)
            || !all_digits(frac_part)
        {
            return Err(err());
        }
        let mut exponent = match exp_text {
            None => 0,
            Some(e) => {
                let digits = e.strip_prefix(['+', '-']).unwrap_or(e);
                if digits.is_empty() || !all_digits(digits) {
                    return Err(err());
                }
                let value: i64 = e.parse().map_err(|_| err())?;
                if value.abs() > MAX_EXPONENT {
                    return Err(err());
                }
                value
            }
        };
        exponent -= i64::try_from(frac_part.len()).map_err(|_| err())?;
        let mut digits: String = int_part.chars().chain(frac_part.chars()).collect();
        Ok(Self::canonical(negative, &mut digits, exponent))
    }

    fn canonical(negative: bool, digits: &mut String, mut exponent: i64) -> Number {
        let trimmed_end = digits.trim_end_matches('0').len();
        exponent += i64::try_from(digits.len() - trimmed_end).unwrap_or(0);
        digits.truncate(trimmed_end);
        let leading = digits.len() - digits.trim_start_matches('0').len();
        digits.drain(..leading);
        if digits.is_empty() {
            return Number {
                negative: false,
                digits: String::new(),
                exponent: 0,
            };
        }
        Number {
            negative,
            digits: std::mem::take(digits),
            exponent,
        }
    }

    /// The exact value of a finite float; `None` for NaN and infinities.
    pub fn from_f64(value: f64) -> Option<Number> {
        if !value.is_finite() {
            return None;
        }
        // Rust prints the shortest text that reads back as the same float.
        Number::parse(&format!("{value}")).ok()
    }

    pub fn is_integer(&self) -> bool {
        self.exponent >= 0
    }

    /// The value as an `i64`, if it is an integer in range.
    pub fn as_i64(&self) -> Option<i64> {
        if !self.is_integer() || self.digits.len() as i64 + self.exponent > 19 {
            return None;
        }
        let text = format!(
            "{}{}",
            if self.negative { "-" } else { "" },
            self.plain_integer()
        );
        text.parse().ok()
    }

    /// The value as a `u64`, if it is a non-negative integer in range.
    pub fn as_u64(&self) -> Option<u64> {
        if self.negative || !self.is_integer() || self.digits.len() as i64 + self.exponent > 20 {
            return None;
        }
        self.plain_integer().parse().ok()
    }

    /// The nearest `f64` (may lose precision; infinite when out of range).
    pub fn as_f64(&self) -> f64 {
        self.to_string().parse().unwrap_or(f64::NAN)
    }

    /// The `f64` equal to this number, if there is one.
    pub fn as_exact_f64(&self) -> Option<f64> {
        let f = self.as_f64();
        (Number::from_f64(f).as_ref() == Some(self)).then_some(f)
    }

    fn plain_integer(&self) -> String {
        let zeros = usize::try_from(self.exponent).unwrap_or(0);
        if self.digits.is_empty() {
            return "0".to_owned();
        }
        format!("{}{}", self.digits, "0".repeat(zeros))
    }
}

impl fmt::Display for Number {
    /// Plain decimal notation for everyday magnitudes, scientific otherwise;
    /// both parse back to the same number.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.digits.is_empty() {
            return write!(f, "0");
        }
        if self.negative {
            write!(f, "-")?;
        }
        let len = self.digits.len() as i64;
        if (0..=20).contains(&self.exponent) {
            write!(f, "{}", self.plain_integer())
        } else if self.exponent < 0 && -self.exponent < len {
            let point = (len + self.exponent) as usize;
            write!(f, "{}.{}", &self.digits[..point], &self.digits[point..])
        } else if self.exponent < 0 && -self.exponent - len <= 20 {
            let zeros = (-self.exponent - len) as usize;
            write!(f, "0.{}{}", "0".repeat(zeros), self.digits)
        } else {
            // d.ddd e(exponent + len - 1)
            let (first, rest) = self.digits.split_at(1);
            let exp = self.exponent + len - 1;
            if rest.is_empty() {
                write!(f, "{first}e{exp}")
            } else {
                write!(f, "{first}.{rest}e{exp}")
            }
        }
    }
}

impl FromStr for Number {
    type Err = NumberError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Number::parse(s)
    }
}

impl From<i64> for Number {
    fn from(value: i64) -> Self {
        let mut digits = value.unsigned_abs().to_string();
        Number::canonical(value < 0, &mut digits, 0)
    }
}

impl From<u64> for Number {
    fn from(value: u64) -> Self {
        let mut digits = value.to_string();
        Number::canonical(false, &mut digits, 0)
    }
}

impl From<i32> for Number {
    fn from(value: i32) -> Self {
        Number::from(i64::from(value))
    }
}

impl From<u32> for Number {
    fn from(value: u32) -> Self {
        Number::from(u64::from(value))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn parse_and_display() {
        let cases = [
            ("0", "0"),
            ("-0", "0"),
            ("0.000", "0"),
            ("1", "1"),
            ("+1", "1"),
            ("1.0", "1"),
            ("10e-1", "1"),
            ("-42", "-42"),
            ("3.25", "3.25"),
            ("0.0625", "0.0625"),
            ("1e3", "1000"),
            ("1.5E+2", "150"),
            (".5", "0.5"),
            ("5.", "5"),
            ("18446744073709551616", "18446744073709551616"),
            (
                "123456789012345678901234567890",
                "123456789012345678901234567890",
            ),
            ("1.5e40", "1.5e40"),
            ("1e-30", "1e-30"),
            ("-2.5e-25", "-2.5e-25"),
        ];
        for (text, shown) in cases {
            let n = Number::parse(text).unwrap();
            assert_eq!(n.to_string(), shown, "{text}");
            assert_eq!(Number::parse(shown).unwrap(), n, "{text} round trip");
        }
    }

    #[test]
    fn parse_rejects_non_numbers() {
        for bad in [
            "",
            "-",
            "+",
            ".",
            "e5",
            "1e",
            "1e+",
            "1.2.3",
            "1,0",
            " 1",
            "0x10",
            "NaN",
            "inf",
            "1e99999999999999999",
        ] {
            assert!(Number::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn conversions() {
        assert_eq!(Number::from(i64::MIN).as_i64(), Some(i64::MIN));
        assert_eq!(Number::from(i64::MAX).as_i64(), Some(i64::MAX));
        assert_eq!(Number::from(u64::MAX).as_u64(), Some(u64::MAX));
        assert_eq!(Number::from(u64::MAX).as_i64(), None);
        assert_eq!(Number::from(-1).as_u64(), None);
        assert_eq!(Number::parse("1.5").unwrap().as_i64(), None);
        assert_eq!(Number::parse("1e2").unwrap().as_i64(), Some(100));
        assert_eq!(Number::from_f64(0.1).unwrap().to_string(), "0.1");
        assert_eq!(Number::from_f64(f64::NAN), None);
        assert_eq!(Number::from_f64(f64::INFINITY), None);
        assert_eq!(Number::parse("0.1").unwrap().as_exact_f64(), Some(0.1));
        assert_eq!(
            Number::parse("0.10000000000000000000001")
                .unwrap()
                .as_exact_f64(),
            None
        );
    }
}
