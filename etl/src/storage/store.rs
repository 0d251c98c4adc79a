//! [`Store`]: a folder on the local file system or a prefix in an S3 bucket, addressed by
//! relative keys. Control-plane calls (list, head, small reads and writes, delete, copy) are
//! async; reads and writes of data are blocking `Read`/`Write` objects (see [`super::reader`] and
//! [`super::writer`]) because the decode and Parquet stages are synchronous.

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use gluepipe_spec::{Location, S3Uri};
use tokio::runtime::Handle;

use super::aws::AwsClients;
use super::reader::{ObjectReader, ReadOptions};
use super::s3::S3Backend;
use super::writer::{ObjectWriter, WriteOptions};
use super::{Result, StorageError, check_key, local};

/// One stored object (file), as listed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectMeta {
    /// Relative to the store's root, `/`-separated.
    pub key: String,
    pub size: u64,
    /// S3's ETag; reads pin it so an object replaced mid-read fails instead of mixing versions.
    pub etag: Option<String>,
    pub modified: Option<SystemTime>,
}

/// A folder or S3 prefix. Cloning is cheap (the S3 client is shared).
#[derive(Debug, Clone)]
pub struct Store {
    root: Location,
    backend: Backend,
    read: ReadOptions,
    write: WriteOptions,
}

#[derive(Debug, Clone)]
pub(crate) enum Backend {
    Local(PathBuf),
    S3(S3Backend),
}

impl Store {
    /// A store rooted at a local folder (which need not exist yet).
    pub fn local(root: impl Into<PathBuf>) -> Store {
        let root = root.into();
        Store {
            root: Location::Local(root.clone()),
            backend: Backend::Local(root),
            read: ReadOptions::default(),
            write: WriteOptions::default(),
        }
    }

    /// A store rooted at an S3 prefix. Must be called inside a tokio runtime: the blocking
    /// readers and writers it hands out run their requests there.
    pub fn s3(client: aws_sdk_s3::Client, uri: &S3Uri) -> Result<Store> {
        let handle = Handle::try_current().map_err(|_| {
            StorageError::Invalid(format!(
                "opening {uri} needs a tokio runtime (internal error)"
            ))
        })?;
        let root = S3Uri {
            bucket: uri.bucket.clone(),
            key: uri.prefix(),
        };
        Ok(Store {
            root: Location::S3(root.clone()),
            backend: Backend::S3(S3Backend::new(client, root, handle)),
            read: ReadOptions::default(),
            write: WriteOptions::default(),
        })
    }

    /// The store for a location: local, or S3 with a client from `aws`.
    pub async fn at(location: &Location, aws: &AwsClients) -> Result<Store> {
        match location {
            Location::Local(path) => Ok(Store::local(path.clone())),
            Location::S3(uri) => Store::s3(aws.s3().await, uri),
        }
    }

    /// The store of the folder holding one object, and the object's name in it: where a whole
    /// file named by a full location (`--results`, a run's rejects file) is read or written.
    pub async fn for_object(path: &str, aws: &AwsClients) -> Result<(Store, String)> {
        let location = Location::parse(path).map_err(|e| StorageError::Invalid(format!("{e}")))?;
        let (parent, name) = match &location {
            Location::Local(p) => {
                let name = p.file_name().map(|n| n.to_string_lossy().into_owned());
                let parent = p.parent().filter(|d| !d.as_os_str().is_empty());
                (
                    Location::Local(parent.map_or_else(|| ".".into(), |d| d.to_path_buf())),
                    name,
                )
            }
            Location::S3(uri) => {
                let (dir, name) = uri.key.rsplit_once('/').unwrap_or(("", uri.key.as_str()));
                let parent = S3Uri {
                    bucket: uri.bucket.clone(),
                    key: dir.to_string(),
                };
                (Location::S3(parent), Some(name.to_string()))
            }
        };
        match name.filter(|n| !n.is_empty()) {
            Some(name) => Ok((Store::at(&parent, aws).await?, name)),
            None => Err(StorageError::Invalid(format!("{path} names no file"))),
        }
    }

    pub fn with_read_options(mut self, read: ReadOptions) -> Store {
        self.read = read;
        self
    }

    pub fn with_write_options(mut self, write: WriteOptions) -> Store {
        self.write = write;
        self
    }

    /// The root as given (for S3, the key is normalised to a prefix ending in `/`).
    pub fn root(&self) -> &Location {
        &self.root
    }

    pub fn is_local(&self) -> bool {
        matches!(self.backend, Backend::Local(_))
    }

    /// The full location of `key`, for messages, run records and manifests.
    pub fn uri(&self, key: &str) -> String {
        self.location(key).to_string()
    }

    /// The full location of `key`.
    pub fn location(&self, key: &str) -> Location {
        match &self.backend {
            Backend::Local(root) => Location::Local(root.join(key)),
            Backend::S3(s3) => Location::S3(s3.root.join(key)),
        }
    }

    /// A store rooted at `folder` below this one.
    pub fn sub(&self, folder: &str) -> Result<Store> {
        let folder = folder.trim_end_matches('/');
        check_key(folder)?;
        let backend = match &self.backend {
            Backend::Local(root) => Backend::Local(root.join(folder)),
            Backend::S3(s3) => Backend::S3(s3.sub(folder)),
        };
        let root = match &backend {
            Backend::Local(path) => Location::Local(path.clone()),
            Backend::S3(s3) => Location::S3(s3.root.clone()),
        };
        Ok(Store {
            root,
            backend,
            read: self.read.clone(),
            write: self.write.clone(),
        })
    }

    /// Every object below `folder` (`""` for the whole store), recursively, sorted by key.
    /// A folder that does not exist lists as empty, as an S3 prefix does.
    pub async fn list(&self, folder: &str) -> Result<Vec<ObjectMeta>> {
        let folder = normalise_folder(folder)?;
        let mut objects = match &self.backend {
            Backend::Local(root) => {
                let root = root.clone();
                blocking(move || local::list(&root, &folder)).await?
            }
            Backend::S3(s3) => s3.list(&folder).await?,
        };
        objects.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(objects)
    }

    /// The object at `key`, or `None` if there is none.
    pub async fn head(&self, key: &str) -> Result<Option<ObjectMeta>> {
        check_key(key)?;
        match &self.backend {
            Backend::Local(root) => local::head(root, key),
            Backend::S3(s3) => s3.head(key).await,
        }
    }

    /// Opens `key` for streaming reads. S3 starts fetching at once, in the background.
    pub fn open(&self, key: &str) -> Result<ObjectReader> {
        check_key(key)?;
        ObjectReader::open(&self.backend, key, None, &self.read)
    }

    /// Like [`Store::open`], reusing the size and ETag from a listing (no HEAD request).
    pub fn open_object(&self, object: &ObjectMeta) -> Result<ObjectReader> {
        check_key(&object.key)?;
        ObjectReader::open(&self.backend, &object.key, Some(object), &self.read)
    }

    /// Creates `key` for streaming writes; it becomes visible only when
    /// [`ObjectWriter::finish`] succeeds, and dropping the writer first leaves nothing behind.
    pub fn create(&self, key: &str) -> Result<ObjectWriter> {
        check_key(key)?;
        ObjectWriter::create(&self.backend, key, &self.write, None)
    }

    /// Reads a whole (small) object: manifests, specs, metric history.
    pub async fn get_bytes(&self, key: &str) -> Result<Vec<u8>> {
        check_key(key)?;
        match &self.backend {
            Backend::Local(root) => {
                let path = root.join(key);
                std::fs::read(&path)
                    .map_err(|e| StorageError::io("read", path.display().to_string(), e))
            }
            Backend::S3(s3) => s3.get_bytes(key).await,
        }
    }

    /// Writes a whole (small) object atomically: readers see the old or the new content.
    pub async fn put_bytes(&self, key: &str, data: Vec<u8>) -> Result<()> {
        check_key(key)?;
        match &self.backend {
            Backend::Local(root) => local::put_bytes(root, key, &data),
            Backend::S3(s3) => s3.put_bytes(key, data).await,
        }
    }

    /// Creates `key` only if nothing has that name (a local hard link; S3 `If-None-Match: *`):
    /// `false`, writing nothing, when something does. The primitive of the commit protocol.
    pub async fn put_if_absent(&self, key: &str, data: Vec<u8>) -> Result<bool> {
        check_key(key)?;
        match &self.backend {
            Backend::Local(root) => local::put_if_absent(root, key, &data),
            Backend::S3(s3) => s3.put_if_absent(key, data).await,
        }
    }

    /// Deletes `key`; deleting what is not there is not an error.
    pub async fn delete(&self, key: &str) -> Result<()> {
        self.delete_many(&[key.to_string()]).await
    }

    /// Deletes many keys (S3: batches of 1000). Local folders left empty are removed too.
    pub async fn delete_many(&self, keys: &[String]) -> Result<()> {
        for key in keys {
            check_key(key)?;
        }
        match &self.backend {
            Backend::Local(root) => {
                let (root, keys) = (root.clone(), keys.to_vec());
                blocking(move || local::delete_many(&root, &keys)).await
            }
            Backend::S3(s3) => s3.delete_many(keys).await,
        }
    }

    /// Copies `from` to `to` within this store (S3: server-side).
    pub async fn copy(&self, from: &str, to: &str) -> Result<()> {
        check_key(from)?;
        check_key(to)?;
        match &self.backend {
            Backend::Local(root) => local::copy(root, from, to),
            Backend::S3(s3) => s3.copy(from, to).await,
        }
    }

    /// Moves `from` to `to`: a rename locally, copy-then-delete on S3.
    pub async fn rename(&self, from: &str, to: &str) -> Result<()> {
        check_key(from)?;
        check_key(to)?;
        match &self.backend {
            Backend::Local(root) => local::rename(root, from, to),
            Backend::S3(s3) => {
                s3.copy(from, to).await?;
                s3.delete_many(&[from.to_string()]).await
            }
        }
    }

    pub(crate) fn backend(&self) -> &Backend {
        &self.backend
    }

    pub(crate) fn write_options(&self) -> &WriteOptions {
        &self.write
    }

    pub(crate) fn local_root(&self) -> Option<&Path> {
        match &self.backend {
            Backend::Local(root) => Some(root),
            Backend::S3(_) => None,
        }
    }
}

/// `""` or a relative folder, returned with a trailing `/` (or empty).
fn normalise_folder(folder: &str) -> Result<String> {
    let trimmed = folder.trim_end_matches('/');
    if trimmed.is_empty() {
        return Ok(String::new());
    }
    check_key(trimmed)?;
    Ok(format!("{trimmed}/"))
}

/// Runs file-system work off the async workers.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> Result<T> + Send + 'static) -> Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| StorageError::Invalid(format!("file-system task failed: {e}")))?
}

#[cfg(test)]
pub(crate) mod tests {
    #![allow(clippy::unwrap_used)]
    use std::io::{Read, Write};

    use super::*;

    /// Every file below `dir`, relative, sorted.
    pub(crate) fn files_under(dir: &Path) -> Vec<String> {
        fn walk(base: &Path, dir: &Path, out: &mut Vec<String>) {
            for entry in std::fs::read_dir(dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    walk(base, &path, out);
                } else {
                    out.push(path.strip_prefix(base).unwrap().display().to_string());
                }
            }
        }
        let mut out = Vec::new();
        if dir.exists() {
            walk(dir, dir, &mut out);
        }
        out.sort();
        out
    }

    pub(crate) fn seed(root: &Path, files: &[(&str, &str)]) {
        for (name, body) in files {
            let path = root.join(name);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, body).unwrap();
        }
    }

    #[tokio::test]
    async fn lists_recursively_sorted_with_sizes() {
        let dir = tempfile::tempdir().unwrap();
        seed(
            dir.path(),
            &[
                ("b.json", "12"),
                ("a/x.json", "1"),
                ("a/b/y.json", "123"),
                ("_hidden", ""),
            ],
        );
        let store = Store::local(dir.path());
        let keys = |objects: Vec<ObjectMeta>| {
            objects
                .into_iter()
                .map(|o| (o.key, o.size))
                .collect::<Vec<_>>()
        };
        assert_eq!(
            keys(store.list("").await.unwrap()),
            [
                ("_hidden".into(), 0),
                ("a/b/y.json".into(), 3),
                ("a/x.json".into(), 1),
                ("b.json".into(), 2)
            ]
        );
        assert_eq!(
            keys(store.list("a").await.unwrap()),
            keys(store.list("a/").await.unwrap())
        );
        assert_eq!(
            keys(store.list("a/b").await.unwrap()),
            [("a/b/y.json".to_string(), 3)]
        );
        assert!(store.list("missing").await.unwrap().is_empty());
        assert!(
            Store::local(dir.path().join("nope"))
                .list("")
                .await
                .unwrap()
                .is_empty()
        );
        assert!(store.list("../x").await.is_err());
    }

    #[tokio::test]
    async fn rejects_bad_keys() {
        let store = Store::local("/tmp");
        for key in ["", "/abs", "a//b", "a/../b", "..", "./a", "a/", "a\\b"] {
            assert!(
                matches!(store.head(key).await, Err(StorageError::Invalid(_))),
                "{key:?}"
            );
            assert!(store.create(key).is_err(), "{key:?}");
        }
    }

    #[test]
    fn writes_become_visible_only_on_finish() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::local(dir.path());
        let mut writer = store.create("out/part-0.bin").unwrap();
        writer.write_all(b"hello ").unwrap();
        writer.write_all(b"world").unwrap();
        assert!(
            !dir.path().join("out/part-0.bin").exists(),
            "visible before finish"
        );
        let written = writer.finish().unwrap();
        assert_eq!(written.bytes, 11);
        assert_eq!(written.key, "out/part-0.bin");
        assert_eq!(
            std::fs::read(dir.path().join("out/part-0.bin")).unwrap(),
            b"hello world"
        );
        assert_eq!(
            files_under(dir.path()),
            ["out/part-0.bin"],
            "no temporary files left"
        );

        let mut reader = store.open("out/part-0.bin").unwrap();
        let mut text = String::new();
        reader.read_to_string(&mut text).unwrap();
        assert_eq!(text, "hello world");
    }

    #[test]
    fn dropped_or_aborted_writers_leave_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::local(dir.path());
        let mut dropped = store.create("a.bin").unwrap();
        dropped.write_all(&[7; 10_000]).unwrap();
        drop(dropped);
        let mut aborted = store.create("b.bin").unwrap();
        aborted.write_all(b"x").unwrap();
        aborted.abort();
        assert!(
            files_under(dir.path()).is_empty(),
            "{:?}",
            files_under(dir.path())
        );
    }

    #[tokio::test]
    async fn small_objects_copy_rename_delete() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::local(dir.path());
        store.put_bytes("m/one.json", b"{}".to_vec()).await.unwrap();
        assert_eq!(store.get_bytes("m/one.json").await.unwrap(), b"{}");
        assert_eq!(store.head("m/one.json").await.unwrap().unwrap().size, 2);
        assert!(store.head("m/none.json").await.unwrap().is_none());
        assert!(
            store
                .get_bytes("m/none.json")
                .await
                .unwrap_err()
                .is_not_found()
        );
        assert!(store.open("m/none.json").unwrap_err().is_not_found());

        store.copy("m/one.json", "c/two.json").await.unwrap();
        store.rename("c/two.json", "r/three.json").await.unwrap();
        assert!(!dir.path().join("c").exists(), "emptied folder removed");
        assert_eq!(store.get_bytes("r/three.json").await.unwrap(), b"{}");

        store
            .delete_many(&[
                "m/one.json".into(),
                "r/three.json".into(),
                "never.json".into(),
            ])
            .await
            .unwrap();
        assert!(files_under(dir.path()).is_empty());
        assert!(dir.path().exists(), "the root itself stays");
    }

    #[tokio::test]
    async fn sub_stores_and_uris() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::local(dir.path());
        let sub = store.sub("day=1/").unwrap();
        sub.put_bytes("x.json", b"1".to_vec()).await.unwrap();
        assert_eq!(store.list("").await.unwrap()[0].key, "day=1/x.json");
        assert_eq!(
            sub.uri("x.json"),
            dir.path().join("day=1/x.json").display().to_string()
        );
        assert!(store.sub("../up").is_err());
    }
}
