//! The fast path: a schema-directed, single-pass JSON decoder for clean chunks.
//!
//! arrow-json first turns bytes into a type-blind tape, then walks the tape once per column, and
//! finds each object key by comparing it with every field name. On our benchmark data that is
//! two thirds of the run's CPU. This decoder parses each record once, straight into typed column
//! builders, and looks keys up by guessing that they come in the same order as in the previous
//! record (they almost always do), so a key costs one comparison.
//!
//! It is deliberately narrow: anything unusual — a record that is not RFC 8259 JSON as
//! serde_json reads it (raw control characters, bad escapes or UTF-8 even in skipped values,
//! nesting past [`MAX_DEPTH`], a number beyond `f64`), a value of another JSON
//! kind than its column's, a number string in a numeric column, an escaped key, a duplicate
//! key, a timestamp in a form other than `YYYY-MM-DD[T ]HH:MM:SS[.ffffff][Z|±HH:MM]` — makes it
//! give up on the whole chunk, which then goes through arrow-json (with per-record bisection,
//! see [`super::records`]). So a value is either decoded here exactly as arrow-json decodes it,
//! or not here at all, and the error messages are always arrow-json's.

use std::sync::Arc;

use arrow::array::builder::NullBufferBuilder;
use arrow::array::{
    ArrayRef, BooleanBuilder, Date32Builder, Decimal128Builder, Float32Builder, Float64Builder,
    Int8Builder, Int16Builder, Int32Builder, Int64Builder, ListArray, MapArray, RecordBatch,
    StringArray, StructArray, TimestampMicrosecondBuilder,
};
use arrow::buffer::{NullBuffer, OffsetBuffer, ScalarBuffer};
use arrow::compute::kernels::cast_utils::parse_decimal;
use arrow::datatypes::{DataType, Decimal128Type, FieldRef, Fields, SchemaRef, TimeUnit};

use super::split::Chunk;
use super::unknown::UnknownFields;

/// The fast path gave up; the caller decodes the chunk with arrow-json instead.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GiveUp;

type R<T> = Result<T, GiveUp>;

/// A decoder for one schema, reused across chunks.
pub struct FastDecoder {
    schema: SchemaRef,
    root: StructCol,
    scratch: Vec<u8>,
}

/// Field names a struct met that its schema lacks, with counts (see [`super::unknown`]);
/// kept only when asked for.
type Unknown = Option<Vec<(Box<[u8]>, u64)>>;

impl FastDecoder {
    /// `None` if the schema has a type this decoder does not handle (then arrow-json does all).
    /// With `count_unknown`, fields the schema lacks are counted ([`FastDecoder::take_unknown`]).
    pub fn new(schema: SchemaRef, count_unknown: bool) -> Option<FastDecoder> {
        let root = StructCol::new(schema.fields(), count_unknown)?;
        Some(FastDecoder {
            schema,
            root,
            scratch: Vec::new(),
        })
    }

    /// Decodes every record of `chunk`, or gives up (leaving no state behind).
    pub fn decode(&mut self, chunk: &Chunk) -> R<RecordBatch> {
        let result = self.decode_all(chunk);
        if result.is_err() {
            self.root.reset();
        }
        result
    }

    /// The fields the records decoded since the last call had and the schema lacks.
    pub fn take_unknown(&mut self) -> UnknownFields {
        let mut out = UnknownFields::default();
        self.root.take_unknown("", &mut out);
        out
    }

    fn decode_all(&mut self, chunk: &Chunk) -> R<RecordBatch> {
        for span in &chunk.records {
            let bytes = &chunk.data[span.start as usize..span.end as usize];
            let mut p = Parser {
                b: bytes,
                i: 0,
                depth: 0,
            };
            p.ws();
            if p.peek() != Some(b'{') {
                return Err(GiveUp);
            }
            self.root.push_object(&mut p, &mut self.scratch)?;
            p.ws();
            if p.i != bytes.len() {
                return Err(GiveUp);
            }
        }
        let columns = self.root.finish_children()?;
        RecordBatch::try_new(self.schema.clone(), columns).map_err(|_| GiveUp)
    }
}

/// Nesting this deep gives up: serde_json, which the fallback validates with, refuses values
/// nested deeper than 127 levels, and the fallback then decides.
const MAX_DEPTH: u32 = 100;

/// A cursor over one record's bytes.
struct Parser<'a> {
    b: &'a [u8],
    i: usize,
    /// Objects and arrays open around the cursor.
    depth: u32,
}

impl<'a> Parser<'a> {
    #[inline]
    fn ws(&mut self) {
        while let Some(&c) = self.b.get(self.i) {
            if c == b' ' || c == b'\n' || c == b'\t' || c == b'\r' {
                self.i += 1;
            } else {
                break;
            }
        }
    }

    /// Entering an object or array (the cursor is on its bracket).
    #[inline]
    fn open(&mut self) -> R<()> {
        self.depth += 1;
        self.i += 1;
        if self.depth > MAX_DEPTH {
            return Err(GiveUp);
        }
        Ok(())
    }

    #[inline]
    fn close(&mut self) {
        self.depth -= 1;
    }

    #[inline]
    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    #[inline]
    fn eat(&mut self, c: u8) -> bool {
        self.ws();
        if self.peek() == Some(c) {
            self.i += 1;
            true
        } else {
            false
        }
    }

    fn literal(&mut self, word: &[u8]) -> R<()> {
        if self.b[self.i..].starts_with(word) {
            self.i += word.len();
            Ok(())
        } else {
            Err(GiveUp)
        }
    }

    /// A string's raw bytes (the cursor is on the opening quote), and whether it has escapes.
    /// Raw control characters give up (RFC 8259 forbids them); UTF-8 is checked per column, in
    /// bulk, and escapes when they are decoded.
    #[inline]
    fn raw_string(&mut self) -> R<(&'a [u8], bool)> {
        let b = self.b;
        let start = self.i + 1;
        let mut j = start;
        let mut escaped = false;
        loop {
            // Short strings (keys, codes) end within a few bytes: a plain loop beats a call.
            let stop = (j + 16).min(b.len());
            let found = b[j..stop]
                .iter()
                .position(|&c| c == b'"' || c == b'\\' || c < 0x20);
            j = match found {
                Some(k) => j + k,
                None if stop == b.len() => return Err(GiveUp),
                None => {
                    let k = stop + memchr::memchr2(b'"', b'\\', &b[stop..]).ok_or(GiveUp)?;
                    if b[stop..k].iter().any(|&c| c < 0x20) {
                        return Err(GiveUp);
                    }
                    k
                }
            };
            match b[j] {
                b'"' => break,
                b'\\' => {}
                _ => return Err(GiveUp), // a control character
            }
            escaped = true;
            j += 2; // skip the escaped character (a \uXXXX's digits are plain bytes)
            if j > b.len() {
                return Err(GiveUp);
            }
        }
        self.i = j + 1;
        Ok((&b[start..j], escaped))
    }

    /// A string whose text is not kept (a skipped value, an unknown key), still checked whole:
    /// escapes and UTF-8 as serde_json checks them.
    fn checked_string(&mut self) -> R<&'a [u8]> {
        let (raw, escaped) = self.raw_string()?;
        if escaped {
            let mut text = Vec::with_capacity(raw.len());
            unescape(raw, &mut text)?;
            std::str::from_utf8(&text).map_err(|_| GiveUp)?;
        } else {
            std::str::from_utf8(raw).map_err(|_| GiveUp)?;
        }
        Ok(raw)
    }

    /// A string value as text, unescaped into `scratch` when needed.
    fn string<'s>(&mut self, scratch: &'s mut Vec<u8>) -> R<&'s str>
    where
        'a: 's,
    {
        let (raw, escaped) = self.raw_string()?;
        if !escaped {
            return std::str::from_utf8(raw).map_err(|_| GiveUp);
        }
        scratch.clear();
        unescape(raw, scratch)?;
        std::str::from_utf8(scratch).map_err(|_| GiveUp)
    }

    /// The text of a JSON number, checked against JSON's grammar, and whether it is an integer.
    #[inline]
    fn number(&mut self) -> R<(&'a [u8], bool)> {
        let start = self.i;
        let b = self.b;
        let mut j = start;
        if b.get(j) == Some(&b'-') {
            j += 1;
        }
        let int_start = j;
        while b.get(j).is_some_and(u8::is_ascii_digit) {
            j += 1;
        }
        let int_len = j - int_start;
        if int_len == 0 || (int_len > 1 && b[int_start] == b'0') {
            return Err(GiveUp);
        }
        let mut integer = true;
        if b.get(j) == Some(&b'.') {
            integer = false;
            j += 1;
            let f = j;
            while b.get(j).is_some_and(u8::is_ascii_digit) {
                j += 1;
            }
            if j == f {
                return Err(GiveUp);
            }
        }
        let exponent = matches!(b.get(j), Some(b'e' | b'E'));
        if exponent {
            integer = false;
            j += 1;
            if matches!(b.get(j), Some(b'+' | b'-')) {
                j += 1;
            }
            let e = j;
            while b.get(j).is_some_and(u8::is_ascii_digit) {
                j += 1;
            }
            if j == e {
                return Err(GiveUp);
            }
        }
        let text = &b[start..j];
        // serde_json refuses a number beyond f64's range (`1e400`, 400 digits): give up on any
        // that could be one.
        if (exponent || text.len() > 300)
            && !lexical_core::parse::<f64>(text).is_ok_and(f64::is_finite)
        {
            return Err(GiveUp);
        }
        self.i = j;
        Ok((text, integer))
    }

    /// Skips any JSON value (for fields not in the schema).
    fn skip_value(&mut self) -> R<()> {
        self.ws();
        match self.peek().ok_or(GiveUp)? {
            b'"' => self.checked_string().map(|_| ()),
            b'{' => {
                self.open()?;
                if !self.eat(b'}') {
                    loop {
                        self.ws();
                        if self.peek() != Some(b'"') {
                            return Err(GiveUp);
                        }
                        self.checked_string()?;
                        if !self.eat(b':') {
                            return Err(GiveUp);
                        }
                        self.skip_value()?;
                        if self.eat(b',') {
                            continue;
                        }
                        if self.eat(b'}') {
                            break;
                        }
                        return Err(GiveUp);
                    }
                }
                self.close();
                Ok(())
            }
            b'[' => {
                self.open()?;
                if !self.eat(b']') {
                    loop {
                        self.skip_value()?;
                        if self.eat(b',') {
                            continue;
                        }
                        if self.eat(b']') {
                            break;
                        }
                        return Err(GiveUp);
                    }
                }
                self.close();
                Ok(())
            }
            b't' => self.literal(b"true"),
            b'f' => self.literal(b"false"),
            b'n' => self.literal(b"null"),
            _ => self.number().map(|_| ()),
        }
    }
}

fn hex4(b: &[u8]) -> R<u32> {
    if b.len() < 4 {
        return Err(GiveUp);
    }
    let mut v = 0;
    for &c in &b[..4] {
        v = v * 16 + (c as char).to_digit(16).ok_or(GiveUp)?;
    }
    Ok(v)
}

/// JSON string escapes into UTF-8 bytes.
fn unescape(raw: &[u8], out: &mut Vec<u8>) -> R<()> {
    let mut i = 0;
    while i < raw.len() {
        let c = raw[i];
        if c != b'\\' {
            out.push(c);
            i += 1;
            continue;
        }
        let e = *raw.get(i + 1).ok_or(GiveUp)?;
        i += 2;
        let ch = match e {
            b'"' => '"',
            b'\\' => '\\',
            b'/' => '/',
            b'b' => '\u{8}',
            b'f' => '\u{c}',
            b'n' => '\n',
            b'r' => '\r',
            b't' => '\t',
            b'u' => {
                let hi = hex4(&raw[i..])?;
                i += 4;
                let code = if (0xD800..0xDC00).contains(&hi) {
                    if raw.get(i..i + 2) != Some(b"\\u") {
                        return Err(GiveUp);
                    }
                    let lo = hex4(&raw[i + 2..])?;
                    if !(0xDC00..0xE000).contains(&lo) {
                        return Err(GiveUp);
                    }
                    i += 6;
                    0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00)
                } else {
                    hi
                };
                char::from_u32(code).ok_or(GiveUp)?
            }
            _ => return Err(GiveUp),
        };
        let mut buf = [0u8; 4];
        out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
    }
    Ok(())
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn digits(b: &[u8]) -> R<u32> {
    let mut v = 0u32;
    for &c in b {
        if !c.is_ascii_digit() {
            return Err(GiveUp);
        }
        v = v * 10 + u32::from(c - b'0');
    }
    Ok(v)
}

/// `YYYY-MM-DD` as days since the epoch; anything else gives up.
fn parse_date(s: &[u8]) -> R<i64> {
    if s.len() < 10 || s[4] != b'-' || s[7] != b'-' {
        return Err(GiveUp);
    }
    let (y, m, d) = (digits(&s[0..4])?, digits(&s[5..7])?, digits(&s[8..10])?);
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let max = match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return Err(GiveUp),
    };
    if d == 0 || d > max {
        return Err(GiveUp);
    }
    Ok(days_from_civil(i64::from(y), m, d))
}

/// `YYYY-MM-DD[T ]HH:MM:SS[.f{1,6}][Z|±HH:MM|±HHMM]` as microseconds since the epoch, UTC
/// (no offset means UTC). Other forms, and years before 1970, give up (arrow-json takes them).
fn parse_timestamp_micros(s: &[u8]) -> R<i64> {
    if s.len() < 19 || !matches!(s[10], b'T' | b' ') || s[13] != b':' || s[16] != b':' {
        return Err(GiveUp);
    }
    let days = parse_date(&s[..10])?;
    if days < 0 {
        return Err(GiveUp);
    }
    let (h, mi, sec) = (
        digits(&s[11..13])?,
        digits(&s[14..16])?,
        digits(&s[17..19])?,
    );
    if h > 23 || mi > 59 || sec > 59 {
        return Err(GiveUp);
    }
    let mut i = 19;
    let mut micros = 0i64;
    if s.get(i) == Some(&b'.') {
        i += 1;
        let start = i;
        while s.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        let n = i - start;
        if n == 0 || n > 6 {
            return Err(GiveUp);
        }
        micros = i64::from(digits(&s[start..i])?) * 10i64.pow(6 - n as u32);
    }
    let offset_secs: i64 = match &s[i..] {
        [] | [b'Z'] => 0,
        [sign @ (b'+' | b'-'), hh1, hh2, b':', mm1, mm2]
        | [sign @ (b'+' | b'-'), hh1, hh2, mm1, mm2] => {
            let hh = digits(&[*hh1, *hh2])?;
            let mm = digits(&[*mm1, *mm2])?;
            if hh > 23 || mm > 59 {
                return Err(GiveUp);
            }
            let secs = i64::from(hh * 3600 + mm * 60);
            if *sign == b'+' { secs } else { -secs }
        }
        _ => return Err(GiveUp),
    };
    let secs = days * 86_400 + i64::from(h * 3600 + mi * 60 + sec) - offset_secs;
    Ok(secs * 1_000_000 + micros)
}

/// Byte equality for short keys, without a call into libc's memcmp.
#[inline]
fn same(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i + 8 <= a.len() {
        let x = u64::from_ne_bytes(a[i..i + 8].try_into().expect("8 bytes"));
        let y = u64::from_ne_bytes(b[i..i + 8].try_into().expect("8 bytes"));
        if x != y {
            return false;
        }
        i += 8;
    }
    a[i..].iter().zip(&b[i..]).all(|(x, y)| x == y)
}

/// One column being built.
enum Col {
    Bool(BooleanBuilder),
    I8(Int8Builder),
    I16(Int16Builder),
    I32(Int32Builder),
    I64(Int64Builder),
    F32(Float32Builder),
    F64(Float64Builder),
    Str(StrCol),
    Decimal(Decimal128Builder, u8, i8),
    Date(Date32Builder),
    Timestamp(TimestampMicrosecondBuilder, Arc<str>),
    List(Box<ListCol>),
    Struct(Box<StructCol>),
    Map(Box<MapCol>),
}

/// A string column as raw bytes and offsets; UTF-8 is validated once, for the whole column, when
/// it becomes a `StringArray` (invalid text gives up, and arrow-json then rejects the record).
struct StrCol {
    offsets: Vec<i32>,
    values: Vec<u8>,
    nulls: NullBufferBuilder,
}

impl Default for StrCol {
    fn default() -> Self {
        StrCol {
            offsets: vec![0],
            values: Vec::new(),
            nulls: NullBufferBuilder::new(0),
        }
    }
}

impl StrCol {
    #[inline]
    fn end(&mut self) -> R<()> {
        let end = i32::try_from(self.values.len()).map_err(|_| GiveUp)?;
        self.offsets.push(end);
        Ok(())
    }

    #[inline]
    fn push_bytes(&mut self, bytes: &[u8]) -> R<()> {
        self.values.extend_from_slice(bytes);
        self.nulls.append_non_null();
        self.end()
    }

    /// A JSON string (the cursor is on its opening quote), unescaped.
    #[inline]
    fn push_json_string(&mut self, p: &mut Parser<'_>) -> R<()> {
        let (raw, escaped) = p.raw_string()?;
        if escaped {
            unescape(raw, &mut self.values)?;
            self.nulls.append_non_null();
            self.end()
        } else {
            self.push_bytes(raw)
        }
    }

    fn push_null(&mut self) {
        // Cannot overflow: the last offset already fits.
        let _ = self.end();
        self.nulls.append_null();
    }

    fn finish(&mut self) -> R<StringArray> {
        let offsets = std::mem::replace(&mut self.offsets, vec![0]);
        let values = std::mem::take(&mut self.values);
        let nulls = self.nulls.finish();
        StringArray::try_new(
            OffsetBuffer::new(ScalarBuffer::from(offsets)),
            values.into(),
            nulls,
        )
        .map_err(|_| GiveUp)
    }
}

struct ListCol {
    field: FieldRef,
    offsets: Vec<i32>,
    nulls: NullBufferBuilder,
    child: Col,
}

struct MapCol {
    entries: FieldRef,
    offsets: Vec<i32>,
    nulls: NullBufferBuilder,
    keys: StrCol,
    values: Col,
}

struct StructCol {
    fields: Fields,
    names: Vec<Box<[u8]>>,
    children: Vec<Col>,
    nulls: NullBufferBuilder,
    /// `seen[f] == stamp` when field f was set in the current object.
    seen: Vec<u64>,
    stamp: u64,
    unknown: Unknown,
}

impl StructCol {
    fn new(fields: &Fields, count_unknown: bool) -> Option<StructCol> {
        let children = fields
            .iter()
            .map(|f| Col::new(f.data_type(), count_unknown))
            .collect::<Option<Vec<_>>>()?;
        Some(StructCol {
            fields: fields.clone(),
            names: fields.iter().map(|f| f.name().as_bytes().into()).collect(),
            children,
            nulls: NullBufferBuilder::new(0),
            seen: vec![0; fields.len()],
            stamp: 0,
            unknown: count_unknown.then(Vec::new),
        })
    }

    fn reset(&mut self) {
        self.nulls = NullBufferBuilder::new(0);
        for c in &mut self.children {
            c.reset();
        }
        if let Some(u) = &mut self.unknown {
            u.clear();
        }
    }

    /// Counts a key the schema lacks (a handful of distinct names per struct at most).
    fn note_unknown(&mut self, key: &[u8]) {
        let Some(unknown) = &mut self.unknown else {
            return;
        };
        // Past the limit, further names are counted together.
        let other = super::unknown::OTHER.as_bytes();
        let name = if unknown.len() < super::unknown::MAX_PATHS
            || unknown.iter().any(|(k, _)| **k == *key)
        {
            key
        } else {
            other
        };
        match unknown.iter_mut().find(|(k, _)| **k == *name) {
            Some((_, n)) => *n += 1,
            None => unknown.push((name.into(), 1)),
        }
    }

    /// Moves the counted unknown fields, here and in nested structs, into `out`.
    fn take_unknown(&mut self, prefix: &str, out: &mut UnknownFields) {
        if let Some(unknown) = &mut self.unknown {
            for (key, n) in unknown.drain(..) {
                out.add(&format!("{prefix}{}", String::from_utf8_lossy(&key)), n);
            }
        }
        for (field, child) in self.fields.iter().zip(&mut self.children) {
            child.take_unknown(&format!("{prefix}{}.", field.name()), out);
        }
    }

    /// Parses an object (the cursor is on `{`) into the children.
    fn push_object(&mut self, p: &mut Parser<'_>, scratch: &mut Vec<u8>) -> R<()> {
        p.open()?;
        self.stamp += 1;
        let mut guess = 0usize;
        if !p.eat(b'}') {
            loop {
                p.ws();
                if p.peek() != Some(b'"') {
                    return Err(GiveUp);
                }
                let (key, escaped) = p.raw_string()?;
                if escaped || !p.eat(b':') {
                    return Err(GiveUp);
                }
                p.ws();
                let n = self.names.len();
                let found = if guess < n && same(&self.names[guess], key) {
                    Some(guess)
                } else {
                    self.names.iter().position(|name| same(name, key))
                };
                match found {
                    Some(f) => {
                        if self.seen[f] == self.stamp {
                            return Err(GiveUp); // duplicate key
                        }
                        self.seen[f] = self.stamp;
                        self.children[f].push(p, scratch)?;
                        guess = f + 1;
                    }
                    None => {
                        std::str::from_utf8(key).map_err(|_| GiveUp)?;
                        self.note_unknown(key);
                        p.skip_value()?;
                    }
                }
                if p.eat(b',') {
                    continue;
                }
                if p.eat(b'}') {
                    break;
                }
                return Err(GiveUp);
            }
        }
        p.close();
        for (f, child) in self.children.iter_mut().enumerate() {
            if self.seen[f] != self.stamp {
                child.push_null();
            }
        }
        self.nulls.append_non_null();
        Ok(())
    }

    fn push_null(&mut self) {
        for c in &mut self.children {
            c.push_null();
        }
        self.nulls.append_null();
    }

    fn finish_children(&mut self) -> R<Vec<ArrayRef>> {
        self.nulls = NullBufferBuilder::new(0);
        self.children.iter_mut().map(Col::finish).collect()
    }

    fn finish(&mut self) -> R<ArrayRef> {
        let nulls = self.nulls.finish();
        let children = self
            .children
            .iter_mut()
            .map(Col::finish)
            .collect::<R<Vec<_>>>()?;
        let array =
            StructArray::try_new(self.fields.clone(), children, nulls).map_err(|_| GiveUp)?;
        Ok(Arc::new(array))
    }
}

impl Col {
    fn new(dt: &DataType, count_unknown: bool) -> Option<Col> {
        Some(match dt {
            DataType::Boolean => Col::Bool(BooleanBuilder::new()),
            DataType::Int8 => Col::I8(Int8Builder::new()),
            DataType::Int16 => Col::I16(Int16Builder::new()),
            DataType::Int32 => Col::I32(Int32Builder::new()),
            DataType::Int64 => Col::I64(Int64Builder::new()),
            DataType::Float32 => Col::F32(Float32Builder::new()),
            DataType::Float64 => Col::F64(Float64Builder::new()),
            DataType::Utf8 => Col::Str(StrCol::default()),
            DataType::Decimal128(p, s) => Col::Decimal(Decimal128Builder::new(), *p, *s),
            DataType::Date32 => Col::Date(Date32Builder::new()),
            DataType::Timestamp(TimeUnit::Microsecond, Some(tz)) if is_utc(tz) => {
                Col::Timestamp(TimestampMicrosecondBuilder::new(), tz.clone())
            }
            DataType::List(field) => Col::List(Box::new(ListCol {
                field: field.clone(),
                offsets: vec![0],
                nulls: NullBufferBuilder::new(0),
                child: Col::new(field.data_type(), count_unknown)?,
            })),
            DataType::Struct(fields) => {
                Col::Struct(Box::new(StructCol::new(fields, count_unknown)?))
            }
            DataType::Map(entries, false) => {
                let DataType::Struct(kv) = entries.data_type() else {
                    return None;
                };
                if kv.len() != 2 || kv[0].data_type() != &DataType::Utf8 {
                    return None;
                }
                Col::Map(Box::new(MapCol {
                    entries: entries.clone(),
                    offsets: vec![0],
                    nulls: NullBufferBuilder::new(0),
                    keys: StrCol::default(),
                    values: Col::new(kv[1].data_type(), count_unknown)?,
                }))
            }
            _ => return None,
        })
    }

    fn reset(&mut self) {
        // Finishing a builder empties it; the arrays are dropped.
        let _ = self.finish();
        self.take_unknown("", &mut UnknownFields::default());
    }

    /// Structs (also inside lists and map values) hand over their unknown fields.
    fn take_unknown(&mut self, prefix: &str, out: &mut UnknownFields) {
        match self {
            Col::Struct(s) => s.take_unknown(prefix, out),
            Col::List(l) => l.child.take_unknown(prefix, out),
            Col::Map(m) => m.values.take_unknown(prefix, out),
            _ => {}
        }
    }

    fn push_null(&mut self) {
        match self {
            Col::Bool(b) => b.append_null(),
            Col::I8(b) => b.append_null(),
            Col::I16(b) => b.append_null(),
            Col::I32(b) => b.append_null(),
            Col::I64(b) => b.append_null(),
            Col::F32(b) => b.append_null(),
            Col::F64(b) => b.append_null(),
            Col::Str(b) => b.push_null(),
            Col::Decimal(b, ..) => b.append_null(),
            Col::Date(b) => b.append_null(),
            Col::Timestamp(b, _) => b.append_null(),
            Col::List(l) => {
                let last = *l.offsets.last().expect("offsets start with 0");
                l.offsets.push(last);
                l.nulls.append_null();
            }
            Col::Struct(s) => s.push_null(),
            Col::Map(m) => {
                let last = *m.offsets.last().expect("offsets start with 0");
                m.offsets.push(last);
                m.nulls.append_null();
            }
        }
    }

    /// Parses one value (the cursor is on its first byte) into this column.
    fn push(&mut self, p: &mut Parser<'_>, scratch: &mut Vec<u8>) -> R<()> {
        let c = p.peek().ok_or(GiveUp)?;
        if c == b'n' {
            p.literal(b"null")?;
            self.push_null();
            return Ok(());
        }
        match self {
            Col::Bool(b) => match c {
                b't' => {
                    p.literal(b"true")?;
                    b.append_value(true);
                }
                b'f' => {
                    p.literal(b"false")?;
                    b.append_value(false);
                }
                _ => return Err(GiveUp),
            },
            Col::I8(b) => b.append_value(narrow(int(p, c)?)?),
            Col::I16(b) => b.append_value(narrow(int(p, c)?)?),
            Col::I32(b) => b.append_value(narrow(int(p, c)?)?),
            Col::I64(b) => b.append_value(int(p, c)?),
            Col::F32(b) => b.append_value(float::<f32>(p, c)?),
            Col::F64(b) => b.append_value(float::<f64>(p, c)?),
            Col::Str(b) => match c {
                b'"' => b.push_json_string(p)?,
                // Numbers and booleans keep their JSON text, as arrow-json's coerce_primitive.
                b't' => {
                    p.literal(b"true")?;
                    b.push_bytes(b"true")?;
                }
                b'f' => {
                    p.literal(b"false")?;
                    b.push_bytes(b"false")?;
                }
                b'-' | b'0'..=b'9' => b.push_bytes(p.number()?.0)?,
                _ => return Err(GiveUp),
            },
            Col::Decimal(b, precision, scale) => {
                let text = match c {
                    b'"' => p.string(scratch)?,
                    b'-' | b'0'..=b'9' => std::str::from_utf8(p.number()?.0).map_err(|_| GiveUp)?,
                    _ => return Err(GiveUp),
                };
                // More fractional digits than the scale would be cut: the fallback decides.
                if fraction_digits(text) > usize::try_from(*scale).unwrap_or(0) {
                    return Err(GiveUp);
                }
                b.append_value(
                    parse_decimal::<Decimal128Type>(text, *precision, *scale)
                        .map_err(|_| GiveUp)?,
                );
            }
            Col::Date(b) => {
                let raw = plain_string(p, c)?;
                if raw.len() != 10 {
                    return Err(GiveUp);
                }
                b.append_value(i32::try_from(parse_date(raw)?).map_err(|_| GiveUp)?);
            }
            Col::Timestamp(b, _) => b.append_value(parse_timestamp_micros(plain_string(p, c)?)?),
            Col::List(l) => {
                if c != b'[' {
                    return Err(GiveUp);
                }
                p.open()?;
                let mut n = 0i32;
                if !p.eat(b']') {
                    loop {
                        p.ws();
                        l.child.push(p, scratch)?;
                        n += 1;
                        if p.eat(b',') {
                            continue;
                        }
                        if p.eat(b']') {
                            break;
                        }
                        return Err(GiveUp);
                    }
                }
                p.close();
                let last = *l.offsets.last().expect("offsets start with 0");
                l.offsets.push(last.checked_add(n).ok_or(GiveUp)?);
                l.nulls.append_non_null();
            }
            Col::Struct(s) => {
                if c != b'{' {
                    return Err(GiveUp);
                }
                s.push_object(p, scratch)?;
            }
            Col::Map(m) => {
                if c != b'{' {
                    return Err(GiveUp);
                }
                p.open()?;
                let mut n = 0i32;
                if !p.eat(b'}') {
                    loop {
                        p.ws();
                        if p.peek() != Some(b'"') {
                            return Err(GiveUp);
                        }
                        m.keys.push_json_string(p)?;
                        if !p.eat(b':') {
                            return Err(GiveUp);
                        }
                        p.ws();
                        m.values.push(p, scratch)?;
                        n += 1;
                        if p.eat(b',') {
                            continue;
                        }
                        if p.eat(b'}') {
                            break;
                        }
                        return Err(GiveUp);
                    }
                }
                p.close();
                let last = *m.offsets.last().expect("offsets start with 0");
                m.offsets.push(last.checked_add(n).ok_or(GiveUp)?);
                m.nulls.append_non_null();
            }
        }
        Ok(())
    }

    fn finish(&mut self) -> R<ArrayRef> {
        Ok(match self {
            Col::Bool(b) => Arc::new(b.finish()),
            Col::I8(b) => Arc::new(b.finish()),
            Col::I16(b) => Arc::new(b.finish()),
            Col::I32(b) => Arc::new(b.finish()),
            Col::I64(b) => Arc::new(b.finish()),
            Col::F32(b) => Arc::new(b.finish()),
            Col::F64(b) => Arc::new(b.finish()),
            Col::Str(b) => Arc::new(b.finish()?),
            Col::Decimal(b, p, s) => Arc::new(
                b.finish()
                    .with_precision_and_scale(*p, *s)
                    .map_err(|_| GiveUp)?,
            ),
            Col::Date(b) => Arc::new(b.finish()),
            Col::Timestamp(b, tz) => Arc::new(b.finish().with_timezone(tz.clone())),
            Col::List(l) => {
                let offsets = OffsetBuffer::new(ScalarBuffer::from(std::mem::replace(
                    &mut l.offsets,
                    vec![0],
                )));
                let nulls = l.nulls.finish();
                let values = l.child.finish()?;
                Arc::new(
                    ListArray::try_new(l.field.clone(), offsets, values, nulls)
                        .map_err(|_| GiveUp)?,
                )
            }
            Col::Struct(s) => s.finish()?,
            Col::Map(m) => {
                let offsets = OffsetBuffer::new(ScalarBuffer::from(std::mem::replace(
                    &mut m.offsets,
                    vec![0],
                )));
                let nulls: Option<NullBuffer> = m.nulls.finish();
                let DataType::Struct(kv) = m.entries.data_type() else {
                    return Err(GiveUp);
                };
                let keys: ArrayRef = Arc::new(m.keys.finish()?);
                let values = m.values.finish()?;
                let entries = StructArray::try_new(kv.clone(), vec![keys, values], None)
                    .map_err(|_| GiveUp)?;
                Arc::new(
                    MapArray::try_new(m.entries.clone(), offsets, entries, nulls, false)
                        .map_err(|_| GiveUp)?,
                )
            }
        })
    }
}

fn is_utc(tz: &str) -> bool {
    matches!(tz, "+00:00" | "UTC" | "Z" | "+0000")
}

/// An integer literal (fractions and exponents give up: arrow-json truncates those).
#[inline]
fn int(p: &mut Parser<'_>, c: u8) -> R<i64> {
    if !(c == b'-' || c.is_ascii_digit()) {
        return Err(GiveUp);
    }
    let (text, integer) = p.number()?;
    if !integer {
        return Err(GiveUp);
    }
    let (negative, digits) = match text {
        [b'-', rest @ ..] => (true, rest),
        _ => (false, text),
    };
    // Accumulate negatively so that i64::MIN fits.
    let mut v: i64 = 0;
    for &d in digits {
        v = v
            .checked_mul(10)
            .and_then(|v| v.checked_sub(i64::from(d - b'0')))
            .ok_or(GiveUp)?;
    }
    if negative {
        Ok(v)
    } else {
        v.checked_neg().ok_or(GiveUp)
    }
}

/// A float type whose values can overflow to infinity.
trait Float: lexical_core::FromLexical {
    fn finite(self) -> bool;
}

impl Float for f32 {
    fn finite(self) -> bool {
        self.is_finite()
    }
}

impl Float for f64 {
    fn finite(self) -> bool {
        self.is_finite()
    }
}

/// A number as a float, parsed as arrow-json parses it (lexical, correctly rounded); one that
/// overflows the column's type gives up (the fallback rejects it: never a silent infinity).
#[inline]
fn float<T: Float>(p: &mut Parser<'_>, c: u8) -> R<T> {
    if !(c == b'-' || c.is_ascii_digit()) {
        return Err(GiveUp);
    }
    let v = lexical_core::parse::<T>(p.number()?.0).map_err(|_| GiveUp)?;
    if v.finite() { Ok(v) } else { Err(GiveUp) }
}

/// Digits after the decimal point (exponents count as many: the fast path gives up on them).
fn fraction_digits(text: &str) -> usize {
    if text.bytes().any(|c| c == b'e' || c == b'E') {
        return usize::MAX;
    }
    text.find('.').map_or(0, |dot| text.len() - dot - 1)
}

/// An integer that fits a narrower column.
#[inline]
fn narrow<T: TryFrom<i64>>(v: i64) -> R<T> {
    T::try_from(v).map_err(|_| GiveUp)
}

/// A string without escapes (dates and timestamps never need them), as bytes.
#[inline]
fn plain_string<'a>(p: &mut Parser<'a>, c: u8) -> R<&'a [u8]> {
    if c != b'"' {
        return Err(GiveUp);
    }
    match p.raw_string()? {
        (raw, false) => Ok(raw),
        (_, true) => Err(GiveUp),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use arrow::datatypes::{Field, Schema};
    use arrow::json::ReaderBuilder;

    use super::*;
    use crate::decode::Splitter;
    use crate::schema::glue_to_arrow;

    fn schema(cols: &[(&str, &str)]) -> SchemaRef {
        Arc::new(Schema::new(
            cols.iter()
                .map(|(n, t)| {
                    Field::new(
                        *n,
                        glue_to_arrow(&gluepipe_spec::parse_glue_type(t).unwrap()),
                        true,
                    )
                })
                .collect::<Vec<_>>(),
        ))
    }

    /// The whole text as one chunk.
    fn chunk(text: &str) -> Chunk {
        let text = format!("{text}\n");
        let mut chunks = Splitter::new(text.as_bytes(), "t".into(), 0, 1 << 20);
        let first = chunks.next().unwrap().unwrap();
        assert!(chunks.next().is_none());
        first
    }

    /// What arrow-json makes of the same text.
    fn reference(schema: &SchemaRef, text: &str) -> RecordBatch {
        let mut d = ReaderBuilder::new(schema.clone())
            .with_coerce_primitive(true)
            .build_decoder()
            .unwrap();
        d.decode(text.as_bytes()).unwrap();
        d.flush().unwrap().unwrap()
    }

    #[test]
    fn decodes_exactly_as_arrow_json() {
        let cases: &[(&[(&str, &str)], &str)] = &[
            (
                &[
                    ("i", "bigint"),
                    ("s", "string"),
                    ("b", "boolean"),
                    ("f", "double"),
                    ("t", "tinyint"),
                ],
                r#"{"i": 1, "s": "a\"b\\c\u00e9\ud83d\ude80", "b": true, "f": 1.5e3, "t": -128}
                   {"f": -0.0, "i": -9223372036854775808, "s": 12.50, "b": null, "extra": {"x": [1, {"y": null}]}}
                   {"s": true, "i": 9223372036854775807, "f": 5e-324}
                   {}"#,
            ),
            (
                &[
                    ("d", "date"),
                    ("ts", "timestamp"),
                    ("m", "decimal(10,3)"),
                    ("r", "float"),
                ],
                r#"{"d": "2024-02-29", "ts": "2024-01-01T10:00:00+05:30", "m": 12.5, "r": 0.1}
                   {"d": "1970-01-01", "ts": "2024-06-30 23:59:59.123456", "m": "-0.001"}
                   {"ts": "2024-01-01T00:00:00Z", "m": 1234567.891}
                   {"ts": "2024-01-01T00:00:00.5-0100"}"#,
            ),
            (
                &[
                    ("a", "array<struct<sku:string,qty:int>>"),
                    ("m", "map<string,bigint>"),
                    ("s", "struct<x:struct<y:array<int>>>"),
                ],
                r#"{"a": [{"sku": "x", "qty": 1}, {"qty": 2, "sku": "y"}, null], "m": {"k": 1, "l": null}, "s": {"x": {"y": [1, null]}}}
                   {"a": [], "m": {}, "s": {"x": null}}
                   {"a": null, "m": null, "s": null}
                   {}"#,
            ),
        ];
        for (cols, text) in cases {
            let schema = schema(cols);
            let mut fast = FastDecoder::new(schema.clone(), false).unwrap();
            let got = fast.decode(&chunk(text)).unwrap();
            assert_eq!(got, reference(&schema, text), "{text}");
            // And again: the decoder is reusable.
            assert_eq!(fast.decode(&chunk(text)).unwrap(), reference(&schema, text));
        }
    }

    #[test]
    fn gives_up_on_anything_unusual_and_stays_usable() {
        let schema = schema(&[
            ("i", "bigint"),
            ("ts", "timestamp"),
            ("d", "date"),
            ("s", "string"),
        ]);
        let cases = [
            "{\"i\": 1.5}",
            "{\"i\": \"7\"}",
            "{\"i\": 99999999999999999999}",
            "{\"i\": 01}",
            "{\"ts\": \"2024-01-01\"}",
            "{\"ts\": \"1969-12-31T23:59:59Z\"}",
            "{\"ts\": \"2024-01-01T10:00:00.1234567Z\"}",
            "{\"ts\": \"2024-01-01T10:00:00 UTC\"}",
            "{\"d\": \"2023-02-29\"}",
            "{\"s\": {\"x\": 1}}",
            "{\"s\": \"a\" \"b\"}",
            "{\"i\": 1, \"i\": 2}",
            "{\"\\u0069\": 1}",
            "{\"i\": 1} {\"i\": 2}",
            "{\"i\": 1",
            "[1]",
        ];
        let mut fast = FastDecoder::new(schema.clone(), false).unwrap();
        for text in cases {
            assert_eq!(fast.decode(&chunk(text)), Err(GiveUp), "{text}");
            let ok = "{\"i\": 3, \"s\": \"x\"}";
            assert_eq!(
                fast.decode(&chunk(ok)).unwrap(),
                reference(&schema, ok),
                "after {text}"
            );
        }
    }

    #[test]
    fn unsupported_types_use_arrow_json() {
        assert!(FastDecoder::new(schema(&[("b", "binary")]), false).is_none());
        assert!(FastDecoder::new(schema(&[("m", "map<int,string>")]), false).is_none());
    }

    #[test]
    fn timestamps_match_arrow() {
        use arrow::compute::kernels::cast_utils::string_to_datetime;
        let utc = chrono::Utc;
        for s in [
            "1970-01-01T00:00:00Z",
            "2000-02-29T12:34:56.789+01:00",
            "2024-12-31 23:59:59.999999-12:00",
            "2038-01-19T03:14:08.1",
            "2262-04-11T23:47:16Z",
        ] {
            let want = string_to_datetime(&utc, s).unwrap().timestamp_micros();
            assert_eq!(parse_timestamp_micros(s.as_bytes()).unwrap(), want, "{s}");
        }
    }
}
