//! Streaming writes as a blocking [`std::io::Write`] whose object appears only on
//! [`ObjectWriter::finish`].
//!
//! Local files are written under a hidden temporary name and renamed into place. S3 objects
//! stream as a multipart upload: parts of `part_size` bytes (8 MiB, doubling every 2000 parts so
//! the 10 000-part limit is never reached), at most `parts_in_flight` uploading while the caller
//! keeps writing, so memory stays at about `(parts_in_flight + 1) × part_size` per open writer.
//! An object smaller than one part is a single PutObject. Any error, or dropping the writer
//! before `finish`, aborts the upload: no object and no pending upload is left behind.
//!
//! A writer handed out by a [`super::Publisher`] is *staged*: `finish` uploads everything but
//! leaves the object invisible (a local file in the staging folder, an S3 multipart upload not
//! yet completed) until the publisher commits the whole run.

use std::collections::VecDeque;
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::PathBuf;
use std::sync::Arc;

use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};
use tokio::task::JoinHandle;

use super::blocking::block_on;
use super::publish::Ledger;
use super::s3::{S3Backend, sdk_error};
use super::store::Backend;
use super::{Result, StorageError, local};

/// S3's limits on multipart uploads.
const MAX_PARTS: i32 = 10_000;
const MIN_PART_SIZE: usize = 5 << 20;

/// How S3 objects are uploaded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WriteOptions {
    /// Bytes per part (at least S3's minimum of 5 MiB).
    pub part_size: usize,
    /// Parts uploading at once per open writer.
    pub parts_in_flight: usize,
}

impl Default for WriteOptions {
    fn default() -> Self {
        WriteOptions {
            part_size: 8 << 20,
            parts_in_flight: 2,
        }
    }
}

/// What [`ObjectWriter::finish`] wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WrittenObject {
    /// Relative to the store (or publisher) root.
    pub key: String,
    /// Where the object is (for a staged writer: where it will be once published).
    pub uri: String,
    pub bytes: u64,
}

/// A finished staged object, waiting for its publisher to make it visible or discard it.
#[derive(Debug)]
pub(crate) enum Pending {
    /// Fully written to this file in the staging folder.
    Local { staged: PathBuf },
    /// Every part uploaded; CompleteMultipartUpload not yet sent.
    S3 {
        upload_id: String,
        parts: Vec<CompletedPart>,
    },
}

/// Where a staged writer reports.
pub(crate) struct Staging {
    pub ledger: Arc<Ledger>,
    /// Local only: the file in the staging folder that stands in for the key until publish.
    pub local_path: Option<PathBuf>,
}

/// An object being written. `Send`, so it can move to an encode thread.
pub struct ObjectWriter {
    key: String,
    uri: String,
    bytes: u64,
    sink: Sink,
    ledger: Option<Arc<Ledger>>,
}

enum Sink {
    Local(LocalSink),
    S3(Box<S3Sink>),
    /// Finished, aborted, or failed (then nothing is left to clean up).
    Closed,
}

impl std::fmt::Debug for ObjectWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ObjectWriter")
            .field("uri", &self.uri)
            .field("bytes", &self.bytes)
            .finish_non_exhaustive()
    }
}

impl ObjectWriter {
    pub(crate) fn create(
        backend: &Backend,
        key: &str,
        options: &WriteOptions,
        staging: Option<Staging>,
    ) -> Result<Self> {
        let (sink, uri) = match backend {
            Backend::Local(root) => {
                let dest = match staging.as_ref().and_then(|s| s.local_path.clone()) {
                    Some(path) => path,
                    None => root.join(key),
                };
                (
                    Sink::Local(LocalSink::create(dest)?),
                    root.join(key).display().to_string(),
                )
            }
            Backend::S3(s3) => {
                let sink = S3Sink::new(s3.clone(), key.to_string(), options, staging.is_some());
                (Sink::S3(Box::new(sink)), s3.uri(key))
            }
        };
        let ledger = staging.map(|s| s.ledger);
        if let Some(ledger) = &ledger {
            ledger.writer_opened();
        }
        Ok(ObjectWriter {
            key: key.to_string(),
            uri,
            bytes: 0,
            sink,
            ledger,
        })
    }

    /// The object's full (final) location.
    pub fn uri(&self) -> &str {
        &self.uri
    }

    pub fn key(&self) -> &str {
        &self.key
    }

    /// Bytes written so far.
    pub fn bytes_written(&self) -> u64 {
        self.bytes
    }

    /// Completes the object: visible now, or for a staged writer, ready for its publisher.
    pub fn finish(mut self) -> Result<WrittenObject> {
        if self.ledger.as_ref().is_some_and(|l| l.is_closed()) {
            self.discard();
            return Err(StorageError::Invalid(format!(
                "{}: finished after the run was published or aborted",
                self.uri
            )));
        }
        let sink = std::mem::replace(&mut self.sink, Sink::Closed);
        let pending = match sink {
            Sink::Local(local) => local.finish(),
            Sink::S3(s3) => s3.finish(),
            Sink::Closed => Err(StorageError::failed(
                "write",
                self.uri.clone(),
                "the writer failed earlier",
            )),
        };
        let written = WrittenObject {
            key: self.key.clone(),
            uri: self.uri.clone(),
            bytes: self.bytes,
        };
        match (pending, self.ledger.take()) {
            (Err(e), ledger) => {
                if let Some(ledger) = ledger {
                    ledger.writer_closed();
                }
                Err(e)
            }
            (Ok(pending), Some(ledger)) => {
                ledger.record(written.clone(), pending)?;
                Ok(written)
            }
            (Ok(_), None) => Ok(written),
        }
    }

    /// Drops everything written; nothing is left behind.
    pub fn abort(mut self) {
        self.discard();
    }

    fn discard(&mut self) {
        match std::mem::replace(&mut self.sink, Sink::Closed) {
            Sink::Local(local) => local.discard(),
            Sink::S3(s3) => s3.abort(),
            Sink::Closed => {}
        }
        if let Some(ledger) = self.ledger.take() {
            ledger.writer_closed();
        }
    }
}

impl Write for ObjectWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let result = match &mut self.sink {
            Sink::Local(local) => local
                .file
                .write(buf)
                .map_err(|e| StorageError::failed("write", self.uri.clone(), e)),
            Sink::S3(s3) => s3.write(buf).map(|()| buf.len()),
            Sink::Closed => Err(StorageError::failed(
                "write",
                self.uri.clone(),
                "the writer failed earlier",
            )),
        };
        match result {
            Ok(n) => {
                self.bytes += n as u64;
                Ok(n)
            }
            Err(e) => {
                self.discard();
                Err(e.into())
            }
        }
    }

    /// A no-op for S3 (parts go out as they fill); flushes the buffer locally.
    fn flush(&mut self) -> io::Result<()> {
        match &mut self.sink {
            Sink::Local(local) => local.file.flush(),
            Sink::S3(_) | Sink::Closed => Ok(()),
        }
    }
}

impl Drop for ObjectWriter {
    fn drop(&mut self) {
        self.discard();
    }
}

struct LocalSink {
    file: BufWriter<File>,
    tmp: PathBuf,
    dest: PathBuf,
}

impl LocalSink {
    fn create(dest: PathBuf) -> Result<Self> {
        local::create_parent(&dest)?;
        let tmp = local::temp_sibling(&dest);
        let file = File::create(&tmp)
            .map_err(|e| StorageError::io("create", dest.display().to_string(), e))?;
        Ok(LocalSink {
            file: BufWriter::with_capacity(1 << 20, file),
            tmp,
            dest,
        })
    }

    fn finish(self) -> Result<Pending> {
        let LocalSink { file, tmp, dest } = self;
        let done = (|| {
            let file = file.into_inner().map_err(io::IntoInnerError::into_error)?;
            file.sync_all()?;
            std::fs::rename(&tmp, &dest)
        })();
        if let Err(e) = done {
            let _ = std::fs::remove_file(&tmp);
            return Err(StorageError::io("write", dest.display().to_string(), e));
        }
        Ok(Pending::Local { staged: dest })
    }

    fn discard(self) {
        drop(self.file);
        let _ = std::fs::remove_file(&self.tmp);
    }
}

struct S3Sink {
    s3: S3Backend,
    key: String,
    options: WriteOptions,
    /// Staged writers always use a multipart upload, so their object stays invisible until the
    /// publisher completes it.
    staged: bool,
    buf: Vec<u8>,
    upload_id: Option<String>,
    next_part: i32,
    in_flight: VecDeque<JoinHandle<Result<CompletedPart>>>,
    done: Vec<CompletedPart>,
}

impl S3Sink {
    fn new(s3: S3Backend, key: String, options: &WriteOptions, staged: bool) -> Self {
        let options = WriteOptions {
            part_size: options.part_size.max(MIN_PART_SIZE),
            parts_in_flight: options.parts_in_flight.max(1),
        };
        S3Sink {
            s3,
            key,
            options,
            staged,
            buf: Vec::new(),
            upload_id: None,
            next_part: 1,
            in_flight: VecDeque::new(),
            done: Vec::new(),
        }
    }

    fn uri(&self) -> String {
        self.s3.uri(&self.key)
    }

    /// Part sizes double every 2000 parts: 8 MiB parts reach 16 GB, then 16 MiB parts, and so on.
    fn part_size(&self) -> usize {
        let doublings = u32::try_from((self.next_part - 1) / 2000)
            .unwrap_or(0)
            .min(4);
        self.options.part_size << doublings
    }

    fn write(&mut self, mut data: &[u8]) -> Result<()> {
        while !data.is_empty() {
            let room = self.part_size() - self.buf.len();
            let n = room.min(data.len());
            self.buf.extend_from_slice(&data[..n]);
            data = &data[n..];
            if self.buf.len() >= self.part_size() {
                self.send_part()?;
            }
        }
        Ok(())
    }

    fn ensure_upload(&mut self) -> Result<String> {
        if let Some(id) = &self.upload_id {
            return Ok(id.clone());
        }
        let (s3, key) = (&self.s3, &self.key);
        let created = block_on(&s3.handle, async {
            s3.client
                .create_multipart_upload()
                .bucket(s3.bucket())
                .key(s3.full_key(key))
                .send()
                .await
        })
        .map_err(|e| sdk_error("start upload", &s3.uri(key), e))?;
        let id = created
            .upload_id()
            .ok_or_else(|| {
                StorageError::failed("start upload", s3.uri(key), "S3 returned no upload id")
            })?
            .to_string();
        self.upload_id = Some(id.clone());
        Ok(id)
    }

    /// Starts uploading the buffer as the next part; waits while too many are in flight.
    fn send_part(&mut self) -> Result<()> {
        let upload_id = self.ensure_upload()?;
        if self.next_part > MAX_PARTS {
            return Err(StorageError::failed(
                "write",
                self.uri(),
                "the object exceeds S3's 10 000 parts",
            ));
        }
        let number = self.next_part;
        self.next_part += 1;
        let body = std::mem::take(&mut self.buf);
        let (s3, key) = (self.s3.clone(), self.key.clone());
        self.in_flight.push_back(self.s3.handle.spawn(async move {
            let uploaded = s3
                .client
                .upload_part()
                .bucket(s3.bucket())
                .key(s3.full_key(&key))
                .upload_id(upload_id)
                .part_number(number)
                .body(ByteStream::from(body))
                .send()
                .await
                .map_err(|e| sdk_error("upload part", &s3.uri(&key), e))?;
            Ok(CompletedPart::builder()
                .part_number(number)
                .set_e_tag(uploaded.e_tag().map(str::to_string))
                .build())
        }));
        while self.in_flight.len() > self.options.parts_in_flight {
            self.wait_oldest()?;
        }
        Ok(())
    }

    fn wait_oldest(&mut self) -> Result<()> {
        let Some(task) = self.in_flight.front_mut() else {
            return Ok(());
        };
        let part = block_on(&self.s3.handle, task)
            .map_err(|e| StorageError::failed("upload part", self.uri(), e))??;
        self.in_flight.pop_front();
        self.done.push(part);
        Ok(())
    }

    /// Uploads what is left; completes the upload unless staged. Aborts on any error.
    fn finish(mut self: Box<Self>) -> Result<Pending> {
        let result = self.finish_inner();
        if result.is_err() {
            self.abort();
        }
        result
    }

    fn finish_inner(&mut self) -> Result<Pending> {
        if self.upload_id.is_none() && !self.staged {
            let (s3, key, body) = (&self.s3, &self.key, std::mem::take(&mut self.buf));
            block_on(&s3.handle, async {
                s3.client
                    .put_object()
                    .bucket(s3.bucket())
                    .key(s3.full_key(key))
                    .body(ByteStream::from(body))
                    .send()
                    .await
            })
            .map_err(|e| sdk_error("write", &s3.uri(key), e))?;
            return Ok(Pending::S3 {
                upload_id: String::new(),
                parts: Vec::new(),
            });
        }
        // The last part may be short, even empty when nothing at all was written.
        if !self.buf.is_empty() || self.next_part == 1 {
            self.send_part()?;
        }
        while !self.in_flight.is_empty() {
            self.wait_oldest()?;
        }
        let upload_id = self.upload_id.clone().unwrap_or_default();
        let parts = std::mem::take(&mut self.done);
        if self.staged {
            // Ownership of the upload passes to the publisher.
            self.upload_id = None;
            return Ok(Pending::S3 { upload_id, parts });
        }
        block_on(
            &self.s3.handle,
            complete_upload(&self.s3, &self.key, &upload_id, parts.clone()),
        )?;
        self.upload_id = None;
        Ok(Pending::S3 { upload_id, parts })
    }

    /// Cancels parts in flight, then aborts the upload (after them, so no part lands later).
    fn abort(mut self: Box<Self>) {
        for task in &self.in_flight {
            task.abort();
        }
        let tasks = std::mem::take(&mut self.in_flight);
        let Some(upload_id) = self.upload_id.take() else {
            return;
        };
        let s3 = &self.s3;
        block_on(&s3.handle, async {
            for task in tasks {
                let _ = task.await;
            }
            // Best effort: a leftover upload is invisible, and the stale-upload sweep or a
            // bucket lifecycle rule removes it.
            let _ = s3.abort_upload(&self.key, &upload_id).await;
        });
    }
}

/// Makes a staged or finished multipart upload visible as the object.
pub(crate) async fn complete_upload(
    s3: &S3Backend,
    key: &str,
    upload_id: &str,
    mut parts: Vec<CompletedPart>,
) -> Result<()> {
    parts.sort_by_key(|p| p.part_number());
    s3.client
        .complete_multipart_upload()
        .bucket(s3.bucket())
        .key(s3.full_key(key))
        .upload_id(upload_id)
        .multipart_upload(
            CompletedMultipartUpload::builder()
                .set_parts(Some(parts))
                .build(),
        )
        .send()
        .await
        .map_err(|e| sdk_error("complete upload", &s3.uri(key), e))?;
    Ok(())
}
