//! Input bytes: opens each input object as a decompressed byte stream. The compression is
//! sniffed from the first bytes (gzip `1f 8b`, zstd `28 b5 2f fd`), so a `.json` that is really
//! gzipped still reads, and the extension is only a hint nobody relies on. Listing and reading
//! the objects is the storage module's job.
//!
//! Errors of the underlying reader are marked ([`ReadFailure`]) so that the splitter can tell a
//! failing disk or network (a runtime error) from a damaged compressed stream (bad input).

use std::io::{BufRead, BufReader, Read};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use anyhow::Result;

/// An error from the storage layer under a decompressor (as opposed to a damaged stream).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ReadFailure(pub std::io::Error);

/// True if a read error came from storage rather than from the bytes being bad.
pub fn is_storage_error(err: &std::io::Error) -> bool {
    err.get_ref().is_some_and(|inner| inner.is::<ReadFailure>())
}

/// Counts raw (compressed) bytes read, for progress, and marks storage errors.
struct Counted<R> {
    inner: R,
    bytes: Arc<AtomicU64>,
}

impl<R: Read> Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match self.inner.read(buf) {
            Ok(n) => {
                self.bytes.fetch_add(n as u64, Ordering::Relaxed);
                Ok(n)
            }
            Err(e) => Err(std::io::Error::other(ReadFailure(e))),
        }
    }
}

/// How an input's bytes are compressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Codec {
    Plain,
    Gzip,
    Zstd,
}

/// Recognises gzip and zstd by their magic numbers.
pub fn sniff(head: &[u8]) -> Codec {
    if head.starts_with(&[0x1f, 0x8b]) {
        Codec::Gzip
    } else if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        Codec::Zstd
    } else {
        Codec::Plain
    }
}

/// Decompresses `raw` (the object at `uri`) as its first bytes say; `bytes_read` counts the
/// raw bytes, for progress.
pub fn open_decompressed(
    raw: Box<dyn Read + Send>,
    uri: &str,
    bytes_read: Arc<AtomicU64>,
) -> Result<Box<dyn Read + Send>> {
    let mut buffered = BufReader::with_capacity(
        256 << 10,
        Counted {
            inner: raw,
            bytes: bytes_read,
        },
    );
    let head = buffered
        .fill_buf()
        .map_err(|e| anyhow::anyhow!("reading {uri}: {e}"))?;
    Ok(match sniff(head) {
        Codec::Plain => Box::new(buffered),
        Codec::Gzip => Box::new(flate2::bufread::MultiGzDecoder::new(buffered)),
        Codec::Zstd => Box::new(
            zstd::stream::read::Decoder::with_buffer(buffered)
                .map_err(|e| anyhow::anyhow!("opening zstd stream {uri}: {e}"))?,
        ),
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use std::io::Write;

    use super::*;

    fn open(path: &std::path::Path, counter: Arc<AtomicU64>) -> Box<dyn Read + Send> {
        let file = std::fs::File::open(path).unwrap();
        open_decompressed(Box::new(file), path.to_str().unwrap(), counter).unwrap()
    }

    #[test]
    fn sniffs_codecs() {
        let cases: [(&[u8], Codec); 5] = [
            (b"", Codec::Plain),
            (b"{\"a\":1}", Codec::Plain),
            (&[0x1f, 0x8b, 8, 0], Codec::Gzip),
            (&[0x28, 0xb5, 0x2f, 0xfd, 0], Codec::Zstd),
            (&[0x28, 0xb5], Codec::Plain),
        ];
        for (head, codec) in cases {
            assert_eq!(sniff(head), codec, "{head:?}");
        }
    }

    #[test]
    fn reads_every_codec_back() {
        let dir = tempfile::tempdir().unwrap();
        let text = b"{\"a\":1}\n{\"a\":2}\n";
        let plain = dir.path().join("p.json");
        std::fs::write(&plain, text).unwrap();
        let gz = dir.path().join("g.json.gz");
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        enc.write_all(text).unwrap();
        std::fs::write(&gz, enc.finish().unwrap()).unwrap();
        let zst = dir.path().join("z.json.zst");
        std::fs::write(&zst, zstd::encode_all(&text[..], 3).unwrap()).unwrap();
        let empty = dir.path().join("e.json");
        std::fs::write(&empty, b"").unwrap();
        for (path, want) in [
            (&plain, &text[..]),
            (&gz, &text[..]),
            (&zst, &text[..]),
            (&empty, &b""[..]),
        ] {
            let counter = Arc::new(AtomicU64::new(0));
            let mut out = Vec::new();
            open(path, counter.clone()).read_to_end(&mut out).unwrap();
            assert_eq!(out, want, "{}", path.display());
            assert_eq!(
                counter.load(Ordering::Relaxed),
                std::fs::metadata(path).unwrap().len()
            );
        }
    }

    #[test]
    fn truncated_gzip_is_a_stream_error_not_a_storage_error() {
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        enc.write_all(&b"{\"a\":1}\n".repeat(1000)).unwrap();
        let full = enc.finish().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cut.json.gz");
        std::fs::write(&path, &full[..full.len() / 2]).unwrap();
        let mut out = Vec::new();
        let err = open(&path, Arc::default())
            .read_to_end(&mut out)
            .unwrap_err();
        assert!(!is_storage_error(&err), "{err}");
    }
}
