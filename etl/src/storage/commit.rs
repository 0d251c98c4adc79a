//! The commit protocol of a target: how a run's staged files become visible all together, or
//! are recovered, with one committer at a time.
//!
//! ```text
//! 1. lock     create _gluepipe/lock/<n>.json only if absent; a live lock of another run refuses
//! 2. recover  roll forward (or back) every intent a dead committer left, before anything else
//!             (a run's `begin` does this too, before it plans)
//! 3. intent   write _gluepipe/intents/<run>.json: the staged files, what they replace, the manifest
//! 4. publish  make every file visible, then remove the replaced files (earlier manifests' only)
//! 5. commit   create _gluepipe/manifests/<run>.json only if absent (the commit point), drop the
//!             intent, release the lock
//! ```
//!
//! "Only if absent" is a local hard link or S3's `If-None-Match: *`, so two runs never write
//! one lock file, one intent or one manifest: a run id is published at most once. Recovery is
//! idempotent (every step checks what is already done) and runs under the lock.
//!
//! A lock names its run, host and process, and expires [`LOCK_TTL`] after it was taken (it is
//! not renewed): a committer that was killed blocks other commits until then, except on the
//! same host, where a lock of a process that no longer exists is taken over at once. A lock is
//! taken over by creating the next number; since numbers are reused once locks are released, a
//! run that finds another live lock after creating its own backs off. A committer slower than
//! its lock (taken over meanwhile) finds its lock file gone before its next step and stops,
//! leaving the files the run that took over completed.
//!
//! What a reader that lists files (Athena, a crawler) sees: nothing of a run before step 4;
//! during step 4 the run's files appear (16 at a time) and, for `overwrite`, the replaced files
//! are then deleted, so for that window such a reader may see part of the new files, or old and
//! new together. A reader that follows the manifests sees a run exactly when its manifest
//! exists. See etl/README.md, "Guarantees".

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use futures::{StreamExt, TryStreamExt, stream};
use serde::{Deserialize, Serialize};

use super::store::{Backend, Store};
use super::writer::{Pending, WrittenObject, complete_upload};
use super::{Result, StorageError};

/// The folder under a target that holds gluepipe's own files.
pub const CONTROL_DIR: &str = "_gluepipe";
/// Local staging: `<target>/_gluepipe/staging/<run_id>/`.
pub const STAGING_DIR: &str = "_gluepipe/staging";
/// Manifests, the commit points: `<target>/_gluepipe/manifests/<run_id>.json`.
pub const MANIFEST_DIR: &str = "_gluepipe/manifests";
/// Intents of commits in progress: `<target>/_gluepipe/intents/<run_id>.json`.
pub const INTENT_DIR: &str = "_gluepipe/intents";
/// The committer's lock: `<target>/_gluepipe/lock/<n>.json`.
pub const LOCK_DIR: &str = "_gluepipe/lock";

/// How long a lock holds when its committer disappears. A commit takes seconds; this only
/// bounds how long a killed committer blocks the next one. `GLUEPIPE_LOCK_TTL_SECONDS`
/// overrides it (tests).
pub const LOCK_TTL: Duration = Duration::from_secs(300);

/// Requests sent at once while publishing or discarding.
pub(crate) const CONCURRENCY: usize = 16;

/// A finished, unpublished file, in a form that outlives the process that wrote it: handed
/// from a shard to the merge, and recorded in an intent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StagedFile {
    /// Relative to the target.
    pub key: String,
    /// Where it will be once published.
    pub uri: String,
    pub bytes: u64,
    pub staged: StagedAt,
}

/// Where a [`StagedFile`]'s bytes wait.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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

impl StagedFile {
    /// The durable form of a file a writer of `store` finished.
    pub(crate) fn from_pending(
        store: &Store,
        written: &WrittenObject,
        pending: &Pending,
    ) -> Result<StagedFile> {
        let staged = match pending {
            Pending::Local { staged } => {
                let rel = store
                    .local_root()
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
                upload_id: upload_id.clone(),
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
            key: written.key.clone(),
            uri: written.uri.clone(),
            bytes: written.bytes,
            staged,
        })
    }

    /// Back to what a writer hands in, checking it stays inside `store`'s staging folder.
    pub(crate) fn to_pending(&self, store: &Store) -> Result<(WrittenObject, Pending)> {
        super::check_key(&self.key)?;
        let pending = match (&self.staged, store.local_root()) {
            (StagedAt::Local { staging_key }, Some(root)) => {
                super::check_key(staging_key)?;
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
                upload_id: upload_id.clone(),
                parts: parts
                    .iter()
                    .map(|(n, etag)| {
                        aws_sdk_s3::types::CompletedPart::builder()
                            .part_number(*n)
                            .e_tag(etag)
                            .build()
                    })
                    .collect(),
            },
            _ => {
                return Err(StorageError::Invalid(format!(
                    "{}: staged on a different kind of store",
                    self.uri
                )));
            }
        };
        let written = WrittenObject {
            key: self.key.clone(),
            uri: self.uri.clone(),
            bytes: self.bytes,
        };
        Ok((written, pending))
    }
}

/// Makes one staged file visible under its key.
pub(crate) async fn publish_one(store: &Store, key: &str, pending: &Pending) -> Result<()> {
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
pub(crate) async fn discard_all(store: &Store, staged: Vec<(WrittenObject, Pending)>) {
    let _ = stream::iter(staged)
        .map(|(written, pending)| async move { discard_one(store, &written.key, pending).await })
        .buffer_unordered(CONCURRENCY)
        .try_collect::<Vec<()>>()
        .await;
}

pub(crate) async fn discard_one(store: &Store, key: &str, pending: Pending) -> Result<()> {
    match (store.backend(), pending) {
        (Backend::S3(s3), Pending::S3 { upload_id, .. }) => s3.abort_upload(key, &upload_id).await,
        (_, pending) => {
            discard_local(pending);
            Ok(())
        }
    }
}

pub(crate) fn discard_local(pending: Pending) {
    if let Pending::Local { staged } = pending {
        let _ = std::fs::remove_file(staged);
    }
}

/// Test hooks at the steps of a commit (`lock` — before taking the lock —, `locked`, `intent`,
/// `publishing` — after the first file is visible —, `published`, `removing` — after the first
/// batch of replaced files is gone —, `removed`, `manifest`):
/// - `GLUEPIPE_TEST_CRASH_AT=<step>` ends the process there with no clean-up at all, as SIGKILL
///   would;
/// - `GLUEPIPE_TEST_WAIT_AT=<step>` with `GLUEPIPE_TEST_WAIT_FILE=<path>` waits there until that
///   file exists (another run can then be started against the same target).
pub(crate) fn crash_point(step: &str) {
    if std::env::var("GLUEPIPE_TEST_CRASH_AT").is_ok_and(|s| s == step) {
        eprintln!("gluepipe-etl: test hook: killed at commit step {step:?}");
        std::process::exit(137);
    }
    if std::env::var("GLUEPIPE_TEST_WAIT_AT").is_ok_and(|s| s == step) {
        if let Ok(file) = std::env::var("GLUEPIPE_TEST_WAIT_FILE") {
            eprintln!("gluepipe-etl: test hook: waiting at commit step {step:?} for {file}");
            while !std::path::Path::new(&file).exists() {
                std::thread::sleep(Duration::from_millis(50));
            }
        }
    }
}

fn lock_ttl() -> Duration {
    std::env::var("GLUEPIPE_LOCK_TTL_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .map_or(LOCK_TTL, Duration::from_secs)
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_default()
}

/// Whether process `pid` of this host is gone (Linux: no `/proc/<pid>`). Elsewhere, unknown:
/// assume it lives.
fn process_is_gone(pid: u32) -> bool {
    std::path::Path::new("/proc/self").exists()
        && !std::path::Path::new(&format!("/proc/{pid}")).exists()
}

/// A process that holds something (the lock, a staging folder) until it expires.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Holder {
    pub run_id: String,
    pub host: String,
    pub pid: u32,
    pub acquired_at: u64,
    pub expires_at: u64,
}

impl Holder {
    /// This process, for `run_id`, until `ttl` from now.
    pub fn me(run_id: &str, ttl: Duration) -> Holder {
        let now = unix_now();
        Holder {
            run_id: run_id.to_string(),
            host: hostname(),
            pid: std::process::id(),
            acquired_at: now,
            expires_at: now + ttl.as_secs(),
        }
    }

    /// Expired, or its process is gone from this host.
    pub fn is_dead(&self) -> bool {
        self.expires_at <= unix_now() || (self.host == hostname() && process_is_gone(self.pid))
    }
}

/// The target's commit lock, held by this process until [`Lock::release`].
#[derive(Debug)]
pub struct Lock {
    store: Store,
    key: String,
}

impl Lock {
    /// Takes the lock of `store`'s target for `run_id`, or says who holds it.
    pub async fn acquire(store: &Store, run_id: &str) -> Result<Lock> {
        let held = Self::listed(store).await?;
        let next = match held.last() {
            None => 1,
            Some((n, key)) => {
                if let Some(h) = Self::live_holder(store, key).await? {
                    return Err(locked(store, &h));
                }
                n + 1
            }
        };
        let key = format!("{LOCK_DIR}/{next:010}.json");
        let me = Holder::me(run_id, lock_ttl());
        let body = serde_json::to_vec(&me).map_err(|e| StorageError::Invalid(e.to_string()))?;
        let at_once = || {
            StorageError::Conflict(format!(
                "another run took the commit lock of {} at the same moment; nothing of run \
                 {run_id} was published. Run it again once the other run has finished.",
                store.uri("")
            ))
        };
        if !store.put_if_absent(&key, body).await? {
            return Err(at_once());
        }
        let lock = Lock {
            store: store.clone(),
            key,
        };
        // Numbers are reused once locks are released, so a run that listed before another
        // released could create a number below a live lock: every other live lock means
        // someone else may hold it too, and this run backs off (both may; neither commits).
        for (_, other) in Self::listed(store).await? {
            if other == lock.key {
                continue;
            }
            match Self::live_holder(store, &other).await {
                Ok(None) => {
                    let _ = store.delete(&other).await;
                }
                Ok(Some(_)) | Err(_) => {
                    lock.release().await;
                    return Err(at_once());
                }
            }
        }
        Ok(lock)
    }

    /// The lock files, by number.
    async fn listed(store: &Store) -> Result<Vec<(u64, String)>> {
        let mut held: Vec<(u64, String)> = store
            .list(LOCK_DIR)
            .await?
            .into_iter()
            .filter_map(|o| {
                let name = o.key.rsplit('/').next()?;
                let n = name.strip_suffix(".json")?.parse().ok()?;
                Some((n, o.key))
            })
            .collect();
        held.sort();
        Ok(held)
    }

    /// Who holds lock file `key`, if it is alive (a released or unreadable one holds nothing).
    async fn live_holder(store: &Store, key: &str) -> Result<Option<Holder>> {
        match store.get_bytes(key).await {
            Ok(body) => Ok(serde_json::from_slice::<Holder>(&body)
                .ok()
                .filter(|h| !h.is_dead())),
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Whether this lock is still ours: its file exists and names us. A committer slower than
    /// the lock's lifetime may have been taken over; it must then stop before its next step.
    pub async fn still_held(&self) -> bool {
        self.store
            .head(&self.key)
            .await
            .is_ok_and(|meta| meta.is_some())
    }

    /// Releases the lock (best effort: a lock left behind expires).
    pub async fn release(self) {
        let _ = self.store.delete(&self.key).await;
    }
}

fn locked(store: &Store, h: &Holder) -> StorageError {
    let left = h.expires_at.saturating_sub(unix_now());
    StorageError::Conflict(format!(
        "{} is being committed to by run {} (host {:?}, process {}); only one run commits to a \
         target at a time, so nothing of this run was published. If that run was killed, its \
         lock expires in {left} s; run again then.",
        store.uri(""),
        h.run_id,
        h.host,
        h.pid
    ))
}

/// A commit in progress, written before anything becomes visible.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Intent {
    pub gluepipe_intent: u32,
    pub run_id: String,
    /// The run's files, still staged when the intent is written.
    pub files: Vec<StagedFile>,
    /// Keys of earlier runs' files this run replaces (`overwrite`).
    pub remove: Vec<String>,
    /// The manifest to write once the files are in place.
    pub manifest: serde_json::Value,
}

pub(crate) fn intent_key(run_id: &str) -> String {
    format!("{INTENT_DIR}/{run_id}.json")
}

pub(crate) fn manifest_key(run_id: &str) -> String {
    format!("{MANIFEST_DIR}/{run_id}.json")
}

/// The run ids with a manifest (committed) and with an intent (commit in progress) under
/// `store`'s target.
pub async fn run_ids(store: &Store) -> Result<(Vec<String>, Vec<String>)> {
    let ids = |listed: Vec<super::ObjectMeta>, dir: &str| -> Vec<String> {
        listed
            .into_iter()
            .filter_map(|o| {
                let name = o.key.strip_prefix(dir)?.strip_prefix('/')?;
                Some(name.strip_suffix(".json")?.to_string())
            })
            .filter(|id| !id.contains('/'))
            .collect()
    };
    let manifests = ids(store.list(MANIFEST_DIR).await?, MANIFEST_DIR);
    let intents = ids(store.list(INTENT_DIR).await?, INTENT_DIR);
    Ok((manifests, intents))
}

/// What recovery did with an intent a dead committer left.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Recovered {
    /// Every file is visible, the replaced files are gone, the manifest is written.
    RolledForward { run_id: String },
    /// A staged file was lost before it was published: the run's visible files were removed
    /// again and no manifest written (the run published nothing).
    RolledBack { run_id: String, lost: Vec<String> },
}

/// Completes every intent under `store` (call it holding the lock).
pub async fn recover(store: &Store) -> Result<Vec<Recovered>> {
    let (_, intents) = run_ids(store).await?;
    let mut done = Vec::new();
    for run_id in intents {
        let key = intent_key(&run_id);
        let body = match store.get_bytes(&key).await {
            Ok(body) => body,
            Err(e) if e.is_not_found() => continue,
            Err(e) => return Err(e),
        };
        let intent: Intent = serde_json::from_slice(&body)
            .map_err(|e| e.to_string())
            .and_then(|intent: Intent| check_intent(&intent, &run_id).map(|()| intent))
            .map_err(|e| {
                StorageError::Invalid(format!(
                    "{}: unusable commit intent ({e}); move it aside after checking the files \
                     it lists",
                    store.uri(&key)
                ))
            })?;
        // A run killed after its manifest left only the intent to tidy: nothing to report.
        done.extend(complete(store, &intent).await?);
        store.delete(&key).await?;
        remove_staging_of(store, &intent.files);
    }
    Ok(done)
}

/// An intent names only its own run and the target's data files: nothing under `_gluepipe/`
/// (manifests, locks, other runs' staging) may be published over or removed through one.
fn check_intent(intent: &Intent, file_run_id: &str) -> std::result::Result<(), String> {
    if intent.run_id != file_run_id {
        return Err(format!("it names run {:?}", intent.run_id));
    }
    let control = format!("{CONTROL_DIR}/");
    for key in intent
        .files
        .iter()
        .map(|f| f.key.as_str())
        .chain(intent.remove.iter().map(String::as_str))
    {
        super::check_key(key).map_err(|e| e.to_string())?;
        if key.starts_with(&control) {
            return Err(format!("{key} is one of gluepipe's own files"));
        }
    }
    for f in &intent.files {
        if let StagedAt::Local { staging_key } = &f.staged {
            let own = format!("{STAGING_DIR}/{file_run_id}");
            if !(staging_key.starts_with(&format!("{own}/"))
                || staging_key.starts_with(&format!("{own}.")))
            {
                return Err(format!("{staging_key} is not staged by this run"));
            }
        }
    }
    Ok(())
}

/// Rolls one intent forward, or back if one of its files can no longer be published.
async fn complete(store: &Store, intent: &Intent) -> Result<Option<Recovered>> {
    let run_id = intent.run_id.clone();
    if store.head(&manifest_key(&run_id)).await?.is_some() {
        return Ok(None);
    }
    let mut lost = Vec::new();
    let mut published = Vec::new();
    for file in &intent.files {
        let (written, pending) = file.to_pending(store)?;
        if store.head(&written.key).await?.is_none() {
            match publish_one(store, &written.key, &pending).await {
                Ok(()) => {}
                Err(e) if is_gone(&e) => {
                    lost.push(file.uri.clone());
                    continue;
                }
                Err(e) => return Err(e),
            }
        }
        published.push(written.key);
    }
    if !lost.is_empty() {
        // Files are published before any replaced file is removed, so taking the run back
        // leaves the target as it was before it.
        store.delete_many(&published).await?;
        return Ok(Some(Recovered::RolledBack { run_id, lost }));
    }
    store.delete_many(&intent.remove).await?;
    let body = serde_json::to_vec_pretty(&intent.manifest)
        .map_err(|e| StorageError::Invalid(e.to_string()))?;
    store.put_if_absent(&manifest_key(&run_id), body).await?;
    Ok(Some(Recovered::RolledForward { run_id }))
}

/// Removes the local staging folders `files` were staged in (what a recovered run left).
fn remove_staging_of(store: &Store, files: &[StagedFile]) {
    let Some(root) = store.local_root() else {
        return;
    };
    let mut folders: Vec<&str> = files
        .iter()
        .filter_map(|f| match &f.staged {
            StagedAt::Local { staging_key } => staging_key
                .strip_prefix(STAGING_DIR)?
                .strip_prefix('/')?
                .split('/')
                .next(),
            StagedAt::S3 { .. } => None,
        })
        .filter(|id| !id.is_empty() && *id != "." && *id != "..")
        .collect();
    folders.sort_unstable();
    folders.dedup();
    for id in folders {
        let _ = std::fs::remove_dir_all(root.join(STAGING_DIR).join(id));
    }
    let _ = std::fs::remove_dir(root.join(STAGING_DIR));
}

/// A staged file whose bytes are gone: a local file that is not there, an upload S3 no longer
/// knows (aborted, or expired by a lifecycle rule).
fn is_gone(err: &StorageError) -> bool {
    err.is_not_found() || err.to_string().contains("NoSuchUpload")
}
