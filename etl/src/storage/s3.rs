//! The S3 side of [`super::Store`]: listing, HEAD, small reads and writes, batch deletes,
//! server-side copies and the multipart-upload bookkeeping that publish and cleanup need. The
//! streaming read-ahead and multipart writer live in [`super::reader`] and [`super::writer`].

use std::time::SystemTime;

use aws_sdk_s3::Client;
use aws_sdk_s3::config::http::HttpResponse;
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{Delete, ObjectIdentifier};
use gluepipe_spec::S3Uri;
use tokio::runtime::Handle;

use super::store::ObjectMeta;
use super::{Result, StorageError};

/// S3's limit on keys per DeleteObjects request.
const DELETE_BATCH: usize = 1000;

/// A bucket and prefix, with the client and the runtime its blocking readers and writers use.
#[derive(Debug, Clone)]
pub(crate) struct S3Backend {
    pub client: Client,
    /// `key` is a prefix: empty or ending in `/`.
    pub root: S3Uri,
    pub handle: Handle,
}

/// A multipart upload that was started and neither completed nor aborted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PendingUpload {
    /// Relative to the store's root.
    pub key: String,
    pub upload_id: String,
    pub initiated: Option<SystemTime>,
}

impl S3Backend {
    pub fn new(client: Client, root: S3Uri, handle: Handle) -> Self {
        S3Backend {
            client,
            root,
            handle,
        }
    }

    pub fn sub(&self, folder: &str) -> S3Backend {
        S3Backend {
            root: S3Uri {
                bucket: self.root.bucket.clone(),
                key: format!("{}{folder}/", self.root.key),
            },
            ..self.clone()
        }
    }

    pub fn bucket(&self) -> &str {
        &self.root.bucket
    }

    pub fn full_key(&self, key: &str) -> String {
        format!("{}{key}", self.root.key)
    }

    pub fn uri(&self, key: &str) -> String {
        format!("s3://{}/{}", self.root.bucket, self.full_key(key))
    }

    pub async fn list(&self, folder: &str) -> Result<Vec<ObjectMeta>> {
        let prefix = self.full_key(folder);
        let uri = format!("s3://{}/{prefix}", self.root.bucket);
        let mut pages = self
            .client
            .list_objects_v2()
            .bucket(self.bucket())
            .prefix(&prefix)
            .into_paginator()
            .send();
        let mut out = Vec::new();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| {
                let bucket_missing = e.as_service_error().is_some_and(|s| s.is_no_such_bucket());
                if bucket_missing {
                    StorageError::failed(
                        "list",
                        uri.clone(),
                        format!("bucket '{}' does not exist", self.bucket()),
                    )
                } else {
                    sdk_error("list", &uri, e)
                }
            })?;
            for object in page.contents() {
                let Some(full) = object.key() else { continue };
                // "Folder" marker objects that consoles create are not data.
                if full.ends_with('/') {
                    continue;
                }
                let Some(key) = full.strip_prefix(&self.root.key) else {
                    continue;
                };
                out.push(ObjectMeta {
                    key: key.to_string(),
                    size: u64::try_from(object.size().unwrap_or(0)).unwrap_or(0),
                    etag: object.e_tag().map(str::to_string),
                    modified: object
                        .last_modified()
                        .and_then(|t| SystemTime::try_from(*t).ok()),
                });
            }
        }
        Ok(out)
    }

    pub async fn head(&self, key: &str) -> Result<Option<ObjectMeta>> {
        let result = self
            .client
            .head_object()
            .bucket(self.bucket())
            .key(self.full_key(key))
            .send()
            .await;
        match result {
            Ok(out) => Ok(Some(ObjectMeta {
                key: key.to_string(),
                size: u64::try_from(out.content_length().unwrap_or(0)).unwrap_or(0),
                etag: out.e_tag().map(str::to_string),
                modified: out
                    .last_modified()
                    .and_then(|t| SystemTime::try_from(*t).ok()),
            })),
            Err(e) if http_status(&e) == Some(404) => Ok(None),
            Err(e) => Err(sdk_error("stat", &self.uri(key), e)),
        }
    }

    pub async fn get_bytes(&self, key: &str) -> Result<Vec<u8>> {
        let uri = self.uri(key);
        let out = self
            .client
            .get_object()
            .bucket(self.bucket())
            .key(self.full_key(key))
            .send()
            .await
            .map_err(|e| {
                if http_status(&e) == Some(404) {
                    StorageError::NotFound { uri: uri.clone() }
                } else {
                    sdk_error("read", &uri, e)
                }
            })?;
        let body = out
            .body
            .collect()
            .await
            .map_err(|e| StorageError::failed("read", &uri, e))?;
        Ok(body.into_bytes().to_vec())
    }

    pub async fn put_bytes(&self, key: &str, data: Vec<u8>) -> Result<()> {
        self.client
            .put_object()
            .bucket(self.bucket())
            .key(self.full_key(key))
            .body(ByteStream::from(data))
            .send()
            .await
            .map_err(|e| sdk_error("write", &self.uri(key), e))?;
        Ok(())
    }

    /// Writes `key` only if no object has it (`If-None-Match: *`): `false` when one does, or
    /// when another writer's conditional write of it is in flight (409).
    pub async fn put_if_absent(&self, key: &str, data: Vec<u8>) -> Result<bool> {
        let result = self
            .client
            .put_object()
            .bucket(self.bucket())
            .key(self.full_key(key))
            .if_none_match("*")
            .body(ByteStream::from(data))
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(e) if matches!(http_status(&e), Some(412 | 409)) => Ok(false),
            Err(e) => Err(sdk_error("create", &self.uri(key), e)),
        }
    }

    pub async fn delete_many(&self, keys: &[String]) -> Result<()> {
        for batch in keys.chunks(DELETE_BATCH) {
            let ids = batch
                .iter()
                .map(|k| ObjectIdentifier::builder().key(self.full_key(k)).build())
                .collect::<std::result::Result<Vec<_>, _>>()
                .map_err(|e| StorageError::failed("delete", self.uri(&batch[0]), e))?;
            let delete = Delete::builder()
                .set_objects(Some(ids))
                .quiet(true)
                .build()
                .map_err(|e| StorageError::failed("delete", self.uri(&batch[0]), e))?;
            let out = self
                .client
                .delete_objects()
                .bucket(self.bucket())
                .delete(delete)
                .send()
                .await
                .map_err(|e| sdk_error("delete", &self.uri(&batch[0]), e))?;
            if let Some(err) = out.errors().first() {
                let key = err.key().unwrap_or_default();
                return Err(StorageError::failed(
                    "delete",
                    format!("s3://{}/{key}", self.bucket()),
                    format!(
                        "{} {}",
                        err.code().unwrap_or("error"),
                        err.message().unwrap_or_default()
                    ),
                ));
            }
        }
        Ok(())
    }

    /// Server-side copy. CopyObject handles objects up to 5 GiB, far above our file sizes.
    pub async fn copy(&self, from: &str, to: &str) -> Result<()> {
        let source = format!(
            "{}/{}",
            self.bucket(),
            encode_copy_source(&self.full_key(from))
        );
        self.client
            .copy_object()
            .bucket(self.bucket())
            .key(self.full_key(to))
            .copy_source(source)
            .send()
            .await
            .map_err(|e| {
                let uri = format!("{} to {}", self.uri(from), self.uri(to));
                if http_status(&e) == Some(404) {
                    StorageError::NotFound { uri }
                } else {
                    sdk_error("copy", &uri, e)
                }
            })?;
        Ok(())
    }

    /// Multipart uploads in progress below `folder` (relative, `""` for all).
    pub async fn pending_uploads(&self, folder: &str) -> Result<Vec<PendingUpload>> {
        let prefix = self.full_key(folder);
        let uri = format!("s3://{}/{prefix}", self.bucket());
        let mut out = Vec::new();
        let (mut key_marker, mut id_marker): (Option<String>, Option<String>) = (None, None);
        loop {
            let page = self
                .client
                .list_multipart_uploads()
                .bucket(self.bucket())
                .prefix(&prefix)
                .set_key_marker(key_marker.take())
                .set_upload_id_marker(id_marker.take())
                .send()
                .await
                .map_err(|e| sdk_error("list uploads", &uri, e))?;
            for upload in page.uploads() {
                let (Some(full), Some(id)) = (upload.key(), upload.upload_id()) else {
                    continue;
                };
                let Some(key) = full.strip_prefix(&self.root.key) else {
                    continue;
                };
                out.push(PendingUpload {
                    key: key.to_string(),
                    upload_id: id.to_string(),
                    initiated: upload
                        .initiated()
                        .and_then(|t| SystemTime::try_from(*t).ok()),
                });
            }
            if page.is_truncated() != Some(true) {
                break;
            }
            key_marker = page.next_key_marker().map(str::to_string);
            id_marker = page.next_upload_id_marker().map(str::to_string);
            if key_marker.is_none() && id_marker.is_none() {
                break;
            }
        }
        Ok(out)
    }

    /// Aborts a multipart upload; one already gone is not an error.
    pub async fn abort_upload(&self, key: &str, upload_id: &str) -> Result<()> {
        let result = self
            .client
            .abort_multipart_upload()
            .bucket(self.bucket())
            .key(self.full_key(key))
            .upload_id(upload_id)
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(e) if http_status(&e) == Some(404) => Ok(()),
            Err(e) => Err(sdk_error("abort upload", &self.uri(key), e)),
        }
    }
}

/// The HTTP status of a failed request, if the request got as far as a response.
pub(crate) fn http_status<E>(err: &SdkError<E, HttpResponse>) -> Option<u16> {
    err.raw_response().map(|r| r.status().as_u16())
}

/// An SDK error as code and message, or its causes (the SDK's own `Display` says only
/// "service error", and its `DisplayErrorContext` appends a `Debug` dump).
pub(crate) fn sdk_error<E>(op: &'static str, uri: &str, err: E) -> StorageError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    StorageError::failed(op, uri, gluepipe_spec::aws_error::describe(&err))
}

/// `CopySource` is `bucket/key` with the key URL-encoded (S3 decodes it); `/` stays literal.
fn encode_copy_source(key: &str) -> String {
    let mut out = String::with_capacity(key.len());
    for byte in key.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~' | b'/') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copy_source_is_url_encoded_except_slashes() {
        let cases = [
            ("a/b.parquet", "a/b.parquet"),
            (
                "day=2024-01-01/x y.parquet",
                "day%3D2024-01-01/x%20y.parquet",
            ),
            ("ünï/%", "%C3%BCn%C3%AF/%25"),
            ("", ""),
        ];
        for (key, want) in cases {
            assert_eq!(encode_copy_source(key), want, "{key}");
        }
    }
}
