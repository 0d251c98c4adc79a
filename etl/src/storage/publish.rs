//! Atomic publish of a run's output: a failed or killed run leaves nothing visible at the
//! target, a successful one makes all its files visible, then (for `overwrite`) removes the
//! earlier files, and writes its manifest last.
//!
//! How each file is held back until the run commits:
//! - **Local**: written under `<target>/_gluepipe/staging/<run_id>/<key>`, renamed into place
//!   on commit (a rename is atomic within one file system, and the staging folder is inside the
//!   target, so it is the same one).
//! - **S3**: each file is a multipart upload to its final key whose every part is uploaded
//!   during the run, but whose CompleteMultipartUpload is sent only on commit. Until then S3
//!   shows no object at all. We chose this over "stage under a prefix, then copy" because commit
//!   is then one small request per file instead of a server-side copy of every byte (which costs
//!   time and requests, and needs UploadPartCopy beyond 5 GiB), so the window in which a killed
//!   commit could leave part of a run visible is as short as it can be. What a killed run leaves
//!   behind is invisible: incomplete uploads, aborted by [`Publisher::sweep_abandoned`] or a
//!   bucket lifecycle rule (`AbortIncompleteMultipartUpload`).
//!
//! Everything gluepipe keeps beside the data lives under `_gluepipe/`: engines that read the
//! table (Athena, Spark, Hive) skip names starting with `_`, and `overwrite` never removes it.

use std::collections::HashSet;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime};

use aws_sdk_s3::primitives::{DateTime, DateTimeFormat};
use futures::{StreamExt, TryStreamExt, stream};
use gluepipe_spec::pipeline::WriteMode;
use serde_json::json;

use super::blocking::block_on;
use super::s3::PendingUpload;
use super::store::{Backend, Store};
use super::writer::{ObjectWriter, Pending, Staging, WrittenObject, complete_upload};
use super::{Result, StorageError, check_key};

/// The folder under a target that holds gluepipe's own files.
pub const CONTROL_DIR: &str = "_gluepipe";
/// Local staging: `<target>/_gluepipe/staging/<run_id>/`.
pub const STAGING_DIR: &str = "_gluepipe/staging";
/// Manifests: `<target>/_gluepipe/manifests/<run_id>.json`.
pub const MANIFEST_DIR: &str = "_gluepipe/manifests";

/// CompleteMultipartUpload requests sent at once on commit.
const COMMIT_CONCURRENCY: usize = 16;

/// What a successful commit did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Published {
    /// The run's files, now visible, sorted by key.
    pub files: Vec<WrittenObject>,
    /// Earlier files removed by `overwrite`, as full locations.
    pub removed: Vec<String>,
    /// The manifest's full location.
    pub manifest: String,
}

/// A run id names files and folders: 1 to 128 letters, digits, `.`, `_` or `-`, not starting
/// with `.`.
pub fn check_run_id(run_id: &str) -> Result<()> {
    let valid = !run_id.is_empty()
        && run_id.len() <= 128
        && run_id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
        && !run_id.starts_with('.');
    if !valid {
        return Err(StorageError::Invalid(format!(
            "invalid run id {run_id:?}: use 1 to 128 letters, digits, '.', '_' or '-'"
        )));
    }
    Ok(())
}

/// Collects a run's output files and publishes them together (see the module notes).
#[derive(Debug)]
pub struct Publisher {
    store: Store,
    run_id: String,
    mode: WriteMode,
    ledger: Arc<Ledger>,
    done: bool,
    /// Local staging folders (names under `_gluepipe/staging/`) to remove when the run ends:
    /// its own, and those of the shards whose files a resumed publisher took over.
    staging_ids: Vec<String>,
}

/// A finished, unpublished file handed from one process to another (a shard of a sharded run
/// to the merge that publishes): see [`Publisher::detach`] and [`Publisher::resume`].
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct StagedFile {
    /// Relative to the target.
    pub key: String,
    /// Where it will be once published.
    pub uri: String,
    pub bytes: u64,
    pub staged: StagedAt,
}

/// Where a [`StagedFile`]'s bytes wait.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StagedAt {
    /// A file in the target's staging folder (key relative to the target).
    Local { staging_key: String },
    /// An S3 multipart upload to `key` with every part uploaded: `(part number, ETag)`.
    S3 {
        upload_id: String,
        parts: Vec<(i32, String)>,
    },
}

impl Publisher {
    /// A publisher for `run_id` (letters, digits, `.`, `_`, `-`) writing below `store`'s root.
    pub fn new(store: Store, run_id: &str, mode: WriteMode) -> Result<Publisher> {
        check_run_id(run_id)?;
        let ledger = Arc::new(Ledger::new(store.clone()));
        Ok(Publisher {
            store,
            run_id: run_id.to_string(),
            mode,
            ledger,
            done: false,
            staging_ids: vec![run_id.to_string()],
        })
    }

    /// Ends this process's part of the run without publishing or discarding: returns the
    /// finished files, which stay staged (invisible) until a [`Publisher::resume`]d publisher
    /// commits or aborts them. Fails, discarding them, if a writer is still open.
    pub async fn detach(mut self) -> Result<Vec<StagedFile>> {
        let staged = self.close("hand over").await?;
        let root = self.store.local_root().map(std::path::Path::to_path_buf);
        staged
            .into_iter()
            .map(|(written, pending)| {
                let staged = match pending {
                    Pending::Local { staged } => {
                        let rel = root
                            .as_ref()
                            .and_then(|r| staged.strip_prefix(r).ok())
                            .ok_or_else(|| {
                                StorageError::Invalid(format!(
                                    "{}: staged outside the target",
                                    staged.display()
                                ))
                            })?;
                        StagedAt::Local {
                            staging_key: rel.to_string_lossy().into_owned(),
                        }
                    }
                    Pending::S3 { upload_id, parts } => StagedAt::S3 {
                        upload_id,
                        parts: parts
                            .iter()
                            .map(|p| {
                                (
                                    p.part_number().unwrap_or_default(),
                                    p.e_tag().unwrap_or_default().to_string(),
                                )
                            })
                            .collect(),
                    },
                };
                Ok(StagedFile {
                    key: written.key,
                    uri: written.uri,
                    bytes: written.bytes,
                    staged,
                })
            })
            .collect()
    }

    /// A publisher for `run_id` holding files other processes staged and detached, ready to
    /// commit or abort them all together. `staging_ids` names the local staging folders those
    /// processes used, removed when this publisher ends.
    pub fn resume(
        store: Store,
        run_id: &str,
        mode: WriteMode,
        files: Vec<StagedFile>,
        staging_ids: Vec<String>,
    ) -> Result<Publisher> {
        let mut publisher = Publisher::new(store, run_id, mode)?;
        publisher.staging_ids.extend(staging_ids);
        let root = publisher
            .store
            .local_root()
            .map(std::path::Path::to_path_buf);
        for file in files {
            check_key(&file.key)?;
            publisher.ledger.claim(&file.key, &publisher.store)?;
            let pending = match (file.staged, &root) {
                (StagedAt::Local { staging_key }, Some(root)) => {
                    check_key(&staging_key)?;
                    if !staging_key.starts_with(&format!("{STAGING_DIR}/")) {
                        return Err(StorageError::Invalid(format!(
                            "{staging_key}: not in the staging folder {STAGING_DIR}"
                        )));
                    }
                    Pending::Local {
                        staged: root.join(staging_key),
                    }
                }
                (StagedAt::S3 { upload_id, parts }, None) => Pending::S3 {
                    upload_id,
                    parts: parts
                        .into_iter()
                        .map(|(n, etag)| {
                            aws_sdk_s3::types::CompletedPart::builder()
                                .part_number(n)
                                .e_tag(etag)
                                .build()
                        })
                        .collect(),
                },
                _ => {
                    return Err(StorageError::Invalid(format!(
                        "{}: staged on a different kind of store",
                        file.uri
                    )));
                }
            };
            publisher.ledger.adopt(
                WrittenObject {
                    key: file.key,
                    uri: file.uri,
                    bytes: file.bytes,
                },
                pending,
            );
        }
        Ok(publisher)
    }

    pub fn run_id(&self) -> &str {
        &self.run_id
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Starts the output file `key` (relative to the target). It stays invisible until
    /// [`Publisher::commit`]; each key can be written once per run.
    pub fn create(&self, key: &str) -> Result<ObjectWriter> {
        check_key(key)?;
        if key.starts_with(&format!("{STAGING_DIR}/"))
            || key.starts_with(&format!("{MANIFEST_DIR}/"))
        {
            return Err(StorageError::Invalid(format!(
                "{key}: this folder is reserved for gluepipe"
            )));
        }
        self.ledger.claim(key, &self.store)?;
        let local_path = self
            .store
            .local_root()
            .map(|root| root.join(self.staging_key(key)));
        let staging = Staging {
            ledger: self.ledger.clone(),
            local_path,
        };
        ObjectWriter::create(
            self.store.backend(),
            key,
            self.store.write_options(),
            Some(staging),
        )
    }

    /// The files finished so far (not yet visible).
    pub fn staged(&self) -> Vec<WrittenObject> {
        self.ledger
            .lock()
            .staged
            .iter()
            .map(|(w, _)| w.clone())
            .collect()
    }

    fn staging_key(&self, key: &str) -> String {
        format!("{STAGING_DIR}/{}/{key}", self.run_id)
    }

    fn manifest_key(&self) -> String {
        format!("{MANIFEST_DIR}/{}.json", self.run_id)
    }

    /// Makes every finished file visible, removes earlier files if overwriting, then writes
    /// the manifest (`extra` is stored in it under `"run"`). Fails, leaving nothing of this run
    /// visible, if a writer is still open or a file cannot be published.
    pub async fn commit(mut self, extra: serde_json::Value) -> Result<Published> {
        let staged = self.close("publish").await?;
        let new_keys: HashSet<&str> = staged.iter().map(|(w, _)| w.key.as_str()).collect();
        let earlier = match self.mode {
            WriteMode::Append => Vec::new(),
            WriteMode::Overwrite => {
                let listed = match self.store.list("").await {
                    Ok(listed) => listed,
                    Err(e) => {
                        discard_all(&self.store, staged).await;
                        self.remove_local_staging();
                        return Err(e);
                    }
                };
                let control = format!("{CONTROL_DIR}/");
                listed
                    .into_iter()
                    .map(|o| o.key)
                    .filter(|k| !k.starts_with(&control) && !new_keys.contains(k.as_str()))
                    .collect()
            }
        };
        let mut files: Vec<WrittenObject> = staged.iter().map(|(w, _)| w.clone()).collect();
        files.sort_by(|a, b| a.key.cmp(&b.key));

        self.make_visible(staged).await?;
        self.remove_local_staging();

        if !earlier.is_empty() {
            self.store.delete_many(&earlier).await.map_err(|e| {
                StorageError::Invalid(format!(
                    "run {} published its files to {}, but removing the earlier files failed: {e}",
                    self.run_id,
                    self.store.uri("")
                ))
            })?;
        }
        let removed: Vec<String> = earlier.iter().map(|k| self.store.uri(k)).collect();
        let manifest = json!({
            "gluepipe_manifest": 1,
            "run_id": self.run_id,
            "write_mode": match self.mode { WriteMode::Append => "append", WriteMode::Overwrite => "overwrite" },
            "committed_at": now_rfc3339(),
            "files": files.iter().map(|f| json!({"path": f.uri, "key": f.key, "bytes": f.bytes})).collect::<Vec<_>>(),
            "removed": removed,
            "run": extra,
        });
        let manifest_key = self.manifest_key();
        let body = serde_json::to_vec_pretty(&manifest)
            .map_err(|e| StorageError::Invalid(e.to_string()))?;
        self.store.put_bytes(&manifest_key, body).await?;
        Ok(Published {
            files,
            removed,
            manifest: self.store.uri(&manifest_key),
        })
    }

    /// Ends the run's writing and returns the finished files; if a writer is still open, the
    /// run is incomplete: everything is discarded and the error says what could not be done.
    async fn close(&mut self, doing: &str) -> Result<Vec<(WrittenObject, Pending)>> {
        self.done = true;
        let (open, staged) = self.ledger.close();
        if open > 0 {
            discard_all(&self.store, staged).await;
            self.remove_local_staging();
            return Err(StorageError::Invalid(format!(
                "cannot {doing} run {} to {}: {open} output file(s) were not finished",
                self.run_id,
                self.store.uri("")
            )));
        }
        Ok(staged)
    }

    /// Publishes every staged file; if one fails, takes back those already published and
    /// discards the rest, so the run leaves nothing visible.
    async fn make_visible(&self, staged: Vec<(WrittenObject, Pending)>) -> Result<()> {
        let store = &self.store;
        let mut published: Vec<String> = Vec::new();
        let mut failure = None;
        let mut remaining = Vec::new();
        let results: Vec<(WrittenObject, Pending, Result<()>)> = stream::iter(staged)
            .map(|(written, pending)| async move {
                let result = publish_one(store, &written.key, &pending).await;
                (written, pending, result)
            })
            .buffer_unordered(COMMIT_CONCURRENCY)
            .collect()
            .await;
        for (written, pending, result) in results {
            match result {
                Ok(()) => published.push(written.key),
                Err(e) => {
                    failure.get_or_insert(e);
                    remaining.push((written, pending));
                }
            }
        }
        let Some(err) = failure else { return Ok(()) };
        let _ = store.delete_many(&published).await;
        discard_all(store, remaining).await;
        self.remove_local_staging();
        Err(err)
    }

    /// Discards everything this run staged.
    pub async fn abort(mut self) -> Result<()> {
        self.done = true;
        let (_, staged) = self.ledger.close();
        discard_all(&self.store, staged).await;
        self.remove_local_staging();
        Ok(())
    }

    fn remove_local_staging(&self) {
        if let Some(root) = self.store.local_root() {
            for id in &self.staging_ids {
                let _ = std::fs::remove_dir_all(root.join(STAGING_DIR).join(id));
            }
            // Tidy `_gluepipe/staging` and `_gluepipe` when this was the only run in them.
            let _ = std::fs::remove_dir(root.join(STAGING_DIR));
            let _ = std::fs::remove_dir(root.join(CONTROL_DIR));
        }
    }

    /// Removes what killed runs left behind under `store`: local staging folders, and S3
    /// multipart uploads, started more than `older_than` ago. Returns how many it removed.
    /// Pick an age well above the longest run, so a run in progress is never touched.
    pub async fn sweep_abandoned(store: &Store, older_than: Duration) -> Result<usize> {
        let cutoff = SystemTime::now()
            .checked_sub(older_than)
            .unwrap_or(SystemTime::UNIX_EPOCH);
        let mut removed = 0;
        match store.backend() {
            Backend::Local(root) => {
                let staging = root.join(STAGING_DIR);
                let Ok(entries) = std::fs::read_dir(&staging) else {
                    return Ok(0);
                };
                for entry in entries.flatten() {
                    let old = entry
                        .metadata()
                        .and_then(|m| m.modified())
                        .is_ok_and(|t| t < cutoff);
                    if old && std::fs::remove_dir_all(entry.path()).is_ok() {
                        removed += 1;
                    }
                }
            }
            Backend::S3(s3) => {
                for upload in abandoned(s3.pending_uploads("").await?, cutoff) {
                    s3.abort_upload(&upload.key, &upload.upload_id).await?;
                    removed += 1;
                }
            }
        }
        Ok(removed)
    }
}

impl Publisher {
    /// Aborts the S3 uploads under `store` whose file name `is_run_file` claims (one run's
    /// files), whatever their age. Call it only once that run has committed or aborted: what is
    /// still pending then belongs to no live writer — an attempt that was killed, or retried
    /// under the same names. Returns how many it aborted.
    pub async fn sweep_run(store: &Store, is_run_file: impl Fn(&str) -> bool) -> Result<usize> {
        let Backend::S3(s3) = store.backend() else {
            return Ok(0);
        };
        let mut removed = 0;
        for upload in s3.pending_uploads("").await? {
            let name = upload.key.rsplit('/').next().unwrap_or(&upload.key);
            if is_run_file(name) {
                s3.abort_upload(&upload.key, &upload.upload_id).await?;
                removed += 1;
            }
        }
        Ok(removed)
    }
}

/// Uploads started before `cutoff`; one without a start time is left alone.
fn abandoned(uploads: Vec<PendingUpload>, cutoff: SystemTime) -> Vec<PendingUpload> {
    uploads
        .into_iter()
        .filter(|u| u.initiated.is_some_and(|t| t < cutoff))
        .collect()
}

impl Drop for Publisher {
    /// A publisher dropped without commit or abort (an error path, a panic) cleans up.
    fn drop(&mut self) {
        if self.done {
            return;
        }
        let (_, staged) = self.ledger.close();
        match self.store.backend() {
            Backend::Local(_) => {}
            Backend::S3(s3) => block_on(&s3.handle, discard_all(&self.store, staged)),
        }
        self.remove_local_staging();
    }
}

async fn publish_one(store: &Store, key: &str, pending: &Pending) -> Result<()> {
    match (store.backend(), pending) {
        (Backend::Local(root), Pending::Local { staged }) => {
            let dest = root.join(key);
            super::local::create_parent(&dest)?;
            std::fs::rename(staged, &dest)
                .map_err(|e| StorageError::io("publish", dest.display().to_string(), e))
        }
        (Backend::S3(s3), Pending::S3 { upload_id, parts }) => {
            complete_upload(s3, key, upload_id, parts.clone()).await
        }
        _ => Err(StorageError::Invalid(format!(
            "{key}: staged on a different kind of store"
        ))),
    }
}

/// Best effort: what cannot be removed now is invisible and left to the sweep.
async fn discard_all(store: &Store, staged: Vec<(WrittenObject, Pending)>) {
    let _ = stream::iter(staged)
        .map(|(written, pending)| async move { discard_one(store, &written.key, pending).await })
        .buffer_unordered(COMMIT_CONCURRENCY)
        .try_collect::<Vec<()>>()
        .await;
}

async fn discard_one(store: &Store, key: &str, pending: Pending) -> Result<()> {
    match (store.backend(), pending) {
        (Backend::S3(s3), Pending::S3 { upload_id, .. }) => s3.abort_upload(key, &upload_id).await,
        (_, pending) => {
            discard_local(pending);
            Ok(())
        }
    }
}

fn discard_local(pending: Pending) {
    if let Pending::Local { staged } = pending {
        let _ = std::fs::remove_file(staged);
    }
}

fn now_rfc3339() -> String {
    DateTime::from(SystemTime::now())
        .fmt(DateTimeFormat::DateTime)
        .unwrap_or_default()
}

/// The publisher's record of its writers: how many are open, which keys are taken, and the
/// finished files waiting for commit. Shared with the writers, which report on `finish`.
#[derive(Debug)]
pub(crate) struct Ledger {
    store: Store,
    state: Mutex<LedgerState>,
}

#[derive(Debug, Default)]
struct LedgerState {
    open: usize,
    closed: bool,
    keys: HashSet<String>,
    staged: Vec<(WrittenObject, Pending)>,
}

impl Ledger {
    fn new(store: Store) -> Self {
        Ledger {
            store,
            state: Mutex::new(LedgerState::default()),
        }
    }

    fn lock(&self) -> MutexGuard<'_, LedgerState> {
        // A writer that panicked mid-update leaves nothing half-done here worth refusing.
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn claim(&self, key: &str, store: &Store) -> Result<()> {
        let mut state = self.lock();
        if state.closed {
            return Err(StorageError::Invalid(format!(
                "{}: the run was already published or aborted",
                store.uri(key)
            )));
        }
        if !state.keys.insert(key.to_string()) {
            return Err(StorageError::Invalid(format!(
                "{}: written twice in one run",
                store.uri(key)
            )));
        }
        Ok(())
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.lock().closed
    }

    pub(crate) fn writer_opened(&self) {
        self.lock().open += 1;
    }

    pub(crate) fn writer_closed(&self) {
        let mut state = self.lock();
        state.open = state.open.saturating_sub(1);
    }

    /// A writer finished. If the run is already over, its file is discarded.
    pub(crate) fn record(&self, written: WrittenObject, pending: Pending) -> Result<()> {
        let mut state = self.lock();
        state.open = state.open.saturating_sub(1);
        if !state.closed {
            state.staged.push((written, pending));
            return Ok(());
        }
        drop(state);
        match self.store.backend() {
            Backend::S3(s3) => {
                let _ = block_on(&s3.handle, discard_one(&self.store, &written.key, pending));
            }
            Backend::Local(_) => discard_local(pending),
        }
        Err(StorageError::Invalid(format!(
            "{}: finished after the run was published or aborted",
            written.uri
        )))
    }

    /// Takes over a file another process finished (see [`Publisher::resume`]).
    fn adopt(&self, written: WrittenObject, pending: Pending) {
        self.lock().staged.push((written, pending));
    }

    /// Ends the run: no more files are accepted. Returns the open count and the staged files.
    fn close(&self) -> (usize, Vec<(WrittenObject, Pending)>) {
        let mut state = self.lock();
        state.closed = true;
        (state.open, std::mem::take(&mut state.staged))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use std::io::Write;

    use super::*;
    use crate::storage::store::tests::{files_under, seed};

    fn write(publisher: &Publisher, key: &str, body: &[u8]) -> WrittenObject {
        let mut writer = publisher.create(key).unwrap();
        writer.write_all(body).unwrap();
        writer.finish().unwrap()
    }

    /// The files a reader of the target sees (gluepipe's own folder excluded).
    fn visible(dir: &std::path::Path) -> Vec<String> {
        files_under(dir)
            .into_iter()
            .filter(|f| !f.starts_with("_gluepipe/"))
            .collect()
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn append_publishes_all_files_then_the_manifest() {
        let dir = tempfile::tempdir().unwrap();
        seed(dir.path(), &[("day=1/old.parquet", "old")]);
        let publisher =
            Publisher::new(Store::local(dir.path()), "run-1", WriteMode::Append).unwrap();
        write(&publisher, "day=1/part-run-1-0.parquet", b"aa");
        write(&publisher, "day=2/part-run-1-0.parquet", b"bbb");
        assert_eq!(
            visible(dir.path()),
            ["day=1/old.parquet"],
            "nothing visible before commit"
        );
        assert_eq!(publisher.staged().len(), 2);

        let published = publisher.commit(json!({"rows_written": 5})).await.unwrap();
        assert_eq!(
            visible(dir.path()),
            [
                "day=1/old.parquet",
                "day=1/part-run-1-0.parquet",
                "day=2/part-run-1-0.parquet"
            ]
        );
        assert_eq!(
            files_under(&dir.path().join("_gluepipe")),
            ["manifests/run-1.json"],
            "staging removed"
        );
        assert_eq!(
            published.files.iter().map(|f| f.bytes).collect::<Vec<_>>(),
            [2, 3]
        );
        assert!(published.removed.is_empty());
        let manifest: serde_json::Value = serde_json::from_slice(
            &std::fs::read(dir.path().join("_gluepipe/manifests/run-1.json")).unwrap(),
        )
        .unwrap();
        assert_eq!(manifest["run_id"], "run-1");
        assert_eq!(manifest["write_mode"], "append");
        assert_eq!(manifest["run"]["rows_written"], 5);
        assert_eq!(manifest["files"].as_array().unwrap().len(), 2);
        assert_eq!(manifest["files"][1]["key"], "day=2/part-run-1-0.parquet");
        assert_eq!(
            published.manifest,
            dir.path()
                .join("_gluepipe/manifests/run-1.json")
                .display()
                .to_string()
        );
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn overwrite_removes_earlier_files_only_after_the_new_ones_are_in_place() {
        let dir = tempfile::tempdir().unwrap();
        seed(
            dir.path(),
            &[
                ("day=1/old.parquet", "old"),
                ("day=9/old.parquet", "old"),
                ("_gluepipe/dq/history.json", "[]"),
                ("_gluepipe/manifests/run-0.json", "{}"),
            ],
        );
        let publisher =
            Publisher::new(Store::local(dir.path()), "run-2", WriteMode::Overwrite).unwrap();
        write(&publisher, "day=1/new.parquet", b"new");
        assert_eq!(
            visible(dir.path()),
            ["day=1/old.parquet", "day=9/old.parquet"],
            "old data intact before commit"
        );
        let published = publisher.commit(serde_json::Value::Null).await.unwrap();
        assert_eq!(visible(dir.path()), ["day=1/new.parquet"]);
        assert!(
            !dir.path().join("day=9").exists(),
            "emptied partition folder removed"
        );
        assert_eq!(published.removed.len(), 2);
        assert_eq!(
            files_under(&dir.path().join("_gluepipe")),
            [
                "dq/history.json",
                "manifests/run-0.json",
                "manifests/run-2.json"
            ],
            "gluepipe's own files survive overwrite"
        );
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn abort_and_drop_leave_the_target_as_it_was() {
        let dir = tempfile::tempdir().unwrap();
        seed(dir.path(), &[("keep.parquet", "k")]);
        let before = files_under(dir.path());

        let publisher =
            Publisher::new(Store::local(dir.path()), "run-a", WriteMode::Overwrite).unwrap();
        write(&publisher, "x.parquet", b"x");
        publisher.abort().await.unwrap();
        assert_eq!(files_under(dir.path()), before);

        let publisher =
            Publisher::new(Store::local(dir.path()), "run-b", WriteMode::Overwrite).unwrap();
        write(&publisher, "y.parquet", b"y");
        let mut open = publisher.create("z.parquet").unwrap();
        open.write_all(b"half").unwrap();
        drop(publisher); // e.g. a failed data-quality check returning early
        drop(open);
        assert_eq!(files_under(dir.path()), before);
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn commit_refuses_unfinished_writers_and_publishes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let publisher =
            Publisher::new(Store::local(dir.path()), "run-c", WriteMode::Append).unwrap();
        write(&publisher, "done.parquet", b"d");
        let open = publisher.create("open.parquet").unwrap();
        let err = publisher.commit(serde_json::Value::Null).await.unwrap_err();
        assert!(
            err.to_string()
                .contains("1 output file(s) were not finished"),
            "{err}"
        );
        assert!(
            open.finish()
                .unwrap_err()
                .to_string()
                .contains("after the run was published or aborted")
        );
        assert!(
            files_under(dir.path()).is_empty(),
            "{:?}",
            files_under(dir.path())
        );
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn a_dropped_writer_is_not_published() {
        let dir = tempfile::tempdir().unwrap();
        let publisher =
            Publisher::new(Store::local(dir.path()), "run-d", WriteMode::Append).unwrap();
        write(&publisher, "good.parquet", b"g");
        let mut failed = publisher.create("failed.parquet").unwrap();
        failed.write_all(b"partial").unwrap();
        drop(failed);
        publisher.commit(serde_json::Value::Null).await.unwrap();
        assert_eq!(visible(dir.path()), ["good.parquet"]);
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn a_commit_that_fails_half_way_takes_back_what_it_published() {
        let dir = tempfile::tempdir().unwrap();
        seed(dir.path(), &[("old.parquet", "old")]);
        let publisher =
            Publisher::new(Store::local(dir.path()), "run-e", WriteMode::Overwrite).unwrap();
        for name in ["a", "b", "c", "d"] {
            write(&publisher, &format!("{name}.parquet"), name.as_bytes());
        }
        // One staged file vanishes (a disk problem, a meddling process): its rename fails.
        std::fs::remove_file(dir.path().join("_gluepipe/staging/run-e/c.parquet")).unwrap();
        let err = publisher.commit(serde_json::Value::Null).await.unwrap_err();
        assert!(err.to_string().contains("c.parquet"), "{err}");
        assert_eq!(
            files_under(dir.path()),
            ["old.parquet"],
            "as before the run"
        );
    }

    #[test]
    fn only_uploads_older_than_the_cutoff_are_abandoned() {
        let now = SystemTime::now();
        let upload = |key: &str, age: Option<u64>| PendingUpload {
            key: key.into(),
            upload_id: format!("id-{key}"),
            initiated: age.map(|s| now - Duration::from_secs(s)),
        };
        let uploads = vec![
            upload("old", Some(7200)),
            upload("young", Some(60)),
            upload("unknown", None),
        ];
        let picked = abandoned(uploads, now - Duration::from_secs(3600));
        assert_eq!(
            picked.iter().map(|u| u.key.as_str()).collect::<Vec<_>>(),
            ["old"]
        );
        assert!(abandoned(Vec::new(), now).is_empty());
    }

    #[test]
    fn keys_and_run_ids_are_checked() {
        let dir = tempfile::tempdir().unwrap();
        for bad in ["", "a/b", "../x", ".hidden", "sp ace", &"x".repeat(129)] {
            assert!(
                Publisher::new(Store::local(dir.path()), bad, WriteMode::Append).is_err(),
                "{bad:?}"
            );
        }
        let publisher = Publisher::new(Store::local(dir.path()), "r", WriteMode::Append).unwrap();
        let first = publisher.create("a.parquet").unwrap();
        assert!(
            publisher
                .create("a.parquet")
                .unwrap_err()
                .to_string()
                .contains("written twice")
        );
        assert!(
            publisher
                .create("_gluepipe/staging/x")
                .unwrap_err()
                .to_string()
                .contains("reserved")
        );
        assert!(publisher.create("_gluepipe/manifests/r.json").is_err());
        drop(first);
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn sweep_removes_abandoned_local_staging() {
        let dir = tempfile::tempdir().unwrap();
        seed(
            dir.path(),
            &[
                ("_gluepipe/staging/killed-run/part.parquet", "x"),
                ("data.parquet", "d"),
            ],
        );
        let store = Store::local(dir.path());
        assert_eq!(
            Publisher::sweep_abandoned(&store, Duration::from_secs(3600))
                .await
                .unwrap(),
            0,
            "too young"
        );
        assert_eq!(
            Publisher::sweep_abandoned(&store, Duration::ZERO)
                .await
                .unwrap(),
            1
        );
        assert_eq!(files_under(dir.path()), ["data.parquet"]);
    }
}
