//! The gluepipe release version, and how a `gluepipe-etl` binary says which release it is
//! without being run.
//!
//! The provider uploads a Linux binary it often cannot execute (a provider on macOS, an
//! aarch64 binary on x86-64), yet must refuse one from another release at plan time. So the
//! binary carries its version as a marker in its read-only data — `gluepipe-etl-version=V;` —
//! and the provider finds it by scanning the bytes it already reads to hash the file. Provider,
//! ETL and this crate share the workspace version, so one constant names the release.

/// This release (the workspace version: provider, ETL and spec are released together).
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// What precedes the version in the marker.
pub const MARKER_PREFIX: &[u8] = b"gluepipe-etl-version=";
/// What ends it.
pub const MARKER_END: u8 = b';';
/// The longest version a marker may carry (semver with pre-release and build metadata fits).
const MAX_VERSION_LEN: usize = 64;

/// The marker text for `version`, as the ETL binary embeds it.
#[macro_export]
macro_rules! etl_version_marker {
    () => {
        concat!("gluepipe-etl-version=", env!("CARGO_PKG_VERSION"), ";")
    };
}

/// The version carried by the first well-formed marker in `bytes` (a binary's contents), or
/// `None` when there is none: the file is no gluepipe-etl of a release that has markers.
pub fn marker_version(bytes: &[u8]) -> Option<&str> {
    let mut from = 0;
    while let Some(at) = memchr::memmem::find(&bytes[from..], MARKER_PREFIX) {
        let start = from + at + MARKER_PREFIX.len();
        let rest = &bytes[start..bytes.len().min(start + MAX_VERSION_LEN + 1)];
        if let Some(end) = rest.iter().position(|&b| b == MARKER_END) {
            let version = &rest[..end];
            if !version.is_empty() && version.iter().all(|&b| is_version_byte(b)) {
                return std::str::from_utf8(version).ok();
            }
        }
        from = start;
    }
    None
}

fn is_version_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'+')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_marker_is_found_among_other_bytes() {
        let mut bytes = vec![0u8, 7, b'g', b'l'];
        bytes.extend_from_slice(etl_version_marker!().as_bytes());
        bytes.extend_from_slice(&[0, 1, 2]);
        assert_eq!(marker_version(&bytes), Some(VERSION));
    }

    #[test]
    fn a_bare_prefix_or_a_malformed_version_is_skipped() {
        // The provider's own copy of the prefix (no version after it) must not count.
        let mut bytes = b"xx gluepipe-etl-version=\0\0 gluepipe-etl-version=1 2;".to_vec();
        assert_eq!(marker_version(&bytes), None);
        bytes.extend_from_slice(b"gluepipe-etl-version=1.2.3-rc.1+g;");
        assert_eq!(marker_version(&bytes), Some("1.2.3-rc.1+g"));
        assert_eq!(marker_version(b"gluepipe-etl-version="), None);
        assert_eq!(marker_version(b""), None);
        let long = format!("gluepipe-etl-version={};", "9".repeat(MAX_VERSION_LEN + 1));
        assert_eq!(marker_version(long.as_bytes()), None);
    }
}
