//! JSON bytes to Arrow, with per-record error control.
//!
//! Two layers, as in arrow-json: [`split`] cuts a decompressed byte stream into chunks of whole
//! records (NDJSON lines or the elements of a top-level array), remembering where each record
//! starts (line number) so that a bad one can be named; [`records`] decodes a chunk into one
//! `RecordBatch` with arrow-json's `Decoder` and, only when that fails, bisects the chunk to set
//! the bad records aside and keep every good one.
//!
//! Why both arrow-json and a decoder of our own ([`fast`]): arrow-json is well tested on every
//! Arrow type and gives precise error messages, but measured on the benchmark orders it was two
//! thirds of the run's CPU (a tape pass, then one pass per column, and a linear search over the
//! field names for every key). The fast decoder parses each record once into typed builders and
//! handles the common, clean case; whenever it meets anything unusual it gives up on the chunk,
//! and arrow-json (with bisection for bad records) decodes it. Both give the same values.

pub mod conform;
pub mod fast;
pub mod records;
pub mod records_path;
pub mod split;
pub mod unknown;

pub use records::{Decoded, RecordDecoder};
pub use split::{BufferPool, Chunk, Span, Splitter};
