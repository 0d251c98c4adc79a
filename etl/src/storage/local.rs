//! The local file-system side of [`super::Store`]: recursive listing, atomic small writes,
//! deletes that tidy up empty folders, copy and rename. All synchronous.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use super::store::ObjectMeta;
use super::{Result, StorageError};

/// Deeper than this is taken for a symbolic-link loop.
const MAX_DEPTH: usize = 64;

pub(crate) fn list(root: &Path, folder: &str) -> Result<Vec<ObjectMeta>> {
    let start = root.join(folder);
    let mut out = Vec::new();
    match fs::metadata(&start) {
        Ok(meta) if meta.is_dir() => walk(&start, folder.trim_end_matches('/'), 0, &mut out)?,
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(StorageError::io("list", start.display().to_string(), e)),
    }
    Ok(out)
}

fn walk(dir: &Path, key_prefix: &str, depth: usize, out: &mut Vec<ObjectMeta>) -> Result<()> {
    let uri = || dir.display().to_string();
    if depth > MAX_DEPTH {
        return Err(StorageError::failed(
            "list",
            uri(),
            "folders nested too deep (a symbolic-link loop?)",
        ));
    }
    for entry in fs::read_dir(dir).map_err(|e| StorageError::io("list", uri(), e))? {
        let entry = entry.map_err(|e| StorageError::io("list", uri(), e))?;
        let name = entry.file_name();
        let name = name.to_str().ok_or_else(|| {
            StorageError::failed(
                "list",
                entry.path().display().to_string(),
                "file name is not UTF-8",
            )
        })?;
        let key = if key_prefix.is_empty() {
            name.to_string()
        } else {
            format!("{key_prefix}/{name}")
        };
        // Follows symbolic links, so a linked data folder lists like a real one.
        let meta = fs::metadata(entry.path())
            .map_err(|e| StorageError::io("list", entry.path().display().to_string(), e))?;
        if meta.is_dir() {
            walk(&entry.path(), &key, depth + 1, out)?;
        } else if meta.is_file() {
            out.push(ObjectMeta {
                key,
                size: meta.len(),
                etag: None,
                modified: meta.modified().ok(),
            });
        }
    }
    Ok(())
}

pub(crate) fn head(root: &Path, key: &str) -> Result<Option<ObjectMeta>> {
    let path = root.join(key);
    match fs::metadata(&path) {
        Ok(meta) if meta.is_file() => Ok(Some(ObjectMeta {
            key: key.to_string(),
            size: meta.len(),
            etag: None,
            modified: meta.modified().ok(),
        })),
        Ok(_) => Ok(None),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(StorageError::io("stat", path.display().to_string(), e)),
    }
}

/// A hidden temporary name next to `path`, unique within this process.
pub(crate) fn temp_sibling(path: &Path) -> PathBuf {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("object");
    path.with_file_name(format!(".{name}.gluepipe-{}-{n}.tmp", std::process::id()))
}

pub(crate) fn create_parent(path: &Path) -> Result<()> {
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent)
            .map_err(|e| StorageError::io("create folder", parent.display().to_string(), e))?;
    }
    Ok(())
}

pub(crate) fn put_bytes(root: &Path, key: &str, data: &[u8]) -> Result<()> {
    let path = root.join(key);
    let uri = path.display().to_string();
    create_parent(&path)?;
    let tmp = temp_sibling(&path);
    let written = (|| {
        let mut file = fs::File::create(&tmp)?;
        file.write_all(data)?;
        file.sync_all()?;
        fs::rename(&tmp, &path)
    })();
    if let Err(e) = written {
        let _ = fs::remove_file(&tmp);
        return Err(StorageError::io("write", uri, e));
    }
    Ok(())
}

/// Creates `key` with `data` only if it does not exist: written aside, then hard-linked into
/// place (`link` fails if the name is taken, and shows the whole content at once). `false` when
/// it exists.
pub(crate) fn put_if_absent(root: &Path, key: &str, data: &[u8]) -> Result<bool> {
    let path = root.join(key);
    let uri = path.display().to_string();
    create_parent(&path)?;
    let tmp = temp_sibling(&path);
    let linked = (|| {
        let mut file = fs::File::create(&tmp)?;
        file.write_all(data)?;
        file.sync_all()?;
        fs::hard_link(&tmp, &path)
    })();
    let _ = fs::remove_file(&tmp);
    match linked {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(false),
        Err(e) => Err(StorageError::io("create", uri, e)),
    }
}

pub(crate) fn delete_many(root: &Path, keys: &[String]) -> Result<()> {
    for key in keys {
        let path = root.join(key);
        match fs::remove_file(&path) {
            Ok(()) => remove_empty_parents(root, &path),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(StorageError::io("delete", path.display().to_string(), e)),
        }
    }
    Ok(())
}

/// Removes folders between `path` and `root` that are now empty (e.g. an old partition), so a
/// local target looks like the S3 one, where folders vanish with their last object.
pub(crate) fn remove_empty_parents(root: &Path, path: &Path) {
    let mut dir = path.parent();
    while let Some(d) = dir {
        if d == root || !d.starts_with(root) || fs::remove_dir(d).is_err() {
            break;
        }
        dir = d.parent();
    }
}

pub(crate) fn copy(root: &Path, from: &str, to: &str) -> Result<()> {
    let (src, dst) = (root.join(from), root.join(to));
    create_parent(&dst)?;
    let tmp = temp_sibling(&dst);
    if let Err(e) = fs::copy(&src, &tmp).and_then(|_| fs::rename(&tmp, &dst)) {
        let _ = fs::remove_file(&tmp);
        return Err(StorageError::io(
            "copy",
            format!("{} to {}", src.display(), dst.display()),
            e,
        ));
    }
    Ok(())
}

pub(crate) fn rename(root: &Path, from: &str, to: &str) -> Result<()> {
    let (src, dst) = (root.join(from), root.join(to));
    create_parent(&dst)?;
    fs::rename(&src, &dst).map_err(|e| {
        StorageError::io(
            "rename",
            format!("{} to {}", src.display(), dst.display()),
            e,
        )
    })?;
    remove_empty_parents(root, &src);
    Ok(())
}
