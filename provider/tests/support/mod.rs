//! A stand-in for Terraform: launches the provider binary the way
//! go-plugin does (magic cookie, protocol versions, a one-off P-521 client
//! certificate in `PLUGIN_CLIENT_CERT`, a socket directory), parses the
//! handshake line itself, and connects over the unix socket with mutual TLS.
//! Also a tiny fake Glue endpoint, so the data source can be read without
//! the emulator.

#![allow(dead_code, clippy::unwrap_used)]

use std::io::{BufRead, BufReader, Read};
use std::path::PathBuf;
use std::process::{Child, ChildStderr, ChildStdout, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail, ensure};
use base64::Engine;
use hyper_util::rt::TokioIo;
use terraform_provider_gluepipe::protocol::tls::{self, Identity};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, UnixStream};
use tonic::transport::{Channel, Endpoint, Uri};

pub const COOKIE: &str = "d602bf8f470bc67ca7faa0386276bbdd4330efaf76d1a219cb4d6991ca9872b2";

/// A running provider process and what its handshake said.
pub struct Plugin {
    pub child: Child,
    pub stdout: BufReader<ChildStdout>,
    pub stderr: Option<ChildStderr>,
    pub socket: PathBuf,
    pub server_cert: Vec<u8>,
    pub client: Identity,
    pub started: Instant,
    pub handshake_after: Duration,
    _dir: tempfile::TempDir,
}

/// The split handshake line, checked field by field as go-plugin's client does.
pub fn parse_handshake(line: &str) -> Result<(PathBuf, Vec<u8>)> {
    let parts: Vec<&str> = line.trim_end().split('|').collect();
    ensure!(parts.len() == 6, "expected 6 fields, got {line:?}");
    ensure!(parts[0] == "1", "core protocol version {:?}", parts[0]);
    ensure!(parts[1] == "6", "app protocol version {:?}", parts[1]);
    ensure!(parts[2] == "unix", "network {:?}", parts[2]);
    ensure!(parts[4] == "grpc", "protocol {:?}", parts[4]);
    ensure!(
        !parts[5].contains('='),
        "certificate must be unpadded base64"
    );
    let cert = base64::engine::general_purpose::STANDARD_NO_PAD
        .decode(parts[5])
        .context("certificate base64")?;
    Ok((PathBuf::from(parts[3]), cert))
}

impl Plugin {
    /// Starts the provider with Terraform's environment plus `env`.
    pub fn start(env: &[(&str, &str)]) -> Result<Plugin> {
        let dir = tempfile::tempdir()?;
        let client = tls::generate_identity()?;
        let started = Instant::now();
        let mut child = Command::new(env!("CARGO_BIN_EXE_terraform-provider-gluepipe"))
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("TF_PLUGIN_MAGIC_COOKIE", COOKIE)
            .env("PLUGIN_PROTOCOL_VERSIONS", "5,6")
            .env("PLUGIN_MIN_PORT", "10000")
            .env("PLUGIN_MAX_PORT", "25000")
            .env("PLUGIN_CLIENT_CERT", tls::to_pem(&client.cert))
            .env("PLUGIN_UNIX_SOCKET_DIR", dir.path())
            .env("HOME", dir.path())
            .env("TF_LOG", "debug")
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()?;
        let mut stdout = BufReader::new(child.stdout.take().context("stdout")?);
        let mut line = String::new();
        stdout.read_line(&mut line)?;
        let handshake_after = started.elapsed();
        let (socket, server_cert) = parse_handshake(&line)?;
        ensure!(
            socket.starts_with(dir.path()),
            "socket {} is not under PLUGIN_UNIX_SOCKET_DIR",
            socket.display()
        );
        Ok(Plugin {
            stderr: child.stderr.take(),
            child,
            stdout,
            socket,
            server_cert,
            client,
            started,
            handshake_after,
            _dir: dir,
        })
    }

    /// A gRPC channel presenting `identity` (Terraform's own by default).
    pub async fn connect_as(&self, identity: Identity) -> Result<Channel> {
        let config = tls::client_config(identity, self.server_cert.clone().into())?;
        let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
        let socket = self.socket.clone();
        let channel = Endpoint::try_from("http://localhost")?
            .connect_with_connector(tower::service_fn(move |_: Uri| {
                let (socket, connector) = (socket.clone(), connector.clone());
                async move {
                    let stream = UnixStream::connect(socket).await?;
                    let name = rustls_pki_types::ServerName::try_from("localhost")
                        .map_err(std::io::Error::other)?;
                    let tls = connector.connect(name, stream).await?;
                    Ok::<_, std::io::Error>(TokioIo::new(tls))
                }
            }))
            .await?;
        Ok(channel)
    }

    pub async fn connect(&self) -> Result<Channel> {
        let own = Identity {
            cert: self.client.cert.clone(),
            key: self.client.key.clone_key(),
        };
        self.connect_as(own).await
    }

    /// Waits for the process to exit; returns how long that took.
    pub fn wait_exit(&mut self, limit: Duration) -> Result<(Duration, std::process::ExitStatus)> {
        let start = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait()? {
                return Ok((start.elapsed(), status));
            }
            if start.elapsed() > limit {
                self.child.kill()?;
                bail!("provider did not exit within {limit:?}");
            }
            std::thread::sleep(Duration::from_millis(2));
        }
    }

    /// Everything the process wrote after the handshake line (call after exit).
    pub fn rest_of_stdout(&mut self) -> Result<String> {
        let mut rest = String::new();
        self.stdout.read_to_string(&mut rest)?;
        Ok(rest)
    }

    /// Everything the process wrote to stderr (call after exit).
    pub fn stderr_text(&mut self) -> Result<String> {
        let mut text = String::new();
        if let Some(mut err) = self.stderr.take() {
            err.read_to_string(&mut text)?;
        }
        Ok(text)
    }
}

impl Drop for Plugin {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A fake AWS Glue endpoint on 127.0.0.1 that answers `GetTable` for
/// `raw.orders` and "not found" for anything else (AWS JSON 1.1 protocol).
pub async fn fake_glue() -> Result<String> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}", listener.local_addr()?);
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(serve_glue_connection(stream));
        }
    });
    Ok(url)
}

async fn serve_glue_connection(mut stream: tokio::net::TcpStream) {
    let mut buf = Vec::new();
    loop {
        // Read one request: headers, then Content-Length bytes of body.
        let header_end = loop {
            if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break i + 4;
            }
            let mut chunk = [0u8; 4096];
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        };
        let head = String::from_utf8_lossy(&buf[..header_end]).to_ascii_lowercase();
        let length: usize = head
            .lines()
            .find_map(|l| l.strip_prefix("content-length:"))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0);
        while buf.len() < header_end + length {
            let mut chunk = [0u8; 4096];
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        }
        let body: serde_json::Value =
            serde_json::from_slice(&buf[header_end..header_end + length]).unwrap_or_default();
        buf.drain(..header_end + length);
        let (status, reply) = if !head.contains("x-amz-target: awsglue.gettable") {
            (
                "400 Bad Request",
                serde_json::json!({"__type": "InvalidInputException", "Message": "unsupported"}),
            )
        } else if body["DatabaseName"] == "raw" && body["Name"] == "orders" {
            ("200 OK", orders_table())
        } else {
            (
                "400 Bad Request",
                serde_json::json!({
                    "__type": "EntityNotFoundException",
                    "Message": format!("Table {} not found.", body["Name"].as_str().unwrap_or_default()),
                }),
            )
        };
        let text = reply.to_string();
        let response = format!(
            "HTTP/1.1 {status}\r\ncontent-type: application/x-amz-json-1.1\r\ncontent-length: {}\r\n\r\n{text}",
            text.len()
        );
        if stream.write_all(response.as_bytes()).await.is_err() {
            return;
        }
    }
}

/// What the fake Glue returns for `raw.orders`.
pub fn orders_table() -> serde_json::Value {
    serde_json::json!({
        "Table": {
            "Name": "orders",
            "DatabaseName": "raw",
            "StorageDescriptor": {
                "Location": "s3://landing/orders/",
                "InputFormat": "org.apache.hadoop.mapred.TextInputFormat",
                "SerdeInfo": { "SerializationLibrary": "org.openx.data.jsonserde.JsonSerDe" },
                "Columns": [
                    { "Name": "id", "Type": "bigint", "Comment": "key" },
                    { "Name": "total", "Type": "decimal(10,2)" }
                ]
            },
            "PartitionKeys": [{ "Name": "dt", "Type": "string" }],
            "Parameters": { "classification": "json" }
        }
    })
}
