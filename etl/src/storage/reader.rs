//! Streaming reads as a blocking [`std::io::Read`].
//!
//! Local files are read directly. An S3 object is fetched by a background task as ranged GETs
//! of `chunk_size` bytes, `concurrency` of them in flight, handed over in order: the decode loop
//! never waits for a round trip once the pipe is full, and memory stays at about
//! `(concurrency + 2) × chunk_size` per open object however large the object is. Each range is
//! pinned to the object's ETag, so an object replaced mid-read fails loudly instead of yielding a
//! mix of two versions, and a range whose body breaks off is fetched again.

use std::collections::VecDeque;
use std::fs::File;
use std::io::{self, Read};
use std::time::Duration;

use bytes::{Buf, Bytes};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::blocking::block_on;
use super::s3::{S3Backend, http_status, sdk_error};
use super::store::{Backend, ObjectMeta};
use super::{Result, StorageError};

/// How S3 objects are read ahead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadOptions {
    /// Bytes per ranged GET.
    pub chunk_size: u64,
    /// Ranged GETs in flight per open object.
    pub concurrency: usize,
    /// Attempts per range when its body breaks off (the SDK retries failed requests itself).
    pub attempts: u32,
}

impl Default for ReadOptions {
    fn default() -> Self {
        ReadOptions {
            chunk_size: 8 << 20,
            concurrency: 4,
            attempts: 3,
        }
    }
}

/// An object open for reading. `Send`, so it can move to a decode thread.
pub struct ObjectReader {
    uri: String,
    inner: Inner,
}

enum Inner {
    Local(File),
    S3(S3Reader),
}

impl std::fmt::Debug for ObjectReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ObjectReader")
            .field("uri", &self.uri)
            .finish_non_exhaustive()
    }
}

impl ObjectReader {
    pub(crate) fn open(
        backend: &Backend,
        key: &str,
        known: Option<&ObjectMeta>,
        options: &ReadOptions,
    ) -> Result<Self> {
        match backend {
            Backend::Local(root) => {
                let path = root.join(key);
                let uri = path.display().to_string();
                let file =
                    File::open(&path).map_err(|e| StorageError::io("open", uri.clone(), e))?;
                Ok(ObjectReader {
                    uri,
                    inner: Inner::Local(file),
                })
            }
            Backend::S3(s3) => {
                let uri = s3.uri(key);
                let reader =
                    S3Reader::start(s3.clone(), key.to_string(), known.cloned(), options.clone());
                Ok(ObjectReader {
                    uri,
                    inner: Inner::S3(reader),
                })
            }
        }
    }

    /// The object's full location, for error messages.
    pub fn uri(&self) -> &str {
        &self.uri
    }

    pub fn into_boxed(self) -> Box<dyn Read + Send> {
        Box::new(self)
    }
}

impl Read for ObjectReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match &mut self.inner {
            Inner::Local(file) => file.read(buf),
            Inner::S3(reader) => reader.read(buf, &self.uri),
        }
    }
}

enum Chunk {
    Data(Bytes),
    End,
    Failed(StorageError),
}

struct S3Reader {
    handle: tokio::runtime::Handle,
    rx: mpsc::Receiver<Chunk>,
    current: Bytes,
    state: ReadState,
    fetcher: JoinHandle<()>,
}

enum ReadState {
    Reading,
    Done,
    Failed(String),
}

impl S3Reader {
    fn start(
        s3: S3Backend,
        key: String,
        known: Option<ObjectMeta>,
        options: ReadOptions,
    ) -> S3Reader {
        // One finished chunk waits in the channel while the reader works on the previous one.
        let (tx, rx) = mpsc::channel(1);
        let handle = s3.handle.clone();
        let fetcher = handle.spawn(async move {
            let message = match fetch(&s3, &key, known, &options, &tx).await {
                Ok(()) => Chunk::End,
                Err(e) => Chunk::Failed(e),
            };
            let _ = tx.send(message).await;
        });
        S3Reader {
            handle,
            rx,
            current: Bytes::new(),
            state: ReadState::Reading,
            fetcher,
        }
    }

    fn read(&mut self, buf: &mut [u8], uri: &str) -> io::Result<usize> {
        loop {
            if !self.current.is_empty() {
                let n = buf.len().min(self.current.len());
                self.current.copy_to_slice(&mut buf[..n]);
                return Ok(n);
            }
            match &self.state {
                ReadState::Done => return Ok(0),
                ReadState::Failed(message) => return Err(io::Error::other(message.clone())),
                ReadState::Reading => {}
            }
            match block_on(&self.handle, self.rx.recv()) {
                Some(Chunk::Data(bytes)) => self.current = bytes,
                Some(Chunk::End) => self.state = ReadState::Done,
                Some(Chunk::Failed(err)) => self.state = ReadState::Failed(err.to_string()),
                // Never silently short: a fetcher that vanished without `End` is an error.
                None => {
                    self.state =
                        ReadState::Failed(format!("read {uri}: the download stopped unexpectedly"))
                }
            }
        }
    }
}

impl Drop for S3Reader {
    fn drop(&mut self) {
        // Cancels the GETs still in flight; their tasks are aborted by `InFlight`'s drop.
        self.fetcher.abort();
    }
}

/// Range tasks that are aborted when dropped, so a reader closed early stops downloading.
struct InFlight(VecDeque<JoinHandle<Result<Bytes>>>);

impl Drop for InFlight {
    fn drop(&mut self) {
        for task in &self.0 {
            task.abort();
        }
    }
}

async fn fetch(
    s3: &S3Backend,
    key: &str,
    known: Option<ObjectMeta>,
    options: &ReadOptions,
    tx: &mpsc::Sender<Chunk>,
) -> Result<()> {
    let meta = match known {
        Some(meta) => meta,
        None => s3
            .head(key)
            .await?
            .ok_or_else(|| StorageError::NotFound { uri: s3.uri(key) })?,
    };
    let chunk = options.chunk_size.max(1);
    let mut ranges =
        (0..meta.size.div_ceil(chunk)).map(|i| (i * chunk, ((i + 1) * chunk).min(meta.size) - 1));
    let mut in_flight = InFlight(VecDeque::new());
    loop {
        while in_flight.0.len() < options.concurrency.max(1) {
            let Some((first, last)) = ranges.next() else {
                break;
            };
            let (s3, key, etag, attempts) = (
                s3.clone(),
                key.to_string(),
                meta.etag.clone(),
                options.attempts,
            );
            in_flight.0.push_back(s3.handle.clone().spawn(async move {
                get_range(&s3, &key, first, last, etag.as_deref(), attempts).await
            }));
        }
        // Awaited in place, so an abort while waiting still cancels this range too.
        let Some(next) = in_flight.0.front_mut() else {
            return Ok(());
        };
        let bytes = next
            .await
            .map_err(|e| StorageError::failed("read", s3.uri(key), e))??;
        in_flight.0.pop_front();
        if tx.send(Chunk::Data(bytes)).await.is_err() {
            return Ok(()); // the reader was dropped
        }
    }
}

/// GETs bytes `first..=last`, again if the body breaks off or comes back short.
async fn get_range(
    s3: &S3Backend,
    key: &str,
    first: u64,
    last: u64,
    etag: Option<&str>,
    attempts: u32,
) -> Result<Bytes> {
    let uri = s3.uri(key);
    let expected = last - first + 1;
    let mut attempt = 0;
    loop {
        attempt += 1;
        let response = s3
            .client
            .get_object()
            .bucket(s3.bucket())
            .key(s3.full_key(key))
            .range(format!("bytes={first}-{last}"))
            .set_if_match(etag.map(str::to_string))
            .send()
            .await;
        let output = match response {
            Ok(output) => output,
            Err(e) => {
                return Err(match http_status(&e) {
                    Some(404) => StorageError::NotFound { uri },
                    Some(412) => StorageError::failed(
                        "read",
                        uri,
                        "the object was replaced while it was being read",
                    ),
                    _ => sdk_error("read", &uri, e),
                });
            }
        };
        let problem = match output.body.collect().await {
            Ok(body) if body.remaining() as u64 == expected => return Ok(body.into_bytes()),
            Ok(body) => format!(
                "bytes {first}-{last}: got {} bytes, expected {expected}",
                body.remaining()
            ),
            Err(e) => format!("bytes {first}-{last}: {e}"),
        };
        if attempt >= attempts.max(1) {
            return Err(StorageError::failed("read", uri, problem));
        }
        tokio::time::sleep(Duration::from_millis(100 << attempt.min(6))).await;
    }
}
