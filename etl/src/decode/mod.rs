//! JSON bytes to Arrow, with per-record error control.
//!
//! Two layers, as in arrow-json: [`split`] cuts a decompressed byte stream into chunks of whole
//! records (NDJSON lines or the elements of a top-level array), remembering where each record
//! starts (line number) so that a bad one can be named; [`records`] decodes a chunk into one
//! `RecordBatch` with arrow-json's `Decoder` and, only when that fails, bisects the chunk to set
//! the bad records aside and keep every good one.
//!
//! Why arrow-json and not a tape decoder of our own: it is already a tape decoder (the same
//! design we would write), well tested on every Arrow type, and its throughput on our benchmark
//! data is close to `serde_json` parsing alone. What it lacks is per-record error control, which
//! the splitter and the bisection add without slowing the common, clean path.

pub mod records;
pub mod split;

pub use records::{Decoded, RecordDecoder};
pub use split::{Chunk, Span, Splitter};
