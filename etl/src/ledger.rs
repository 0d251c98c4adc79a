//! The ledger of an incremental target: which input objects its committed runs converted.
//!
//! An incremental run's manifest lists its inputs (`"inputs"`: location, size, version — the
//! S3 ETag, or the local modification time), so the ledger advances exactly when the run's
//! data becomes visible: in one object, the commit point (see `storage::commit`). A failed,
//! killed or refused run writes no manifest, and the next run takes its inputs again; a
//! commit a killed run left half done is completed, manifest and inputs included, before the
//! next run plans. A run converts the inputs the ledger does not hold.
//!
//! Reading every manifest would cost more with each run, so after each incremental commit a
//! checkpoint (`_gluepipe/ledger/checkpoint.json`) folds the manifests it covers into one
//! object. It is derived data: a missing, stale or unreadable checkpoint only means more
//! manifests are read, never a wrong answer.
//!
//! An input rewritten after a run converted it (another size or version under the same name)
//! is not converted again — its earlier rows are published, and converting it again would
//! publish them twice — but reported by name in the summary and the run record.

use std::collections::{BTreeMap, BTreeSet};
use std::time::UNIX_EPOCH;

use anyhow::{Context, Result};
use futures::{StreamExt, TryStreamExt, stream};
use serde::{Deserialize, Serialize};

use crate::storage::commit::{MANIFEST_DIR, run_ids};
use crate::storage::{InputFile, Store};

/// The checkpoint's key under the target.
pub const CHECKPOINT: &str = "_gluepipe/ledger/checkpoint.json";

/// One converted input, as a manifest records it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    pub uri: String,
    pub size: u64,
    /// S3 ETag, or local modification time in nanoseconds since the epoch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
}

impl Entry {
    pub fn of(file: &InputFile) -> Entry {
        let version = file.object.etag.clone().or_else(|| {
            file.object
                .modified
                .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
                .map(|d| d.as_nanos().to_string())
        });
        Entry {
            uri: file.uri(),
            size: file.size(),
            version,
        }
    }
}

/// What a run converted, by input location, with the run that did.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Ledger {
    /// Run ids whose manifests are folded in.
    pub covers: BTreeSet<String>,
    pub inputs: BTreeMap<String, Converted>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Converted {
    pub run_id: String,
    pub size: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
}

/// How a source's inputs split against the ledger.
#[derive(Debug, Default)]
pub struct Split {
    pub new: Vec<InputFile>,
    /// Already converted, unchanged.
    pub done: usize,
    /// Converted before, changed since: `(location, run that converted it)`.
    pub changed: Vec<(String, String)>,
}

/// Manifests read at once when folding them in.
const CONCURRENCY: usize = 16;

impl Ledger {
    /// The target's ledger: its checkpoint, plus every committed manifest the checkpoint does
    /// not cover yet.
    pub async fn load(store: &Store) -> Result<Ledger> {
        let mut ledger: Ledger = match store.get_bytes(CHECKPOINT).await {
            Ok(body) => serde_json::from_slice(&body).unwrap_or_default(),
            Err(e) if e.is_not_found() => Ledger::default(),
            Err(e) => return Err(e.into()),
        };
        let (manifests, _) = run_ids(store).await?;
        let missing: Vec<String> = manifests
            .into_iter()
            .filter(|id| !ledger.covers.contains(id))
            .collect();
        let read: Vec<(String, Vec<Entry>)> = stream::iter(missing)
            .map(|id| async move {
                let key = format!("{MANIFEST_DIR}/{id}.json");
                let body = store.get_bytes(&key).await?;
                let manifest: serde_json::Value = serde_json::from_slice(&body)
                    .with_context(|| format!("{}: unreadable manifest", store.uri(&key)))?;
                let inputs = match manifest.get("inputs") {
                    Some(v) => serde_json::from_value(v.clone()).with_context(|| {
                        format!("{}: unreadable list of inputs", store.uri(&key))
                    })?,
                    None => Vec::new(),
                };
                Ok::<_, anyhow::Error>((id, inputs))
            })
            .buffer_unordered(CONCURRENCY)
            .try_collect()
            .await?;
        for (id, inputs) in read {
            ledger.add(&id, inputs);
        }
        Ok(ledger)
    }

    /// Folds in what run `run_id` converted.
    pub fn add(&mut self, run_id: &str, inputs: Vec<Entry>) {
        for e in inputs {
            self.inputs.insert(
                e.uri,
                Converted {
                    run_id: run_id.to_string(),
                    size: e.size,
                    version: e.version,
                },
            );
        }
        self.covers.insert(run_id.to_string());
    }

    /// Which of `files` no committed run converted.
    pub fn split(&self, files: &[InputFile]) -> Split {
        let mut split = Split::default();
        for file in files {
            let entry = Entry::of(file);
            match self.inputs.get(&entry.uri) {
                None => split.new.push(file.clone()),
                Some(c) if c.size == entry.size && c.version == entry.version => split.done += 1,
                Some(c) => split.changed.push((entry.uri, c.run_id.clone())),
            }
        }
        split
    }

    /// Writes the checkpoint (best effort: a stale one only costs reads).
    pub async fn save(&self, store: &Store) {
        if let Ok(body) = serde_json::to_vec(self) {
            let _ = store.put_bytes(CHECKPOINT, body).await;
        }
    }
}
