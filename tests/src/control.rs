//! A minimal HTTP/1.0 client (1.0, so the answer is never chunked) for the emulator's control endpoints on loopback. The AWS APIs
//! themselves are reached through the AWS SDKs; this only talks to `/_gluepipe/*` and moto's
//! `/moto-api/*`, so it needs no HTTP library.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use anyhow::{Context, Result, bail};

/// Sends `method path` with a JSON body to `127.0.0.1:port` and returns the response body.
pub fn request(port: u16, method: &str, path: &str, body: &serde_json::Value) -> Result<String> {
    let payload = body.to_string();
    let mut stream = TcpStream::connect(("127.0.0.1", port))
        .with_context(|| format!("connecting to the emulator on port {port}"))?;
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    write!(
        stream,
        "{method} {path} HTTP/1.0\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{payload}",
        payload.len()
    )?;
    let mut response = String::new();
    stream
        .read_to_string(&mut response)
        .context("reading the emulator's answer")?;
    let (head, body) = response.split_once("\r\n\r\n").unwrap_or((&response, ""));
    let status = head.split_whitespace().nth(1).unwrap_or("");
    if !status.starts_with('2') {
        bail!("{method} {path} answered {status}: {body}");
    }
    Ok(body.to_string())
}
