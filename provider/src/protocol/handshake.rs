//! The go-plugin handshake: the environment Terraform starts us with, and
//! the one line we answer on stdout —
//! `CORE-VERSION|APP-VERSION|NETWORK|ADDRESS|grpc|SERVER-CERT`, e.g.
//! `1|6|unix|/tmp/x/provider.sock|grpc|MIIC…` (certificate DER in base64
//! without padding, empty when TLS is off).

use std::fmt;
use std::path::PathBuf;

use base64::Engine;

/// Terraform's (and OpenTofu's) magic cookie: proves a host started us.
pub const MAGIC_COOKIE_KEY: &str = "TF_PLUGIN_MAGIC_COOKIE";
pub const MAGIC_COOKIE_VALUE: &str =
    "d602bf8f470bc67ca7faa0386276bbdd4330efaf76d1a219cb4d6991ca9872b2";
/// go-plugin's own protocol version.
pub const CORE_PROTOCOL_VERSION: u32 = 1;
/// The Terraform plugin protocol we speak.
pub const APP_PROTOCOL_VERSION: u32 = 6;

/// Environment variables of the handshake.
pub const PROTOCOL_VERSIONS_ENV: &str = "PLUGIN_PROTOCOL_VERSIONS";
pub const CLIENT_CERT_ENV: &str = "PLUGIN_CLIENT_CERT";
pub const UNIX_SOCKET_DIR_ENV: &str = "PLUGIN_UNIX_SOCKET_DIR";

/// Shown when the binary is run by hand.
pub const RUN_BY_HAND: &str = "terraform-provider-gluepipe is a Terraform provider plugin, not a \
command to run by hand. Terraform or OpenTofu start it when a configuration declares \
`gluepipe = { source = \"gluepipe/gluepipe\" }` in required_providers. To debug it, run it with \
--debug and follow the printed instructions.";

/// Whether the host presented the magic cookie.
pub fn cookie_ok(value: Option<&str>) -> bool {
    value == Some(MAGIC_COOKIE_VALUE)
}

/// Picks our protocol version from the host's offer (a comma list; absent
/// means the host predates negotiation and assumes the plugin's default).
pub fn negotiate(offered: Option<&str>) -> Result<u32, String> {
    let Some(offered) = offered.filter(|s| !s.trim().is_empty()) else {
        return Ok(APP_PROTOCOL_VERSION);
    };
    let speaks_ours = offered
        .split(',')
        .any(|v| v.trim().parse::<u32>() == Ok(APP_PROTOCOL_VERSION));
    if speaks_ours {
        Ok(APP_PROTOCOL_VERSION)
    } else {
        Err(format!(
            "terraform-provider-gluepipe speaks plugin protocol {APP_PROTOCOL_VERSION}, but the host \
             offered only {offered:?}. Use Terraform 1.0 or newer, or OpenTofu."
        ))
    }
}

/// Where the host can reach us.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Address {
    Unix(PathBuf),
    Tcp(std::net::SocketAddr),
}

impl Address {
    pub fn network(&self) -> &'static str {
        match self {
            Address::Unix(_) => "unix",
            Address::Tcp(_) => "tcp",
        }
    }

    pub fn address(&self) -> String {
        match self {
            Address::Unix(path) => path.display().to_string(),
            Address::Tcp(addr) => addr.to_string(),
        }
    }
}

/// The handshake line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HandshakeLine {
    pub address: Address,
    /// DER of our certificate; `None` when TLS is off.
    pub server_cert: Option<Vec<u8>>,
}

impl fmt::Display for HandshakeLine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let cert = self
            .server_cert
            .as_ref()
            .map(|der| base64::engine::general_purpose::STANDARD_NO_PAD.encode(der))
            .unwrap_or_default();
        write!(
            f,
            "{CORE_PROTOCOL_VERSION}|{APP_PROTOCOL_VERSION}|{}|{}|grpc|{cert}",
            self.address.network(),
            self.address.address()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookie() {
        assert!(cookie_ok(Some(MAGIC_COOKIE_VALUE)));
        assert!(!cookie_ok(None));
        assert!(!cookie_ok(Some("")));
        assert!(!cookie_ok(Some("d602bf8f")));
    }

    #[test]
    fn negotiation() {
        let cases: [(Option<&str>, Option<u32>); 7] = [
            (None, Some(6)),
            (Some(""), Some(6)),
            (Some("6"), Some(6)),
            (Some("5,6"), Some(6)),
            (Some("6, 5"), Some(6)),
            (Some("5"), None),
            (Some("4,5,7"), None),
        ];
        for (offered, expected) in cases {
            assert_eq!(negotiate(offered).ok(), expected, "{offered:?}");
        }
        let refusal = negotiate(Some("5")).err().unwrap_or_default();
        assert!(refusal.contains("protocol 6"), "{refusal}");
    }

    #[test]
    fn line_format() {
        let line = HandshakeLine {
            address: Address::Unix("/tmp/p/provider.sock".into()),
            server_cert: Some(vec![0xff, 0xfe, 0xfd, 0xfc]),
        };
        // Raw standard base64: no '=' padding.
        assert_eq!(
            line.to_string(),
            "1|6|unix|/tmp/p/provider.sock|grpc|//79/A"
        );
        let plain = HandshakeLine {
            address: Address::Tcp("127.0.0.1:1234".parse().expect("address")),
            server_cert: None,
        };
        assert_eq!(plain.to_string(), "1|6|tcp|127.0.0.1:1234|grpc|");
    }
}
