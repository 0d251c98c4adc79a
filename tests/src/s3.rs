//! What a bucket on the emulator holds, for assertions.

use anyhow::Result;

/// The keys under `prefix` in `bucket`, sorted (the first page, enough for a test's objects).
pub async fn keys(s3: &aws_sdk_s3::Client, bucket: &str, prefix: &str) -> Result<Vec<String>> {
    let out = s3
        .list_objects_v2()
        .bucket(bucket)
        .prefix(prefix)
        .send()
        .await?;
    let mut keys: Vec<String> = out
        .contents()
        .iter()
        .filter_map(|o| o.key().map(str::to_owned))
        .collect();
    keys.sort();
    Ok(keys)
}

/// Keys of the multipart uploads in `bucket` neither completed nor aborted.
pub async fn pending_uploads(s3: &aws_sdk_s3::Client, bucket: &str) -> Result<Vec<String>> {
    let out = s3.list_multipart_uploads().bucket(bucket).send().await?;
    Ok(out
        .uploads()
        .iter()
        .filter_map(|u| u.key().map(str::to_owned))
        .collect())
}
