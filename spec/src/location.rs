//! Where data lives: an `s3://bucket/key` URI or a local path.
//!
//! Owns parsing and validating S3 URIs (bucket naming rules) so that the provider can reject a bad
//! URI at plan time and the ETL reads and writes exactly what was validated.

use std::fmt;
use std::path::PathBuf;

/// The characters that start a wildcard in a source path, as `gluepipe-etl` matches it (the
/// `glob` crate: `*`, `?` and `[…]`; braces are literal). One list, so that the provider cuts
/// IAM grants and scale-out listings exactly where the ETL starts matching.
pub const GLOB_CHARS: [char; 3] = ['*', '?', '['];

/// Where the first wildcard of `text` is, if it has one.
pub fn glob_start(text: &str) -> Option<usize> {
    text.find(GLOB_CHARS)
}

/// A validated S3 location. `key` has no leading slash and may be empty (the bucket root).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct S3Uri {
    pub bucket: String,
    pub key: String,
}

/// A data location: S3 or the local file system.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Location {
    S3(S3Uri),
    Local(PathBuf),
}

/// Why a location string was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid location {input:?}: {reason}")]
pub struct LocationError {
    pub input: String,
    pub reason: String,
}

/// The schemes that name S3 objects: `s3://`, and Hadoop's `s3a://` and `s3n://` (Glue tables
/// written by Spark or EMR often carry these). All three name the same objects; a parsed
/// location is always shown as `s3://`. This is the one place that decides it, for the
/// provider's plan-time checks and the ETL alike.
const S3_SCHEMES: [&str; 3] = ["s3://", "s3a://", "s3n://"];

/// The rest of `input` after an S3 scheme, if it has one.
fn strip_s3_scheme(input: &str) -> Option<&str> {
    S3_SCHEMES.iter().find_map(|s| input.strip_prefix(s))
}

impl S3Uri {
    /// Parses `s3://bucket[/key]` (or `s3a://`, `s3n://`), checking the bucket against S3's
    /// naming rules.
    pub fn parse(input: &str) -> Result<S3Uri, LocationError> {
        let err = |reason: &str| LocationError {
            input: input.to_string(),
            reason: reason.to_string(),
        };
        let rest = strip_s3_scheme(input)
            .ok_or_else(|| err("an S3 URI starts with s3:// (or s3a://, s3n://)"))?;
        let (bucket, key) = rest.split_once('/').unwrap_or((rest, ""));
        validate_bucket(bucket).map_err(|reason| err(&reason))?;
        if key.contains("//") {
            return Err(err("the key has an empty path segment ('//')"));
        }
        Ok(S3Uri {
            bucket: bucket.to_string(),
            key: key.to_string(),
        })
    }

    /// The key as a prefix ending in `/` (or empty for the bucket root): the form used for
    /// "everything under this folder" in IAM policies and listings.
    pub fn prefix(&self) -> String {
        if self.key.is_empty() || self.key.ends_with('/') {
            self.key.clone()
        } else {
            format!("{}/", self.key)
        }
    }

    /// A location below this one; `child` is appended after a `/`.
    pub fn join(&self, child: &str) -> S3Uri {
        S3Uri {
            bucket: self.bucket.clone(),
            key: format!("{}{}", self.prefix(), child),
        }
    }
}

impl fmt::Display for S3Uri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "s3://{}/{}", self.bucket, self.key)
    }
}

impl Location {
    /// `s3://…` (or `s3a://`, `s3n://`) is S3 (and must be valid); anything else that is not
    /// another URI scheme is a local path.
    pub fn parse(input: &str) -> Result<Location, LocationError> {
        if input.trim().is_empty() {
            return Err(LocationError {
                input: input.to_string(),
                reason: "empty location".into(),
            });
        }
        if strip_s3_scheme(input).is_some() {
            return S3Uri::parse(input).map(Location::S3);
        }
        if let Some((scheme, _)) = input.split_once("://") {
            return Err(LocationError {
                input: input.to_string(),
                reason: format!("unsupported scheme '{scheme}://' (use s3:// or a local path)"),
            });
        }
        Ok(Location::Local(PathBuf::from(input)))
    }

    /// The folder beside this one, named as this one plus `suffix`: `s3://b/orders/` →
    /// `s3://b/orders<suffix>/`, `out` → `out<suffix>`; `None` where there is none (a bucket
    /// root, `/`, `.`).
    pub fn sibling(&self, suffix: &str) -> Option<Location> {
        match self {
            Location::S3(uri) => {
                let key = uri.key.trim_end_matches('/');
                (!key.is_empty()).then(|| {
                    Location::S3(S3Uri {
                        bucket: uri.bucket.clone(),
                        key: format!("{key}{suffix}/"),
                    })
                })
            }
            Location::Local(path) => {
                let mut name = path.file_name()?.to_os_string();
                name.push(suffix);
                Some(Location::Local(path.with_file_name(name)))
            }
        }
    }

    pub fn as_s3(&self) -> Option<&S3Uri> {
        match self {
            Location::S3(uri) => Some(uri),
            Location::Local(_) => None,
        }
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Location::S3(uri) => uri.fmt(f),
            Location::Local(path) => write!(f, "{}", path.display()),
        }
    }
}

/// S3's general-purpose bucket naming rules.
fn validate_bucket(bucket: &str) -> Result<(), String> {
    if bucket.is_empty() {
        return Err("missing bucket name".into());
    }
    if !(3..=63).contains(&bucket.len()) {
        return Err(format!(
            "bucket name '{bucket}' must be 3 to 63 characters long"
        ));
    }
    if !bucket
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '.' || c == '-')
    {
        return Err(format!(
            "bucket name '{bucket}' may only contain lower-case letters, digits, '.' and '-'"
        ));
    }
    let edge_ok = |c: Option<char>| c.is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    if !edge_ok(bucket.chars().next()) || !edge_ok(bucket.chars().last()) {
        return Err(format!(
            "bucket name '{bucket}' must begin and end with a letter or digit"
        ));
    }
    if bucket.contains("..") {
        return Err(format!("bucket name '{bucket}' must not contain '..'"));
    }
    if bucket.split('.').count() == 4 && bucket.split('.').all(|p| p.parse::<u8>().is_ok()) {
        return Err(format!(
            "bucket name '{bucket}' must not look like an IP address"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn parses_s3_uris() {
        let uri = S3Uri::parse("s3://my-bucket/curated/orders/").unwrap();
        assert_eq!(uri.bucket, "my-bucket");
        assert_eq!(uri.key, "curated/orders/");
        assert_eq!(uri.prefix(), "curated/orders/");
        assert_eq!(S3Uri::parse("s3://my-bucket").unwrap().prefix(), "");
        assert_eq!(S3Uri::parse("s3://my-bucket/a").unwrap().prefix(), "a/");
        assert_eq!(
            S3Uri::parse("s3://b.c-d/x")
                .unwrap()
                .join("y.json")
                .to_string(),
            "s3://b.c-d/x/y.json"
        );
    }

    #[test]
    fn rejects_bad_s3_uris() {
        let cases = [
            ("s3:/bucket/x", "starts with s3://"),
            ("s3://", "missing bucket"),
            ("s3://ab/x", "3 to 63"),
            ("s3://My_Bucket/x", "lower-case"),
            ("s3://-bucket/x", "begin and end"),
            ("s3://a..b/x", "'..'"),
            ("s3://192.168.1.1/x", "IP address"),
            ("s3://bucket/a//b", "empty path segment"),
        ];
        for (input, reason) in cases {
            let err = S3Uri::parse(input).unwrap_err();
            assert!(err.reason.contains(reason), "{input}: {err}");
        }
    }

    #[test]
    fn classifies_locations() {
        assert!(matches!(
            Location::parse("s3://bucket/x").unwrap(),
            Location::S3(_)
        ));
        assert!(matches!(
            Location::parse("data/in.json").unwrap(),
            Location::Local(_)
        ));
        assert!(
            Location::parse("gs://bucket/x")
                .unwrap_err()
                .reason
                .contains("unsupported scheme")
        );
        assert!(Location::parse(" ").is_err());
    }

    #[test]
    fn hadoop_schemes_name_the_same_objects() {
        for input in [
            "s3://bucket/raw/x/",
            "s3a://bucket/raw/x/",
            "s3n://bucket/raw/x/",
        ] {
            let Location::S3(uri) = Location::parse(input).unwrap() else {
                panic!("{input} is S3");
            };
            assert_eq!(uri.to_string(), "s3://bucket/raw/x/", "{input}");
        }
        let err = Location::parse("s3a://My_Bucket/x").unwrap_err();
        assert!(err.reason.contains("lower-case"), "{err}");
    }

    #[test]
    fn siblings() {
        let sibling = |l: &str| {
            Location::parse(l)
                .unwrap()
                .sibling("_q")
                .map(|s| s.to_string())
        };
        assert_eq!(
            sibling("s3://bkt/orders/").as_deref(),
            Some("s3://bkt/orders_q/")
        );
        assert_eq!(
            sibling("s3a://bkt/a/orders").as_deref(),
            Some("s3://bkt/a/orders_q/")
        );
        assert_eq!(sibling("s3://bkt/"), None);
        assert_eq!(sibling("s3://bkt"), None);
        assert_eq!(sibling("out/").as_deref(), Some("out_q"));
        assert_eq!(sibling("/data/out").as_deref(), Some("/data/out_q"));
        assert_eq!(sibling("."), None);
        assert_eq!(sibling("/"), None);
    }
}
