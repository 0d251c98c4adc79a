//! Cuts a decompressed byte stream into [`Chunk`]s of whole records.
//!
//! The format is detected from the start of the stream, as DuckDB's `format = auto` does: `[`
//! is a top-level JSON array (each element a record, wherever its line breaks are); a first
//! JSON value that is complete but spans lines (a pretty-printed document, an API dump) means
//! concatenated documents, each a record; anything else is NDJSON (one record per line; blank
//! lines are not records). A UTF-8 byte-order mark is skipped, CRLF line ends are
//! fine. A damaged compressed stream (truncated gzip, corrupt zstd) becomes one rejected record
//! holding the partial last line, after every complete record before it; an unreadable file
//! (storage failure) is an error of the run.

use std::io::Read;
use std::sync::Arc;

use anyhow::{Result, bail};

use crate::rejects::Reject;
use crate::source::{ReadFailure, is_storage_error};

/// A record's bytes within [`Chunk::data`] (`\r\n` excluded) and its 1-based starting line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    pub start: u32,
    pub end: u32,
    pub line: u64,
}

/// Whole records of one input file, ready to decode.
#[derive(Debug, Default)]
pub struct Chunk {
    pub file: Arc<str>,
    pub file_index: usize,
    pub data: Vec<u8>,
    pub records: Vec<Span>,
    /// Records that failed before decoding (damaged stream, unsupported encoding).
    pub rejects: Vec<Reject>,
    /// Bytes of decompressed input this chunk covers.
    pub input_bytes: u64,
}

impl Chunk {
    /// The raw bytes of record `i`.
    pub fn raw(&self, i: usize) -> &[u8] {
        let s = self.records[i];
        &self.data[s.start as usize..s.end as usize]
    }

    /// Records in this chunk, rejected-before-decoding ones included.
    pub fn rows_in(&self) -> u64 {
        (self.records.len() + self.rejects.len()) as u64
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Unknown,
    Lines,
    Array,
    /// Concatenated (pretty-printed) JSON documents: the array scanner without the brackets.
    Documents,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ArrayState {
    BeforeOpen,
    Between,
    Inside,
    After,
}

/// Scanner state for a top-level array, kept across reads.
struct ArrayScan {
    state: ArrayState,
    depth: u32,
    /// Between elements: what the last separator was (`[`, `,` or an element), so that a stray,
    /// doubled or trailing comma and a missing one are rejected as RFC 8259 wants.
    last: u8,
    in_string: bool,
    escape: bool,
    elem: Vec<u8>,
    elem_line: u64,
}

/// Chunk buffers handed back by the workers, for the reader to fill again. Reusing them keeps
/// the reader from allocating a fresh buffer per chunk that another thread then frees, the
/// pattern under which glibc's allocator lets resident memory creep up over a long run.
#[derive(Clone)]
pub struct BufferPool {
    give: crossbeam_channel::Sender<Vec<u8>>,
    take: crossbeam_channel::Receiver<Vec<u8>>,
}

impl BufferPool {
    /// A pool holding at most `capacity` idle buffers.
    pub fn new(capacity: usize) -> BufferPool {
        let (give, take) = crossbeam_channel::bounded(capacity.max(1));
        BufferPool { give, take }
    }

    /// An empty buffer, reused if one is idle.
    pub fn take(&self, capacity: usize) -> Vec<u8> {
        match self.take.try_recv() {
            Ok(mut buf) => {
                buf.clear();
                buf.reserve(capacity);
                buf
            }
            Err(_) => Vec::with_capacity(capacity),
        }
    }

    /// Returns a buffer for reuse (dropped if the pool is full).
    pub fn give(&self, buf: Vec<u8>) {
        let _ = self.give.try_send(buf);
    }
}

/// Iterator of chunks over one input stream.
pub struct Splitter<R> {
    reader: R,
    file: Arc<str>,
    file_index: usize,
    chunk_bytes: usize,
    buf: Vec<u8>,
    /// Line number of `buf[0]`.
    line: u64,
    format: Format,
    array: ArrayScan,
    eof: bool,
    /// A damaged-stream error seen while reading, reported after the data before it.
    stream_error: Option<String>,
    done: bool,
    started: bool,
    pool: Option<BufferPool>,
    /// Take the records from the array at this path inside each document.
    records_path: Option<Arc<[String]>>,
}

impl<R: Read> Splitter<R> {
    /// Takes chunk buffers from `pool` (see [`BufferPool`]).
    pub fn with_pool(mut self, pool: BufferPool) -> Self {
        self.pool = Some(pool);
        self
    }

    /// Takes each record from the array at `path` inside the documents (see
    /// [`super::records_path`]); `None` keeps one record per document.
    pub fn with_records_path(mut self, path: Option<Arc<[String]>>) -> Self {
        self.records_path = path;
        self
    }

    fn buffer(&self, capacity: usize) -> Vec<u8> {
        match &self.pool {
            Some(pool) => pool.take(capacity),
            None => Vec::with_capacity(capacity),
        }
    }

    pub fn new(reader: R, file: Arc<str>, file_index: usize, chunk_bytes: usize) -> Self {
        Splitter {
            reader,
            file,
            file_index,
            chunk_bytes: chunk_bytes.max(1024),
            buf: Vec::new(),
            line: 1,
            format: Format::Unknown,
            array: ArrayScan {
                state: ArrayState::BeforeOpen,
                depth: 0,
                last: b'[',
                in_string: false,
                escape: false,
                elem: Vec::new(),
                elem_line: 0,
            },
            eof: false,
            stream_error: None,
            done: false,
            started: false,
            pool: None,
            records_path: None,
        }
    }

    /// Reads up to `want` more bytes into `buf` (less at the end of the stream).
    fn fill(&mut self, want: usize) -> Result<()> {
        let target = self.buf.len() + want;
        while !self.eof && self.buf.len() < target {
            let len = self.buf.len();
            self.buf.resize(target, 0);
            match self.reader.read(&mut self.buf[len..]) {
                Ok(0) => {
                    self.buf.truncate(len);
                    self.eof = true;
                }
                Ok(n) => self.buf.truncate(len + n),
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => self.buf.truncate(len),
                Err(e) if is_storage_error(&e) => {
                    self.buf.truncate(len);
                    let inner = e
                        .into_inner()
                        .and_then(|i| i.downcast::<ReadFailure>().ok());
                    match inner {
                        Some(storage) => bail!("reading {}: {}", self.file, storage.0),
                        None => bail!("reading {}", self.file),
                    }
                }
                Err(e) => {
                    self.buf.truncate(len);
                    self.eof = true;
                    self.stream_error = Some(format!(
                        "the compressed stream is damaged or cut short ({e})"
                    ));
                }
            }
        }
        Ok(())
    }

    fn reject(&self, line: u64, reason: String, raw: Vec<u8>) -> Reject {
        Reject {
            file: self.file.clone(),
            line,
            reason,
            raw,
        }
    }

    fn new_chunk(&self) -> Chunk {
        Chunk {
            file: self.file.clone(),
            file_index: self.file_index,
            ..Chunk::default()
        }
    }

    /// First read: skip a BOM, refuse UTF-16, detect the format.
    fn start(&mut self) -> Result<Option<Chunk>> {
        self.started = true;
        self.fill(self.chunk_bytes)?;
        let refused = if self.buf.starts_with(&[0xFF, 0xFE]) || self.buf.starts_with(&[0xFE, 0xFF])
        {
            Some("the file is UTF-16 text; convert it to UTF-8".to_string())
        } else {
            binary_format(&self.buf).map(|name| {
                format!(
                    "the file is {name}, not JSON text: gluepipe-etl reads JSON text, plain or \
                     gzip/zstd-compressed; convert it first"
                )
            })
        };
        if let Some(reason) = refused {
            self.done = true;
            let mut chunk = self.new_chunk();
            chunk.rejects.push(self.reject(1, reason, Vec::new()));
            return Ok(Some(chunk));
        }
        if self.buf.starts_with(&[0xEF, 0xBB, 0xBF]) {
            self.buf.drain(..3);
        }
        loop {
            match self.buf.iter().find(|b| !b.is_ascii_whitespace()) {
                Some(b'[') => self.format = Format::Array,
                Some(_) if spans_lines(&self.buf) => {
                    self.format = Format::Documents;
                    self.array.state = ArrayState::Between;
                    self.array.last = b',';
                }
                Some(_) => self.format = Format::Lines,
                None if self.eof => self.format = Format::Lines,
                None => {
                    self.fill(self.chunk_bytes)?;
                    continue;
                }
            }
            return Ok(None);
        }
    }

    fn next_lines(&mut self) -> Result<Option<Chunk>> {
        if !self.eof && self.buf.len() < self.chunk_bytes {
            self.fill(self.chunk_bytes - self.buf.len())?;
        }
        // Cut after the last newline; read on while a single line is longer than a chunk.
        let mut searched = 0;
        let cut = loop {
            if let Some(pos) = memchr::memrchr(b'\n', &self.buf[searched..]) {
                break searched + pos + 1;
            }
            if self.eof {
                break if self.stream_error.is_some() {
                    0
                } else {
                    self.buf.len()
                };
            }
            searched = self.buf.len();
            self.fill(self.chunk_bytes)?;
        };
        if cut > u32::MAX as usize {
            bail!("{}: a record longer than 4 GiB is not supported", self.file);
        }
        let mut next = self.buffer(self.chunk_bytes + (self.chunk_bytes >> 2));
        next.extend_from_slice(&self.buf[cut..]);
        self.buf.truncate(cut);
        let data = std::mem::replace(&mut self.buf, next);
        let mut chunk = self.new_chunk();
        chunk.input_bytes = data.len() as u64;
        let mut start = 0usize;
        let mut line = self.line;
        for end in memchr::memchr_iter(b'\n', &data).chain(std::iter::once(data.len())) {
            if start > data.len() {
                break;
            }
            let mut stop = end;
            if stop > start && data[stop - 1] == b'\r' {
                stop -= 1;
            }
            if data[start..stop].iter().any(|b| !b.is_ascii_whitespace()) {
                chunk.records.push(Span {
                    start: start as u32,
                    end: stop as u32,
                    line,
                });
            }
            if end < data.len() {
                line += 1;
            }
            start = end + 1;
        }
        self.line = line;
        chunk.data = data;
        if self.eof && (self.buf.is_empty() || self.stream_error.is_some()) {
            self.finish_stream(&mut chunk);
        }
        Ok(Some(chunk))
    }

    /// At the end of the stream: report a damaged stream with the partial last record.
    fn finish_stream(&mut self, chunk: &mut Chunk) {
        self.done = true;
        if let Some(reason) = self.stream_error.take() {
            let raw = std::mem::take(&mut self.buf);
            chunk.input_bytes += raw.len() as u64;
            chunk.rejects.push(self.reject(self.line, reason, raw));
        }
    }

    fn next_array(&mut self) -> Result<Option<Chunk>> {
        let mut chunk = self.new_chunk();
        let mut out = self.buffer(self.chunk_bytes + (self.chunk_bytes >> 4));
        while out.len() < self.chunk_bytes {
            if self.buf.is_empty() {
                if self.eof {
                    break;
                }
                self.fill(self.chunk_bytes)?;
                continue;
            }
            let buf = std::mem::take(&mut self.buf);
            chunk.input_bytes += buf.len() as u64;
            let mut i = 0;
            while i < buf.len() {
                i = self.scan_array_byte(&buf, i, &mut out, &mut chunk)?;
            }
            self.buf = buf;
            self.buf.clear();
        }
        if self.eof && self.buf.is_empty() {
            let a = &mut self.array;
            if a.state == ArrayState::Inside {
                // An element cut short: the decoder rejects it in its own words.
                let line = a.elem_line;
                let elem = std::mem::take(&mut a.elem);
                push_record(&mut out, &mut chunk, &elem, line);
                a.state = ArrayState::After;
            }
            if self.array.state == ArrayState::Between
                && self.format == Format::Array
                && self.stream_error.is_none()
            {
                let line = self.line;
                chunk.rejects.push(self.reject(
                    line,
                    "the top-level JSON array is not closed with ']' (file cut short?)".into(),
                    Vec::new(),
                ));
            }
            self.finish_stream(&mut chunk);
        }
        chunk.data = out;
        Ok(Some(chunk))
    }

    /// Scans one byte of a top-level array at `buf[i]`; returns the next index.
    fn scan_array_byte(
        &mut self,
        buf: &[u8],
        i: usize,
        out: &mut Vec<u8>,
        chunk: &mut Chunk,
    ) -> Result<usize> {
        let b = buf[i];
        let a = &mut self.array;
        match a.state {
            ArrayState::BeforeOpen => {
                if b == b'[' {
                    a.state = ArrayState::Between;
                }
            }
            ArrayState::Between if self.format == Format::Documents => {
                if !b.is_ascii_whitespace() {
                    a.state = ArrayState::Inside;
                    a.elem_line = self.line;
                    a.depth = 0;
                    a.in_string = false;
                    a.escape = false;
                    return Ok(i); // documents follow each other with no separator
                }
            }
            ArrayState::Between => match b {
                b if b.is_ascii_whitespace() => {}
                b',' if a.last == b'e' => a.last = b',',
                b']' if a.last != b',' => a.state = ArrayState::After,
                b',' | b']' => {
                    let reason = if b == b']' {
                        "a trailing ',' before the array's ']'"
                    } else {
                        "a ',' where an array element belongs (stray or doubled comma)"
                    };
                    chunk.rejects.push(Reject {
                        file: self.file.clone(),
                        line: self.line,
                        reason: format!("invalid JSON: {reason}"),
                        raw: vec![b],
                    });
                    if b == b']' {
                        a.state = ArrayState::After;
                    }
                }
                _ if a.last == b'e' => {
                    chunk.rejects.push(Reject {
                        file: self.file.clone(),
                        line: self.line,
                        reason: "invalid JSON: array elements without a ',' between them".into(),
                        raw: Vec::new(),
                    });
                    a.last = b',';
                    return Ok(i); // the element itself is still read
                }
                _ => {
                    a.state = ArrayState::Inside;
                    a.elem_line = self.line;
                    a.depth = 0;
                    a.in_string = false;
                    a.escape = false;
                    return Ok(i); // scan this byte again as part of the element
                }
            },
            ArrayState::Inside => {
                let mut complete = false;
                let mut rescan = false;
                if a.in_string {
                    if a.escape {
                        a.escape = false;
                    } else if b == b'\\' {
                        a.escape = true;
                    } else if b == b'"' {
                        a.in_string = false;
                    }
                } else {
                    match b {
                        b'"' => a.in_string = true,
                        b'{' | b'[' => a.depth += 1,
                        b'}' | b']' if a.depth > 0 => {
                            a.depth -= 1;
                            complete = a.depth == 0;
                        }
                        b',' | b']' | b'}' if a.depth == 0 => {
                            complete = true;
                            rescan = true;
                        }
                        b if b.is_ascii_whitespace() && a.depth == 0 => {
                            complete = true;
                            rescan = true;
                        }
                        _ => {}
                    }
                }
                if !rescan {
                    a.elem.push(b);
                }
                if complete {
                    let line = a.elem_line;
                    let elem = std::mem::take(&mut a.elem);
                    a.state = ArrayState::Between;
                    a.last = b'e';
                    push_record(out, chunk, &elem, line);
                    if rescan {
                        return Ok(i);
                    }
                }
            }
            ArrayState::After => {
                if !b.is_ascii_whitespace() {
                    let line = self.line;
                    let mut raw = buf[i..].to_vec();
                    let mut rest = Vec::new();
                    self.reader.read_to_end(&mut rest).ok();
                    raw.extend(rest);
                    chunk.rejects.push(self.reject(
                        line,
                        "unexpected text after the top-level JSON array".into(),
                        raw,
                    ));
                    self.eof = true;
                    self.buf.clear();
                    return Ok(buf.len());
                }
            }
        }
        if b == b'\n' {
            self.line += 1;
        }
        if out.len() > u32::MAX as usize - (1 << 20) {
            bail!("{}: a record longer than 4 GiB is not supported", self.file);
        }
        Ok(i + 1)
    }
}

/// Whether the stream starts with a JSON value that is complete and spans more than one line
/// (then it is a document, not the first line of NDJSON). A first line cut short is not: the
/// value must parse whole.
fn spans_lines(start: &[u8]) -> bool {
    let mut values =
        serde_json::Deserializer::from_slice(start).into_iter::<serde::de::IgnoredAny>();
    match values.next() {
        Some(Ok(_)) => start[..values.byte_offset()].contains(&b'\n'),
        _ => false,
    }
}

/// The name of a binary format a file starts with (its magic bytes), if any: such a file is
/// refused whole rather than read as text with records picked out of its middle.
fn binary_format(start: &[u8]) -> Option<&'static str> {
    const MAGIC: &[(&[u8], &str)] = &[
        (b"\xFD7zXZ\x00", "xz-compressed"),
        (b"BZh", "bzip2-compressed"),
        (b"PK\x03\x04", "a zip archive"),
        (b"PAR1", "Parquet"),
        (b"7z\xBC\xAF\x27\x1C", "a 7-Zip archive"),
        (b"\x04\x22\x4D\x18", "LZ4-compressed"),
        (b"ORC", "ORC"),
        (b"Obj\x01", "Avro"),
    ];
    if let Some((_, name)) = MAGIC.iter().find(|(m, _)| start.starts_with(m)) {
        return Some(name);
    }
    // Any other file with NUL bytes up front is binary too (JSON text never has one).
    start[..start.len().min(512)]
        .contains(&0)
        .then_some("a binary file")
}

fn push_record(out: &mut Vec<u8>, chunk: &mut Chunk, elem: &[u8], line: u64) {
    let start = out.len() as u32;
    out.extend_from_slice(elem);
    chunk.records.push(Span {
        start,
        end: out.len() as u32,
        line,
    });
    out.push(b'\n');
}

impl<R: Read> Iterator for Splitter<R> {
    type Item = Result<Chunk>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        if !self.started {
            match self.start() {
                Ok(Some(chunk)) => return Some(Ok(chunk)),
                Ok(None) => {}
                Err(e) => {
                    self.done = true;
                    return Some(Err(e));
                }
            }
        }
        let mut result = match self.format {
            Format::Array | Format::Documents => self.next_array(),
            _ => self.next_lines(),
        };
        if let (Ok(Some(chunk)), Some(path)) = (&mut result, &self.records_path) {
            super::records_path::select(chunk, path);
        }
        match result {
            Ok(Some(chunk)) if chunk.records.is_empty() && chunk.rejects.is_empty() => {
                if self.done || (self.eof && self.buf.is_empty()) {
                    self.done = true;
                    None
                } else {
                    self.next()
                }
            }
            Ok(Some(chunk)) => Some(Ok(chunk)),
            Ok(None) => None,
            Err(e) => {
                self.done = true;
                Some(Err(e))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// `(line, text)` pairs.
    type Lines = Vec<(u64, String)>;

    /// (line, text) of every record and (line, reason) of every reject.
    fn split(input: &[u8], chunk_bytes: usize) -> (Lines, Lines) {
        split_reader(input, chunk_bytes)
    }

    fn split_reader(reader: impl Read, chunk_bytes: usize) -> (Lines, Lines) {
        let mut records = Vec::new();
        let mut rejects = Vec::new();
        for chunk in Splitter::new(reader, "f.json".into(), 0, chunk_bytes) {
            let chunk = chunk.unwrap();
            for (i, span) in chunk.records.iter().enumerate() {
                records.push((
                    span.line,
                    String::from_utf8_lossy(chunk.raw(i)).into_owned(),
                ));
            }
            for r in chunk.rejects {
                rejects.push((r.line, r.reason));
            }
        }
        (records, rejects)
    }

    fn lines(v: &[(u64, &str)]) -> Lines {
        v.iter().map(|(l, s)| (*l, s.to_string())).collect()
    }

    #[test]
    fn ndjson_cases() {
        type Case<'a> = (&'a str, &'a [u8], &'a [(u64, &'a str)]);
        let cases: &[Case] = &[
            ("empty file", b"", &[]),
            ("only blanks", b"\n \r\n\n", &[]),
            (
                "two lines",
                b"{\"a\":1}\n{\"a\":2}\n",
                &[(1, "{\"a\":1}"), (2, "{\"a\":2}")],
            ),
            (
                "no final newline",
                b"{\"a\":1}\n{\"a\":2}",
                &[(1, "{\"a\":1}"), (2, "{\"a\":2}")],
            ),
            (
                "crlf",
                b"{\"a\":1}\r\n{\"a\":2}\r\n",
                &[(1, "{\"a\":1}"), (2, "{\"a\":2}")],
            ),
            ("bom", b"\xEF\xBB\xBF{\"a\":1}\n", &[(1, "{\"a\":1}")]),
            (
                "blank lines keep numbering",
                b"\n{\"a\":1}\n\n\n{\"a\":2}\n",
                &[(2, "{\"a\":1}"), (5, "{\"a\":2}")],
            ),
            (
                "garbage is a record",
                b"{\"a\":1}\nnot json\n",
                &[(1, "{\"a\":1}"), (2, "not json")],
            ),
        ];
        for chunk_bytes in [1024, 1 << 20] {
            for (name, input, want) in cases {
                let (records, rejects) = split(input, chunk_bytes);
                assert_eq!(records, lines(want), "{name}");
                assert!(rejects.is_empty(), "{name}");
            }
        }
    }

    #[test]
    fn lines_longer_than_a_chunk_and_many_chunks() {
        let long = format!("{{\"s\":\"{}\"}}", "x".repeat(5000));
        let mut input = String::new();
        for i in 0..500 {
            input.push_str(&format!("{{\"i\":{i}}}\n"));
            if i == 250 {
                input.push_str(&long);
                input.push('\n');
            }
        }
        let (records, _) = split(input.as_bytes(), 1024);
        assert_eq!(records.len(), 501);
        assert_eq!(records[251], (252, long));
        assert_eq!(records[500], (501, "{\"i\":499}".to_string()));
    }

    #[test]
    fn array_cases() {
        type Case<'a> = (
            &'a str,
            &'a [u8],
            &'a [(u64, &'a str)],
            &'a [(u64, &'a str)],
        );
        let cases: &[Case] = &[
            ("empty array", b"[]", &[], &[]),
            (
                "objects",
                b"[{\"a\":1},{\"a\":2}]",
                &[(1, "{\"a\":1}"), (1, "{\"a\":2}")],
                &[],
            ),
            (
                "pretty printed",
                b"[\n  {\n    \"a\": \"x]\\\"}\"\n  },\n  {\"b\": [1, {\"c\": 2}]}\n]\n",
                &[
                    (2, "{\n    \"a\": \"x]\\\"}\"\n  }"),
                    (5, "{\"b\": [1, {\"c\": 2}]}"),
                ],
                &[],
            ),
            (
                "scalars are records",
                b"[1, \"x\"]",
                &[(1, "1"), (1, "\"x\"")],
                &[],
            ),
            (
                "bom and crlf",
                b"\xEF\xBB\xBF[\r\n{\"a\":1}\r\n]\r\n",
                &[(2, "{\"a\":1}")],
                &[],
            ),
            (
                "stray, doubled and trailing commas",
                b"[,{\"a\":1},,\n{\"a\":2},]",
                &[(1, "{\"a\":1}"), (2, "{\"a\":2}")],
                &[
                    (1, "stray or doubled"),
                    (1, "stray or doubled"),
                    (2, "trailing"),
                ],
            ),
            (
                "missing comma",
                b"[{\"a\":1} {\"a\":2}]",
                &[(1, "{\"a\":1}"), (1, "{\"a\":2}")],
                &[(1, "without a ','")],
            ),
            (
                "not closed",
                b"[{\"a\":1},",
                &[(1, "{\"a\":1}")],
                &[(1, "not closed")],
            ),
            (
                "cut inside an element",
                b"[{\"a\":1},{\"a\":",
                &[(1, "{\"a\":1}"), (1, "{\"a\":")],
                &[],
            ),
            (
                "text after",
                b"[{\"a\":1}] x",
                &[(1, "{\"a\":1}")],
                &[(1, "unexpected text after")],
            ),
        ];
        for chunk_bytes in [1024, 1 << 20] {
            for (name, input, want, want_rejects) in cases {
                let (records, rejects) = split(input, chunk_bytes);
                assert_eq!(records, lines(want), "{name}");
                assert_eq!(rejects.len(), want_rejects.len(), "{name}: {rejects:?}");
                for ((line, reason), (want_line, want_reason)) in
                    rejects.iter().zip(want_rejects.iter())
                {
                    assert_eq!(line, want_line, "{name}");
                    assert!(reason.contains(want_reason), "{name}: {reason}");
                }
            }
        }
    }

    #[test]
    fn large_arrays_span_chunks() {
        let mut input = String::from("[\n");
        for i in 0..2000 {
            input.push_str(&format!(
                "{{\"i\":{i},\"s\":\"{}\"}},\n",
                "y".repeat(i % 50)
            ));
        }
        input.push_str("{\"i\":2000}]");
        let (records, rejects) = split(input.as_bytes(), 1024);
        assert!(rejects.is_empty());
        assert_eq!(records.len(), 2001);
        assert_eq!(records[2000], (2002, "{\"i\":2000}".to_string()));
    }

    #[test]
    fn pretty_printed_and_concatenated_documents_are_records() {
        let (records, rejects) = split(
            b"{\n  \"type\": \"FeatureCollection\",\n  \"n\": [1,\n 2]\n}\n{\"b\":\n 2} {\"c\": 3}\n",
            1024,
        );
        assert!(rejects.is_empty(), "{rejects:?}");
        assert_eq!(
            records,
            lines(&[
                (
                    1,
                    "{\n  \"type\": \"FeatureCollection\",\n  \"n\": [1,\n 2]\n}"
                ),
                (6, "{\"b\":\n 2}"),
                (7, "{\"c\": 3}"),
            ])
        );
        // NDJSON whose first line is cut short stays NDJSON.
        let (records, _) = split(b"{\"a\":\n{\"a\":2}\n", 1024);
        assert_eq!(records, lines(&[(1, "{\"a\":"), (2, "{\"a\":2}")]));
    }

    #[test]
    fn binary_formats_are_refused_by_name() {
        for (bytes, name) in [
            (&b"\xFD7zXZ\x00\x00\x04{\"a\":1}\n"[..], "xz"),
            (b"BZh91AY&SY{\"a\":1}\n", "bzip2"),
            (b"PK\x03\x04\x14\x00", "zip"),
            (b"PAR1\x15\x04", "Parquet"),
            (b"{\"a\":1}\n\x00\x00", "binary"),
        ] {
            let (records, rejects) = split(bytes, 1024);
            assert!(records.is_empty(), "{name}: {records:?}");
            assert!(rejects[0].1.contains(name), "{name}: {rejects:?}");
        }
    }

    #[test]
    fn utf16_is_rejected() {
        let (records, rejects) = split(b"\xFF\xFE{\0}\0", 1024);
        assert!(records.is_empty());
        assert!(rejects[0].1.contains("UTF-16"));
    }

    #[test]
    fn truncated_gzip_keeps_complete_lines_and_rejects_the_rest() {
        use std::io::Write;
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        for i in 0..20_000 {
            writeln!(enc, "{{\"i\":{i},\"pad\":\"{}\"}}", i * 7919 % 100_003).unwrap();
        }
        let full = enc.finish().unwrap();
        let cut = &full[..full.len() * 2 / 3];
        let (records, rejects) = split_reader(flate2::read::MultiGzDecoder::new(cut), 4096);
        assert!(
            records.len() > 1000 && records.len() < 20_000,
            "{}",
            records.len()
        );
        assert_eq!(rejects.len(), 1);
        assert_eq!(rejects[0].0, records.len() as u64 + 1);
        assert!(
            rejects[0].1.contains("damaged or cut short"),
            "{}",
            rejects[0].1
        );
        for (i, (line, _)) in records.iter().enumerate() {
            assert_eq!(*line, i as u64 + 1);
        }
    }

    #[test]
    fn storage_errors_fail_the_run() {
        struct Failing;
        impl Read for Failing {
            fn read(&mut self, _: &mut [u8]) -> std::io::Result<usize> {
                Err(std::io::Error::other(ReadFailure(std::io::Error::other(
                    "connection reset",
                ))))
            }
        }
        let err = Splitter::new(Failing, "s3://b/k.json".into(), 0, 1024)
            .next()
            .unwrap()
            .unwrap_err();
        assert!(
            err.to_string().contains("s3://b/k.json: connection reset"),
            "{err}"
        );
    }
}
