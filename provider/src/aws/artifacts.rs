//! The pipeline's S3 artifacts: the spec JSON, the launcher script and the ETL binary, all in
//! one folder per pipeline (`s3://<bucket>/<prefix><name>/`).
//!
//! The launcher and the binary are content-addressed (their SHA-256 is in the key), so an
//! object that exists is already right and is never uploaded again; the spec has a fixed key
//! and is compared by content. Each object carries its SHA-256 and, for a binary given as
//! `runtime.etl_binary`, that path (import reads it back) as user metadata; a binary the provider
//! found beside itself records no path. Every object also names the pipeline instance that wrote
//! it ([`META_INSTANCE`]), and delete removes only objects that are that instance's, by key.

use aws_sdk_s3::Client;
use aws_sdk_s3::primitives::ByteStream;
use gluepipe_spec::S3Uri;

use super::error::{AwsError, OptionalExt};
use crate::pipeline::expand::{LAUNCHER_SCRIPT, sha256_hex};

/// A missing bucket is a missing object: refresh sees drift, delete has nothing to do.
const NOT_FOUND: &[&str] = &["NotFound", "NoSuchKey", "NoSuchBucket"];
/// User metadata keys (S3 lower-cases them; they come back as `x-amz-meta-…`).
pub const META_SHA256: &str = "gluepipe-sha256";
pub const META_SOURCE: &str = "gluepipe-source";
pub const META_INSTANCE: &str = "gluepipe-instance";

/// `HeadObject`: the object's user metadata; a missing object is [`AwsError::NotFound`].
pub async fn find_object(
    s3: &Client,
    uri: &S3Uri,
) -> Result<std::collections::HashMap<String, String>, AwsError> {
    let out = s3
        .head_object()
        .bucket(&uri.bucket)
        .key(&uri.key)
        .send()
        .await
        .map_err(|e| AwsError::from_sdk(format!("reading S3 Object ({uri})"), NOT_FOUND, e))?;
    Ok(out.metadata().cloned().unwrap_or_default())
}

/// The object's content as text.
pub async fn get_text(s3: &Client, uri: &S3Uri) -> Result<String, AwsError> {
    let context = || format!("reading S3 Object ({uri})");
    let out = s3
        .get_object()
        .bucket(&uri.bucket)
        .key(&uri.key)
        .send()
        .await
        .map_err(|e| AwsError::from_sdk(context(), NOT_FOUND, e))?;
    let bytes = out
        .body
        .collect()
        .await
        .map_err(|e| AwsError::local(context(), e.to_string()))?
        .into_bytes();
    String::from_utf8(bytes.to_vec())
        .map_err(|_| AwsError::local(context(), "the object is not UTF-8 text"))
}

async fn put(
    s3: &Client,
    uri: &S3Uri,
    body: Vec<u8>,
    source: Option<&str>,
    owner: &str,
) -> Result<(), AwsError> {
    let mut request = s3
        .put_object()
        .bucket(&uri.bucket)
        .key(&uri.key)
        .metadata(META_SHA256, sha256_hex(&body))
        .metadata(META_INSTANCE, owner)
        .body(ByteStream::from(body));
    if let Some(source) = source {
        request = request.metadata(META_SOURCE, source);
    }
    request
        .send()
        .await
        .map(|_| ())
        .map_err(|e| AwsError::from_sdk(format!("uploading S3 Object ({uri})"), &[], e))
}

/// Uploads the spec unless the object already holds the same spec with `owner`'s marker.
pub async fn ensure_spec(
    s3: &Client,
    uri: &S3Uri,
    spec_json: &str,
    owner: &str,
) -> Result<bool, AwsError> {
    let marked = find_object(s3, uri)
        .await
        .optional()?
        .is_some_and(|m| m.get(META_INSTANCE).map(String::as_str) == Some(owner));
    if marked
        && get_text(s3, uri)
            .await
            .optional()?
            .is_some_and(|current| same_spec(&current, spec_json))
    {
        return Ok(false);
    }
    put(s3, uri, spec_json.as_bytes().to_vec(), None, owner).await?;
    Ok(true)
}

/// Same pipeline, whatever the formatting.
fn same_spec(a: &str, b: &str) -> bool {
    match (
        gluepipe_spec::PipelineSpec::from_json(a),
        gluepipe_spec::PipelineSpec::from_json(b),
    ) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}

/// Uploads the launcher unless its content-addressed key exists with `owner`'s marker.
pub async fn ensure_launcher(s3: &Client, uri: &S3Uri, owner: &str) -> Result<bool, AwsError> {
    if owned_by(s3, uri, owner).await? {
        return Ok(false);
    }
    put(s3, uri, LAUNCHER_SCRIPT.as_bytes().to_vec(), None, owner).await?;
    Ok(true)
}

/// Uploads the local ETL binary to its content-addressed key unless that exists. The file must
/// still hash to `sha256`, the value planned (a rebuilt binary needs a new plan). `source`, the
/// configured path, is kept on the object for import.
pub async fn ensure_binary(
    s3: &Client,
    uri: &S3Uri,
    local_path: &str,
    sha256: &str,
    source: Option<&str>,
    owner: &str,
) -> Result<bool, AwsError> {
    if owned_by(s3, uri, owner).await? {
        return Ok(false);
    }
    let context = || format!("uploading the ETL binary {local_path} to {uri}");
    let body = tokio::fs::read(local_path)
        .await
        .map_err(|e| AwsError::local(context(), e.to_string()))?;
    let actual = sha256_hex(&body);
    if actual != sha256 {
        return Err(AwsError::local(
            context(),
            format!(
                "the file changed since the plan (SHA-256 {actual}, planned {sha256}); run terraform plan again"
            ),
        ));
    }
    put(s3, uri, body, source, owner).await?;
    Ok(true)
}

/// Whether the object exists and carries `owner`'s marker (an unmarked one, from a release
/// before the marker, is written again with it).
async fn owned_by(s3: &Client, uri: &S3Uri, owner: &str) -> Result<bool, AwsError> {
    Ok(find_object(s3, uri)
        .await
        .optional()?
        .is_some_and(|m| m.get(META_INSTANCE).map(String::as_str) == Some(owner)))
}

/// The instance an object's metadata names.
pub fn marker(metadata: &std::collections::HashMap<String, String>) -> Option<String> {
    metadata.get(META_INSTANCE).cloned()
}

/// Deletes the object at `uri` if it is `me`'s (see [`crate::pipeline::ownership::is_mine`]);
/// a missing object or bucket is success. Returns whether it was left as another's.
pub async fn delete_owned(s3: &Client, uri: &S3Uri, me: Option<&str>) -> Result<bool, AwsError> {
    let Some(metadata) = find_object(s3, uri).await.optional()? else {
        return Ok(false);
    };
    if !crate::pipeline::ownership::is_mine(me, marker(&metadata).as_deref()) {
        return Ok(true);
    }
    delete_object(s3, uri).await?;
    Ok(false)
}

/// Deletes one object; a missing one is success (S3's own semantics).
pub async fn delete_object(s3: &Client, uri: &S3Uri) -> Result<(), AwsError> {
    s3.delete_object()
        .bucket(&uri.bucket)
        .key(&uri.key)
        .send()
        .await
        .map(|_| ())
        .map_err(|e| AwsError::from_sdk(format!("deleting S3 Object ({uri})"), NOT_FOUND, e))
        .optional()
        .map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_compare_by_content() {
        let a =
            r#"{"name":"o","source":{"paths":["s3://bbb/x/"]},"target":{"path":"s3://bbb/y/"}}"#;
        let b = "{\n \"target\": {\"path\": \"s3://bbb/y/\", \"compression\": \"snappy\"},\n \"name\": \"o\", \"source\": {\"paths\": [\"s3://bbb/x/\"]}}";
        assert!(same_spec(a, b), "defaults and formatting do not matter");
        assert!(!same_spec(a, &a.replace("y/", "z/")));
        assert!(!same_spec(a, "garbage"));
    }
}
