//! Which `gluepipe-etl` a pipeline uploads, found and checked at plan time.
//!
//! Users install the provider with `terraform init`; the release zip carries the Linux ETL
//! binaries beside the provider executable (`gluepipe-etl_linux_amd64`, `_linux_arm64`), and a
//! development build has `gluepipe-etl` beside `terraform-provider-gluepipe` in
//! `target/<profile>/`. So `runtime.etl_binary` is only an override. Whatever is chosen must be
//! a Linux executable for the runtime's CPU and of this provider's release (its version marker,
//! see `gluepipe_spec::version`): a mismatch fails the plan here, not the job in AWS.

use std::path::{Path, PathBuf};

use gluepipe_spec::version::{VERSION, marker_version};
use sha2::{Digest, Sha256};

/// The Linux platforms the ETL runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Platform {
    /// Glue Python-shell jobs, Fargate X86_64 tasks.
    LinuxAmd64,
    /// Fargate ARM64 (Graviton) tasks.
    LinuxArm64,
}

impl Platform {
    /// The name of its binary in a release zip.
    pub fn release_file(self) -> &'static str {
        match self {
            Platform::LinuxAmd64 => "gluepipe-etl_linux_amd64",
            Platform::LinuxArm64 => "gluepipe-etl_linux_arm64",
        }
    }

    fn describe(self) -> &'static str {
        match self {
            Platform::LinuxAmd64 => "Linux x86-64",
            Platform::LinuxArm64 => "Linux aarch64",
        }
    }

    /// ELF `e_machine`.
    fn elf_machine(self) -> u16 {
        match self {
            Platform::LinuxAmd64 => 62,
            Platform::LinuxArm64 => 183,
        }
    }
}

/// The binary a plan uploads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EtlBinary {
    /// Local path.
    pub path: String,
    /// SHA-256, lower-case hex (its S3 key is content-addressed).
    pub sha256: String,
    /// Given as `runtime.etl_binary` (import reads the path back) rather than found.
    pub explicit: bool,
}

impl EtlBinary {
    /// Stands in while `runtime.etl_binary` is unknown at plan time; the attributes it reaches
    /// are planned unknown.
    pub fn placeholder() -> EtlBinary {
        EtlBinary {
            path: String::new(),
            sha256: "0".repeat(64),
            explicit: true,
        }
    }
}

/// Where to look when `runtime.etl_binary` is not set, in order: the release zip's name for the
/// platform, then a development build's plain name, both beside the provider executable.
pub fn candidates(provider_dir: &Path, platform: Platform) -> Vec<PathBuf> {
    vec![
        provider_dir.join(platform.release_file()),
        provider_dir.join("gluepipe-etl"),
    ]
}

/// Why no usable binary could be had; the message is the diagnostic's detail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BinaryError {
    pub summary: &'static str,
    pub detail: String,
}

/// The binary for `platform`: `explicit` if given, else the first candidate beside
/// `provider_dir` that exists, read, hashed and checked.
pub async fn resolve(
    explicit: &str,
    provider_dir: Option<&Path>,
    platform: Platform,
) -> Result<EtlBinary, BinaryError> {
    let (path, is_explicit) = if explicit.trim().is_empty() {
        let looked = provider_dir
            .map(|dir| candidates(dir, platform))
            .unwrap_or_default();
        match looked.iter().find(|p| p.is_file()) {
            Some(found) => (found.display().to_string(), false),
            None => {
                let places = if looked.is_empty() {
                    "the provider could not tell where its own executable is".to_string()
                } else {
                    format!(
                        "looked for {}",
                        looked
                            .iter()
                            .map(|p| p.display().to_string())
                            .collect::<Vec<_>>()
                            .join(" and ")
                    )
                };
                return Err(BinaryError {
                    summary: "No ETL binary found",
                    detail: format!(
                        "{places}. A provider installed from a release zip carries it; for a \
                         development build run `cargo build --bins`, or set runtime.etl_binary \
                         to the {} gluepipe-etl to upload.",
                        platform.describe()
                    ),
                });
            }
        }
    } else {
        (explicit.to_string(), true)
    };
    let bytes = tokio::fs::read(&path).await.map_err(|e| BinaryError {
        summary: "Cannot read the ETL binary",
        detail: format!(
            "{path}: {e}. Build it first (see the README), or point runtime.etl_binary at it."
        ),
    })?;
    check(&bytes, platform).map_err(|detail| BinaryError {
        summary: "Unusable ETL binary",
        detail: format!("{path}: {detail}"),
    })?;
    Ok(EtlBinary {
        path,
        sha256: hex::encode(Sha256::digest(&bytes)),
        explicit: is_explicit,
    })
}

/// A Linux executable for `platform` of this release. A script (`#!`) is taken as a wrapper
/// whose CPU cannot be told, but it must carry the version marker all the same.
pub fn check(bytes: &[u8], platform: Platform) -> Result<(), String> {
    if let Some(machine) = elf_machine(bytes) {
        if machine != platform.elf_machine() {
            return Err(format!(
                "it is an ELF executable for machine {machine}, not {} (ELF machine {}), \
                 which this runtime runs",
                platform.describe(),
                platform.elf_machine()
            ));
        }
    } else if !bytes.starts_with(b"#!") {
        return Err(format!(
            "it is not a {} executable (no ELF header)",
            platform.describe()
        ));
    }
    match marker_version(bytes) {
        Some(v) if v == VERSION => Ok(()),
        Some(v) => Err(format!(
            "it is gluepipe-etl {v}, but this provider is {VERSION}; provider and ETL must be \
             of one release (the release zip carries the matching binary)"
        )),
        None => Err(format!(
            "it carries no gluepipe-etl version marker, so it is not a gluepipe-etl of release \
             {VERSION}"
        )),
    }
}

/// The `e_machine` of a 64-bit little-endian ELF file (every platform gluepipe runs on).
fn elf_machine(bytes: &[u8]) -> Option<u16> {
    let header = bytes.get(..20)?;
    if &header[..4] != b"\x7fELF" || header[4] != 2 || header[5] != 1 {
        return None;
    }
    Some(u16::from_le_bytes([header[18], header[19]]))
}

/// The directory holding the running provider executable.
pub fn provider_dir() -> Option<PathBuf> {
    std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(Path::to_path_buf))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn elf(machine: u16, marker: &str) -> Vec<u8> {
        let mut b = vec![0u8; 64];
        b[..4].copy_from_slice(b"\x7fELF");
        b[4] = 2;
        b[5] = 1;
        b[18..20].copy_from_slice(&machine.to_le_bytes());
        b.extend_from_slice(marker.as_bytes());
        b
    }

    fn marker(v: &str) -> String {
        format!("gluepipe-etl-version={v};")
    }

    #[test]
    fn a_binary_of_this_release_and_cpu_passes() {
        assert_eq!(
            check(&elf(62, &marker(VERSION)), Platform::LinuxAmd64),
            Ok(())
        );
        assert_eq!(
            check(&elf(183, &marker(VERSION)), Platform::LinuxArm64),
            Ok(())
        );
        let script = format!("#!/bin/sh\n# {}\nexec real-etl \"$@\"\n", marker(VERSION));
        assert_eq!(check(script.as_bytes(), Platform::LinuxAmd64), Ok(()));
    }

    #[test]
    fn another_cpu_another_release_or_no_marker_is_refused() {
        let e = check(&elf(183, &marker(VERSION)), Platform::LinuxAmd64).unwrap_err();
        assert!(e.contains("machine 183") && e.contains("x86-64"), "{e}");
        let e = check(&elf(62, &marker("0.0.1")), Platform::LinuxAmd64).unwrap_err();
        assert!(
            e.contains("gluepipe-etl 0.0.1") && e.contains(VERSION),
            "{e}"
        );
        let e = check(&elf(62, ""), Platform::LinuxAmd64).unwrap_err();
        assert!(e.contains("no gluepipe-etl version marker"), "{e}");
        let e = check(b"\xcf\xfa\xed\xfe mach-o", Platform::LinuxAmd64).unwrap_err();
        assert!(e.contains("no ELF header"), "{e}");
    }

    #[tokio::test]
    async fn the_release_name_is_found_before_the_development_name() {
        let dir = tempfile::tempdir().unwrap();
        let dev = dir.path().join("gluepipe-etl");
        std::fs::write(&dev, elf(62, &marker(VERSION))).unwrap();
        let found = resolve("", Some(dir.path()), Platform::LinuxAmd64)
            .await
            .unwrap();
        assert_eq!(found.path, dev.display().to_string());
        assert!(!found.explicit);

        let release = dir.path().join("gluepipe-etl_linux_amd64");
        let bytes = elf(62, &marker(VERSION));
        std::fs::write(&release, &bytes).unwrap();
        let found = resolve("", Some(dir.path()), Platform::LinuxAmd64)
            .await
            .unwrap();
        assert_eq!(found.path, release.display().to_string());
        assert_eq!(found.sha256, hex::encode(Sha256::digest(&bytes)));
    }

    #[tokio::test]
    async fn nothing_found_says_where_it_looked_and_names_the_override() {
        let dir = tempfile::tempdir().unwrap();
        let e = resolve("", Some(dir.path()), Platform::LinuxAmd64)
            .await
            .unwrap_err();
        assert_eq!(e.summary, "No ETL binary found");
        assert!(
            e.detail.contains("gluepipe-etl_linux_amd64"),
            "{}",
            e.detail
        );
        assert!(e.detail.contains("runtime.etl_binary"), "{}", e.detail);
        let e = resolve("", None, Platform::LinuxAmd64).await.unwrap_err();
        assert!(e.detail.contains("own executable"), "{}", e.detail);
    }

    #[tokio::test]
    async fn an_explicit_path_wins_and_is_checked() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("gluepipe-etl"), elf(62, &marker(VERSION))).unwrap();
        let other = dir.path().join("old-etl");
        std::fs::write(&other, elf(62, &marker("0.0.9"))).unwrap();
        let e = resolve(
            &other.display().to_string(),
            Some(dir.path()),
            Platform::LinuxAmd64,
        )
        .await
        .unwrap_err();
        assert_eq!(e.summary, "Unusable ETL binary");
        assert!(
            e.detail.starts_with(&other.display().to_string()),
            "{}",
            e.detail
        );
    }
}
