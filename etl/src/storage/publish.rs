//! The [`Publisher`]: collects a run's output files, held back until the run commits, and
//! commits them with the target's commit protocol ([`super::commit`]): a failed or killed run
//! leaves nothing visible, a successful one makes all its files visible, then (for `overwrite`)
//! removes the files earlier runs published, and writes its manifest last.
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
//! `overwrite` removes only files that earlier manifests of the target list: anything else
//! under the target (another tool's files, a README) is never touched.

use std::collections::HashSet;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime};

use aws_sdk_s3::primitives::{DateTime, DateTimeFormat};
use futures::{StreamExt, TryStreamExt, stream};
use gluepipe_spec::pipeline::WriteMode;
use serde_json::json;

use super::blocking::block_on;
use super::commit::{
    CONCURRENCY, Holder, INTENT_DIR, Intent, LOCK_DIR, Lock, Recovered, crash_point, discard_all,
    discard_local, discard_one, intent_key, manifest_key, publish_one, recover, run_ids,
};
pub use super::commit::{CONTROL_DIR, MANIFEST_DIR, STAGING_DIR, StagedAt, StagedFile};
use super::s3::PendingUpload;
use super::store::{Backend, Store};
use super::writer::{ObjectWriter, Pending, Staging, WrittenObject};
use super::{Result, StorageError, check_key};

/// Staging older than this is abandoned whatever its mark says: Glue's longest job timeout
/// (48 hours), so a run in progress is never swept.
pub const SWEEP_AGE: Duration = Duration::from_secs(48 * 3600);

/// The mark of a local staging folder's process.
const OWNER_FILE: &str = ".owner.json";

/// What a successful commit did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Published {
    /// The run's files, now visible, sorted by key.
    pub files: Vec<WrittenObject>,
    /// Earlier files removed by `overwrite`, as full locations.
    pub removed: Vec<String>,
    /// The manifest's full location.
    pub manifest: String,
    /// Commits of killed runs this commit completed first.
    pub recovered: Vec<Recovered>,
}

fn lock_lost(store: &Store, run_id: &str) -> StorageError {
    StorageError::Conflict(format!(
        "run {run_id} held the commit lock of {} longer than it lasts and another run took it \
         over; it stops here",
        store.uri("")
    ))
}

fn reused(store: &Store, run_id: &str) -> StorageError {
    StorageError::RunIdUsed(format!(
        "run id {run_id} was already used for {}: its manifest or commit intent is in {}. A run \
         id is published once. If that run was killed while committing, its commit is completed \
         by the next run to the target: do not convert its inputs again; otherwise give a new \
         --run-id (or none, for a fresh one).",
        store.uri(""),
        store.uri(super::commit::CONTROL_DIR)
    ))
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
    /// The target's commits when the run began ([`begin`]); one committed since then by
    /// another run makes the commit refuse.
    base: Option<Base>,
    /// The inputs an incremental run converted, recorded in its manifest (`crate::ledger`).
    inputs: Option<serde_json::Value>,
}

/// The run ids a target had committed when a run began.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Base {
    pub manifests: Vec<String>,
    /// Commits of killed runs [`begin`] completed first (not part of a shard's state).
    #[serde(skip)]
    pub recovered: Vec<Recovered>,
}

impl Base {
    /// What every one of `bases` saw: a commit missing from any was concurrent with the run.
    pub fn common(bases: &[Base]) -> Option<Base> {
        let (first, rest) = bases.split_first()?;
        let manifests = first
            .manifests
            .iter()
            .filter(|id| rest.iter().all(|b| b.manifests.contains(id)))
            .cloned()
            .collect();
        Some(Base {
            manifests,
            recovered: Vec::new(),
        })
    }
}

/// Starts run `run_id` on `store`'s target: first completes what killed committers left (so
/// that the run plans from a target with no commit half done — an incremental run would
/// otherwise take their inputs again), then refuses a run id the target already committed (or
/// is committing), and returns the target's commits so that the commit can tell whether another
/// run committed meanwhile ([`Publisher::with_base`]). An intent whose committer is alive (it
/// holds the lock) is left to it: its manifest then makes this run's commit refuse.
pub async fn begin(store: &Store, run_id: &str) -> Result<Base> {
    let (_, intents) = run_ids(store).await?;
    let mut recovered = Vec::new();
    if !intents.is_empty() {
        if let Ok(lock) = Lock::acquire(store, run_id).await {
            let done = recover(store).await;
            lock.release().await;
            recovered = done?;
        }
    }
    let (manifests, intents) = run_ids(store).await?;
    if manifests.iter().chain(&intents).any(|id| id == run_id) {
        return Err(reused(store, run_id));
    }
    Ok(Base {
        manifests,
        recovered,
    })
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
            base: None,
            inputs: None,
        }
        .with_owner())
    }

    /// Marks a local staging folder with this process, so that the sweep of a later commit
    /// removes it once the process is gone (best effort: without the mark, age decides).
    fn with_owner(self) -> Publisher {
        if let Some(root) = self.store.local_root() {
            let folder = root.join(STAGING_DIR).join(&self.run_id);
            let me = Holder::me(&self.run_id, SWEEP_AGE);
            if let Ok(body) = serde_json::to_vec(&me) {
                let _ = std::fs::create_dir_all(&folder)
                    .and_then(|()| std::fs::write(folder.join(OWNER_FILE), body));
            }
        }
        self
    }

    /// The target's commits when the run began ([`begin`]): the commit refuses if another run
    /// committed since.
    pub fn with_base(mut self, base: Base) -> Publisher {
        self.base = Some(base);
        self
    }

    /// Records `inputs` in the manifest: the commit advances the target's ledger exactly when
    /// the run's files become visible.
    pub fn with_inputs(mut self, inputs: serde_json::Value) -> Publisher {
        self.inputs = Some(inputs);
        self
    }

    /// Ends this process's part of the run without publishing or discarding: returns the
    /// finished files, which stay staged (invisible) until a [`Publisher::resume`]d publisher
    /// commits or aborts them. Fails, discarding them, if a writer is still open.
    pub async fn detach(mut self) -> Result<Vec<StagedFile>> {
        let staged = self.close("hand over").await?;
        // The files wait for a merge in another process: only age may sweep them now.
        if let Some(root) = self.store.local_root() {
            let _ =
                std::fs::remove_file(root.join(STAGING_DIR).join(&self.run_id).join(OWNER_FILE));
        }
        staged
            .iter()
            .map(|(written, pending)| StagedFile::from_pending(&self.store, written, pending))
            .collect()
    }

    /// A publisher for `run_id` holding files other processes staged and detached, ready to
    /// commit or abort them all together. `staging_ids` names the local staging folders those
    /// processes used, removed when this publisher ends; `base` is what those processes saw of
    /// the target when they began ([`Base::common`]).
    pub fn resume(
        store: Store,
        run_id: &str,
        mode: WriteMode,
        files: Vec<StagedFile>,
        staging_ids: Vec<String>,
        base: Option<Base>,
    ) -> Result<Publisher> {
        let mut publisher = Publisher::new(store, run_id, mode)?;
        publisher.staging_ids.extend(staging_ids);
        publisher.base = base;
        for file in files {
            let (written, pending) = file.to_pending(&publisher.store)?;
            publisher.ledger.claim(&written.key, &publisher.store)?;
            publisher.ledger.adopt(written, pending);
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
        let reserved = [STAGING_DIR, MANIFEST_DIR, INTENT_DIR, LOCK_DIR];
        if reserved
            .iter()
            .any(|dir| key.starts_with(&format!("{dir}/")))
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

    /// Commits the run with the target's commit protocol ([`super::commit`]): takes the lock,
    /// completes what dead committers left, records the intent, makes every finished file
    /// visible, removes the files earlier runs published if overwriting, then writes the
    /// manifest (`extra` is stored in it under `"run"`). Refuses, leaving nothing of this run
    /// visible, if a writer is still open, another run holds the lock or committed since
    /// [`begin`], or a file cannot be published. An error after the files became
    /// visible says so: the intent stays, and the next commit to the target completes it.
    pub async fn commit(mut self, extra: serde_json::Value) -> Result<Published> {
        let staged = self.close("publish").await?;
        crash_point("lock");
        let lock = match Lock::acquire(&self.store, &self.run_id).await {
            Ok(lock) => lock,
            Err(e) => {
                self.discard(staged).await;
                return Err(e);
            }
        };
        crash_point("locked");
        let result = self.commit_locked(&lock, staged, extra).await;
        lock.release().await;
        result
    }

    async fn commit_locked(
        &self,
        lock: &Lock,
        staged: Vec<(WrittenObject, Pending)>,
        extra: serde_json::Value,
    ) -> Result<Published> {
        let prepared = self.prepare_intent(&staged, extra).await;
        let (intent, recovered) = match prepared {
            Ok(ready) => ready,
            Err(e) => {
                self.discard(staged).await;
                return Err(e);
            }
        };
        if !lock.still_held().await {
            self.discard(staged).await;
            return Err(lock_lost(&self.store, &self.run_id));
        }
        let body =
            serde_json::to_vec_pretty(&intent).map_err(|e| StorageError::Invalid(e.to_string()));
        let recorded = match body {
            Ok(body) => {
                self.store
                    .put_if_absent(&intent_key(&self.run_id), body)
                    .await
            }
            Err(e) => Err(e),
        };
        match recorded {
            Ok(true) => {}
            Ok(false) => {
                self.discard(staged).await;
                return Err(reused(&self.store, &self.run_id));
            }
            Err(e) => {
                self.discard(staged).await;
                return Err(e);
            }
        }
        crash_point("intent");

        let mut files: Vec<WrittenObject> = staged.iter().map(|(w, _)| w.clone()).collect();
        files.sort_by(|a, b| a.key.cmp(&b.key));
        if let Err(e) = self.make_visible(staged).await {
            if matches!(e, StorageError::Unfinished(_)) {
                return Err(e);
            }
            // Nothing of the run is visible again: the intent has nothing left to complete.
            let _ = self.store.delete(&intent_key(&self.run_id)).await;
            return Err(e);
        }
        self.remove_local_staging();
        crash_point("published");

        let half_done = |what: &str, e: StorageError| {
            StorageError::Unfinished(format!(
                "run {run} made its files visible in {target}, but {what} failed: {e}. The \
                 commit is recorded in {intent}; the next run to this target completes it \
                 before doing anything else.",
                run = self.run_id,
                target = self.store.uri(""),
                intent = self.store.uri(&intent_key(&self.run_id)),
            ))
        };
        if !lock.still_held().await {
            return Err(half_done(
                "it lost the commit lock",
                lock_lost(&self.store, &self.run_id),
            ));
        }
        self.remove(&intent.remove)
            .await
            .map_err(|e| half_done("removing the files it replaces", e))?;
        crash_point("removed");
        let manifest = manifest_key(&self.run_id);
        let body = serde_json::to_vec_pretty(&intent.manifest)
            .map_err(|e| StorageError::Invalid(e.to_string()))?;
        match self.store.put_if_absent(&manifest, body).await {
            Ok(true) => {}
            Ok(false) => {
                return Err(half_done(
                    "writing its manifest",
                    reused(&self.store, &self.run_id),
                ));
            }
            Err(e) => return Err(half_done("writing its manifest", e)),
        }
        crash_point("manifest");
        // The manifest is the commit point: an intent left now is only tidied by the next run.
        let _ = self.store.delete(&intent_key(&self.run_id)).await;
        Ok(Published {
            files,
            removed: intent.remove.iter().map(|k| self.store.uri(k)).collect(),
            manifest: self.store.uri(&manifest),
            recovered,
        })
    }

    /// Under the lock, before anything is visible: completes dead committers' intents, refuses
    /// a reused run id or a commit made since the run began, and builds this run's intent.
    async fn prepare_intent(
        &self,
        staged: &[(WrittenObject, Pending)],
        extra: serde_json::Value,
    ) -> Result<(Intent, Vec<Recovered>)> {
        let recovered = recover(&self.store).await?;
        // What killed runs left staged (and no intent names) is invisible; tidy it while no
        // one else commits.
        let own: HashSet<&str> = staged
            .iter()
            .filter_map(|(_, p)| match p {
                Pending::S3 { upload_id, .. } => Some(upload_id.as_str()),
                Pending::Local { .. } => None,
            })
            .collect();
        let _ = sweep(&self.store, SWEEP_AGE, &own).await;
        let (manifests, _) = run_ids(&self.store).await?;
        if manifests.contains(&self.run_id) {
            return Err(reused(&self.store, &self.run_id));
        }
        if let Some(base) = &self.base {
            let concurrent: Vec<&String> = manifests
                .iter()
                .filter(|id| !base.manifests.contains(id))
                .collect();
            if let Some(other) = concurrent.first() {
                return Err(StorageError::Conflict(format!(
                    "run {other} committed to {} while run {} was running, so this run's \
                     output was not published (it could duplicate or undo that run's rows). \
                     Nothing of run {} is visible; run it again.",
                    self.store.uri(""),
                    self.run_id,
                    self.run_id
                )));
            }
        }
        let new_keys: HashSet<&str> = staged.iter().map(|(w, _)| w.key.as_str()).collect();
        let (remove, replaces) = match self.mode {
            WriteMode::Append => (Vec::new(), Vec::new()),
            WriteMode::Overwrite => {
                let earlier = self.published_files(&manifests).await?;
                let replaces: Vec<String> = earlier.iter().map(|(id, _)| id.clone()).collect();
                let mut remove: Vec<String> = earlier
                    .into_iter()
                    .flat_map(|(_, keys)| keys)
                    .filter(|k| !new_keys.contains(k.as_str()))
                    .collect();
                remove.sort();
                remove.dedup();
                (remove, replaces)
            }
        };
        let mut files: Vec<StagedFile> = staged
            .iter()
            .map(|(w, p)| StagedFile::from_pending(&self.store, w, p))
            .collect::<Result<_>>()?;
        files.sort_by(|a, b| a.key.cmp(&b.key));
        let mut manifest = json!({
            "gluepipe_manifest": 2,
            "run_id": self.run_id,
            "write_mode": match self.mode { WriteMode::Append => "append", WriteMode::Overwrite => "overwrite" },
            "committed_at": now_rfc3339(),
            "files": files.iter().map(|f| json!({"path": f.uri, "key": f.key, "bytes": f.bytes})).collect::<Vec<_>>(),
            "removed": remove.iter().map(|k| self.store.uri(k)).collect::<Vec<_>>(),
            "replaces": replaces,
            "run": extra,
        });
        if let Some(inputs) = &self.inputs {
            manifest["inputs"] = inputs.clone();
        }
        let intent = Intent {
            gluepipe_intent: 1,
            run_id: self.run_id.clone(),
            files,
            remove,
            manifest,
        };
        Ok((intent, recovered))
    }

    /// The files of every manifest not replaced by a later overwrite, by run id: what the
    /// target holds of gluepipe's, and all an overwrite may remove.
    async fn published_files(&self, manifests: &[String]) -> Result<Vec<(String, Vec<String>)>> {
        let store = &self.store;
        let read: Vec<(String, serde_json::Value)> = stream::iter(manifests)
            .map(|id| async move {
                let key = manifest_key(id);
                let body = store.get_bytes(&key).await?;
                let manifest = serde_json::from_slice(&body).map_err(|e| {
                    StorageError::Invalid(format!(
                        "{}: unreadable manifest ({e}); an overwrite cannot tell which files \
                         it replaces",
                        store.uri(&key)
                    ))
                })?;
                Ok::<_, StorageError>((id.clone(), manifest))
            })
            .buffer_unordered(CONCURRENCY)
            .try_collect()
            .await?;
        let replaced: HashSet<&str> = read
            .iter()
            .flat_map(|(_, m)| m["replaces"].as_array().into_iter().flatten())
            .filter_map(serde_json::Value::as_str)
            .collect();
        let mut live: Vec<(String, Vec<String>)> = read
            .iter()
            .filter(|(id, _)| !replaced.contains(id.as_str()))
            .map(|(id, m)| {
                let keys = m["files"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|f| f["key"].as_str())
                    .filter(|k| check_key(k).is_ok() && !k.starts_with(&format!("{CONTROL_DIR}/")))
                    .map(str::to_string)
                    .collect();
                (id.clone(), keys)
            })
            .collect();
        live.sort();
        Ok(live)
    }

    /// Removes replaced files in batches (a test hook may stop after the first).
    async fn remove(&self, keys: &[String]) -> Result<()> {
        for (i, batch) in keys.chunks(1000).enumerate() {
            if i > 0 {
                crash_point("removing");
            }
            self.store.delete_many(batch).await?;
        }
        Ok(())
    }

    async fn discard(&self, staged: Vec<(WrittenObject, Pending)>) {
        discard_all(&self.store, staged).await;
        self.remove_local_staging();
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
                if result.is_ok() {
                    crash_point("publishing");
                }
                (written, pending, result)
            })
            .buffer_unordered(CONCURRENCY)
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
        // A committer slower than its lock may have been taken over, and the run that took it
        // completed this commit (its manifest exists): the files are published, leave them.
        if store
            .head(&manifest_key(&self.run_id))
            .await
            .ok()
            .flatten()
            .is_some()
        {
            return Err(StorageError::Unfinished(format!(
                "run {} lost its commit lock while publishing and another run completed its \
                 commit ({}); its files are published — do not run it again",
                self.run_id,
                store.uri(&manifest_key(&self.run_id))
            )));
        }
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

    /// Removes what killed runs left behind under `store`: local staging folders whose process
    /// is gone (same host) or that are older than `older_than`, and S3 multipart uploads of
    /// gluepipe's output files (`part-…`) started more than `older_than` ago — never another
    /// tool's uploads. Returns how many it removed. Each commit sweeps with [`SWEEP_AGE`].
    pub async fn sweep_abandoned(store: &Store, older_than: Duration) -> Result<usize> {
        sweep(store, older_than, &HashSet::new()).await
    }
}

/// [`Publisher::sweep_abandoned`], sparing the S3 uploads `own` names (the committing run's).
async fn sweep(store: &Store, older_than: Duration, own: &HashSet<&str>) -> Result<usize> {
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
                let owner_gone = std::fs::read(entry.path().join(OWNER_FILE))
                    .ok()
                    .and_then(|b| serde_json::from_slice::<Holder>(&b).ok())
                    .is_some_and(|h| h.is_dead());
                if (old || owner_gone) && std::fs::remove_dir_all(entry.path()).is_ok() {
                    removed += 1;
                }
            }
        }
        Backend::S3(s3) => {
            let uploads = s3.pending_uploads("").await?.into_iter().filter(|u| {
                let name = u.key.rsplit('/').next().unwrap_or_default();
                name.starts_with("part-") && name.ends_with(".parquet")
            });
            let uploads = uploads.filter(|u| !own.contains(u.upload_id.as_str()));
            for upload in abandoned(uploads.collect(), cutoff) {
                s3.abort_upload(&upload.key, &upload.upload_id).await?;
                removed += 1;
            }
        }
    }
    Ok(removed)
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

    /// Commits `keys` as run `run_id` (each file holding its own name).
    async fn publish_run(dir: &std::path::Path, run_id: &str, mode: WriteMode, keys: &[&str]) {
        let mut publisher = Publisher::new(Store::local(dir), run_id, mode).unwrap();
        publisher.base = Some(begin(&Store::local(dir), run_id).await.unwrap());
        for key in keys {
            write(&publisher, key, key.as_bytes());
        }
        publisher.commit(serde_json::Value::Null).await.unwrap();
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn overwrite_removes_only_what_earlier_runs_published_after_the_new_files_are_in() {
        let dir = tempfile::tempdir().unwrap();
        seed(
            dir.path(),
            &[
                ("README.md", "another team's notes"),
                ("other/data.parquet", "not ours"),
                ("_gluepipe/dq/history.json", "[]"),
                // A first-release manifest: no `replaces`, files by key.
                (
                    "_gluepipe/manifests/run-0.json",
                    r#"{"files": [{"key": "day=0/old.parquet"}, {"key": "../escape"}]}"#,
                ),
                ("day=0/old.parquet", "old"),
            ],
        );
        publish_run(
            dir.path(),
            "run-1",
            WriteMode::Append,
            &["day=1/a.parquet", "day=9/b.parquet"],
        )
        .await;
        let store = Store::local(dir.path());
        let publisher = Publisher::new(store.clone(), "run-2", WriteMode::Overwrite)
            .unwrap()
            .with_base(begin(&store, "run-2").await.unwrap());
        write(&publisher, "day=1/new.parquet", b"new");
        assert_eq!(
            visible(dir.path()),
            [
                "README.md",
                "day=0/old.parquet",
                "day=1/a.parquet",
                "day=9/b.parquet",
                "other/data.parquet"
            ],
            "old data intact before commit"
        );
        let published = publisher.commit(serde_json::Value::Null).await.unwrap();
        assert_eq!(
            visible(dir.path()),
            ["README.md", "day=1/new.parquet", "other/data.parquet"],
            "foreign files are never removed"
        );
        assert!(
            !dir.path().join("day=9").exists(),
            "emptied partition folder removed"
        );
        assert_eq!(published.removed.len(), 3);
        assert_eq!(
            files_under(&dir.path().join("_gluepipe")),
            [
                "dq/history.json",
                "manifests/run-0.json",
                "manifests/run-1.json",
                "manifests/run-2.json"
            ],
            "gluepipe's own files survive overwrite; no lock, intent or staging is left"
        );
        let manifest: serde_json::Value = serde_json::from_slice(
            &std::fs::read(dir.path().join("_gluepipe/manifests/run-2.json")).unwrap(),
        )
        .unwrap();
        assert_eq!(manifest["replaces"], json!(["run-0", "run-1"]));

        // A second overwrite replaces only run-2: runs it replaced are not read again.
        publish_run(dir.path(), "run-3", WriteMode::Overwrite, &["x.parquet"]).await;
        let manifest: serde_json::Value = serde_json::from_slice(
            &std::fs::read(dir.path().join("_gluepipe/manifests/run-3.json")).unwrap(),
        )
        .unwrap();
        assert_eq!(manifest["replaces"], json!(["run-2"]));
        assert_eq!(
            visible(dir.path()),
            ["README.md", "other/data.parquet", "x.parquet"]
        );
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn a_published_run_id_cannot_be_used_again() {
        let dir = tempfile::tempdir().unwrap();
        publish_run(dir.path(), "run-1", WriteMode::Append, &["a.parquet"]).await;
        let store = Store::local(dir.path());
        let err = begin(&store, "run-1").await.unwrap_err();
        assert!(matches!(err, StorageError::RunIdUsed(_)), "{err}");
        assert!(
            err.to_string().contains("run id run-1 was already used"),
            "{err}"
        );
        // Without `begin`, the commit itself refuses, and publishes nothing.
        let publisher = Publisher::new(store, "run-1", WriteMode::Append).unwrap();
        write(&publisher, "b.parquet", b"b");
        let err = publisher.commit(serde_json::Value::Null).await.unwrap_err();
        assert!(err.to_string().contains("already used"), "{err}");
        assert_eq!(visible(dir.path()), ["a.parquet"]);
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn a_commit_made_while_a_run_ran_makes_it_refuse() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::local(dir.path());
        publish_run(dir.path(), "run-0", WriteMode::Append, &["zero.parquet"]).await;
        let overwrite = Publisher::new(store.clone(), "slow", WriteMode::Overwrite)
            .unwrap()
            .with_base(begin(&store, "slow").await.unwrap());
        write(&overwrite, "slow.parquet", b"s");
        // An append commits while the overwrite is still converting.
        publish_run(dir.path(), "fast", WriteMode::Append, &["fast.parquet"]).await;
        let err = overwrite.commit(serde_json::Value::Null).await.unwrap_err();
        assert!(matches!(err, StorageError::Conflict(_)), "{err}");
        assert!(err.to_string().contains("run fast committed"), "{err}");
        assert_eq!(
            visible(dir.path()),
            ["fast.parquet", "zero.parquet"],
            "the append survives, nothing of the overwrite is visible"
        );
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn a_live_lock_refuses_and_a_dead_one_is_taken_over() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::local(dir.path());
        let held = Lock::acquire(&store, "holder").await.unwrap();
        let publisher = Publisher::new(store.clone(), "second", WriteMode::Append).unwrap();
        write(&publisher, "second.parquet", b"s");
        let err = publisher.commit(serde_json::Value::Null).await.unwrap_err();
        assert!(
            err.to_string()
                .contains("is being committed to by run holder"),
            "{err}"
        );
        assert!(visible(dir.path()).is_empty());
        held.release().await;

        // A lock whose process is gone (this host) is taken over at once; an expired one too.
        let dead = Holder {
            pid: u32::MAX - 1,
            ..Holder::me("killed", Duration::from_secs(3600))
        };
        let expired = Holder {
            expires_at: 1,
            ..Holder::me("expired", Duration::ZERO)
        };
        for (n, holder) in [(7, dead), (8, expired)] {
            seed(
                dir.path(),
                &[(
                    &format!("{LOCK_DIR}/{n:010}.json"),
                    &serde_json::to_string(&holder).unwrap(),
                )],
            );
            publish_run(
                dir.path(),
                &format!("after-{n}"),
                WriteMode::Append,
                &[&format!("{n}.parquet")],
            )
            .await;
        }
        assert_eq!(visible(dir.path()), ["7.parquet", "8.parquet"]);
        assert!(!dir.path().join(LOCK_DIR).exists(), "released and tidied");
    }

    /// Stages `keys` as run `run_id` and leaves the intent a committer killed right after
    /// writing it would leave (nothing visible yet), with `published` of them already visible.
    async fn killed_commit(
        dir: &std::path::Path,
        run_id: &str,
        keys: &[&str],
        remove: &[&str],
        published: usize,
    ) {
        let store = Store::local(dir);
        let publisher = Publisher::new(store.clone(), run_id, WriteMode::Overwrite).unwrap();
        for key in keys {
            write(&publisher, key, key.as_bytes());
        }
        let mut files = publisher.detach().await.unwrap();
        files.sort_by(|a, b| a.key.cmp(&b.key));
        for f in &files[..published] {
            let (w, p) = f.to_pending(&store).unwrap();
            publish_one(&store, &w.key, &p).await.unwrap();
        }
        let intent = Intent {
            gluepipe_intent: 1,
            run_id: run_id.into(),
            files,
            remove: remove.iter().map(|k| k.to_string()).collect(),
            manifest: json!({"run_id": run_id, "files": keys.iter().map(|k| json!({"key": k})).collect::<Vec<_>>()}),
        };
        store
            .put_bytes(&intent_key(run_id), serde_json::to_vec(&intent).unwrap())
            .await
            .unwrap();
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn the_next_commit_rolls_a_killed_one_forward_first() {
        let dir = tempfile::tempdir().unwrap();
        publish_run(
            dir.path(),
            "old",
            WriteMode::Append,
            &["old-1.parquet", "old-2.parquet"],
        )
        .await;
        killed_commit(
            dir.path(),
            "killed",
            &["k-1.parquet", "k-2.parquet", "k-3.parquet"],
            &["old-1.parquet", "old-2.parquet"],
            1,
        )
        .await;
        assert_eq!(
            visible(dir.path()),
            ["k-1.parquet", "old-1.parquet", "old-2.parquet"],
            "old and new rows mixed while the intent is pending"
        );
        let store = Store::local(dir.path());
        let next = Publisher::new(store.clone(), "next", WriteMode::Append).unwrap();
        write(&next, "n.parquet", b"n");
        let published = next.commit(serde_json::Value::Null).await.unwrap();
        assert_eq!(
            published.recovered,
            [Recovered::RolledForward {
                run_id: "killed".into()
            }]
        );
        assert_eq!(
            visible(dir.path()),
            ["k-1.parquet", "k-2.parquet", "k-3.parquet", "n.parquet"]
        );
        assert_eq!(
            files_under(&dir.path().join("_gluepipe")),
            [
                "manifests/killed.json",
                "manifests/next.json",
                "manifests/old.json"
            ],
            "intent and staging of the killed run are gone"
        );
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn a_killed_commit_whose_staged_file_is_lost_is_taken_back() {
        let dir = tempfile::tempdir().unwrap();
        publish_run(dir.path(), "old", WriteMode::Append, &["old.parquet"]).await;
        killed_commit(
            dir.path(),
            "killed",
            &["k-1.parquet", "k-2.parquet"],
            &["old.parquet"],
            1,
        )
        .await;
        std::fs::remove_file(dir.path().join("_gluepipe/staging/killed/k-2.parquet")).unwrap();
        let next = Publisher::new(Store::local(dir.path()), "next", WriteMode::Append).unwrap();
        write(&next, "n.parquet", b"n");
        let published = next.commit(serde_json::Value::Null).await.unwrap();
        assert!(
            matches!(&published.recovered[..], [Recovered::RolledBack { run_id, lost }] if run_id == "killed" && lost.len() == 1),
            "{:?}",
            published.recovered
        );
        assert_eq!(
            visible(dir.path()),
            ["n.parquet", "old.parquet"],
            "as before the killed run"
        );
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn a_manifest_that_cannot_be_written_says_the_files_are_visible_and_is_completed_later() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::local(dir.path());
        let publisher = Publisher::new(store.clone(), "run-m", WriteMode::Append).unwrap();
        write(&publisher, "a.parquet", b"a");
        // Something in the way of the manifest (a folder by its name).
        std::fs::create_dir_all(dir.path().join("_gluepipe/manifests/run-m.json")).unwrap();
        let err = publisher.commit(serde_json::Value::Null).await.unwrap_err();
        assert!(matches!(err, StorageError::Unfinished(_)), "{err}");
        assert!(err.to_string().contains("made its files visible"), "{err}");
        assert!(err.to_string().contains("intents/run-m.json"), "{err}");
        assert_eq!(visible(dir.path()), ["a.parquet"]);

        std::fs::remove_dir(dir.path().join("_gluepipe/manifests/run-m.json")).unwrap();
        publish_run(dir.path(), "next", WriteMode::Append, &["b.parquet"]).await;
        assert_eq!(
            files_under(&dir.path().join("_gluepipe")),
            ["manifests/next.json", "manifests/run-m.json"]
        );
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn a_lock_created_below_a_live_one_backs_off() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::local(dir.path());
        // Lock 1 is live (another run made it after locks were released); lock 2 is dead.
        let live = Holder::me("other", Duration::from_secs(3600));
        let dead = Holder {
            expires_at: 1,
            ..Holder::me("dead", Duration::ZERO)
        };
        for (n, h) in [(1, &live), (2, &dead)] {
            seed(
                dir.path(),
                &[(
                    &format!("{LOCK_DIR}/{n:010}.json"),
                    &serde_json::to_string(h).unwrap(),
                )],
            );
        }
        let err = Lock::acquire(&store, "me").await.unwrap_err();
        assert!(err.to_string().contains("at the same moment"), "{err}");
        assert!(
            files_under(&dir.path().join(LOCK_DIR)).contains(&"0000000001.json".to_string()),
            "the live lock is kept"
        );
        assert!(
            !dir.path().join(LOCK_DIR).join("0000000003.json").exists(),
            "ours is released"
        );
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn a_crafted_intent_cannot_remove_gluepipe_files_or_other_runs_staging() {
        let dir = tempfile::tempdir().unwrap();
        publish_run(dir.path(), "good", WriteMode::Append, &["g.parquet"]).await;
        let store = Store::local(dir.path());
        for (name, intent) in [
            (
                "evil",
                json!({"gluepipe_intent": 1, "run_id": "evil", "files": [], "manifest": {},
                       "remove": ["_gluepipe/manifests/good.json"]}),
            ),
            (
                "liar",
                json!({"gluepipe_intent": 1, "run_id": "someone-else", "files": [],
                       "manifest": {}, "remove": []}),
            ),
        ] {
            store
                .put_bytes(&intent_key(name), serde_json::to_vec(&intent).unwrap())
                .await
                .unwrap();
            let err = recover(&store).await.unwrap_err();
            assert!(err.to_string().contains("unusable commit intent"), "{err}");
            store.delete(&intent_key(name)).await.unwrap();
        }
        assert!(dir.path().join("_gluepipe/manifests/good.json").exists());
        assert_eq!(visible(dir.path()), ["g.parquet"]);
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn the_sweep_removes_staging_of_gone_processes_only() {
        let dir = tempfile::tempdir().unwrap();
        let gone = Holder {
            pid: u32::MAX - 1,
            ..Holder::me("gone", SWEEP_AGE)
        };
        seed(
            dir.path(),
            &[
                ("_gluepipe/staging/gone/part.parquet", "x"),
                (
                    "_gluepipe/staging/gone/.owner.json",
                    &serde_json::to_string(&gone).unwrap(),
                ),
                // A shard's detached files wait for their merge: no mark, young.
                ("_gluepipe/staging/run.0123456789abcdef/part.parquet", "y"),
            ],
        );
        let live = Publisher::new(Store::local(dir.path()), "live", WriteMode::Append).unwrap();
        write(&live, "live.parquet", b"l");
        assert_eq!(
            Publisher::sweep_abandoned(&Store::local(dir.path()), SWEEP_AGE)
                .await
                .unwrap(),
            1
        );
        assert_eq!(
            files_under(&dir.path().join(STAGING_DIR)),
            [
                "live/.owner.json",
                "live/live.parquet",
                "run.0123456789abcdef/part.parquet"
            ]
        );
        live.commit(serde_json::Value::Null).await.unwrap();
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
