//! Serving a provider to Terraform: check the handshake environment, make
//! the certificate, listen on a unix socket in a private temp directory,
//! print the handshake line, serve the gRPC services until the host asks us
//! to shut down. With `--debug`, serve without TLS or cookie and print a
//! `TF_REATTACH_PROVIDERS` value for the user instead.

use std::io::Write;
use std::path::PathBuf;
use std::pin::Pin;
use std::process::ExitCode;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::{Notify, mpsc};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;
use tokio_stream::wrappers::ReceiverStream;
use tonic::transport::server::Connected;

use super::go_plugin::{Broker, Controller, Stdio};
use super::grpc_provider::GrpcProvider;
use super::handshake::{self, Address, HandshakeLine};
use super::pb::plugin::grpc_broker_server::GrpcBrokerServer;
use super::pb::plugin::grpc_controller_server::GrpcControllerServer;
use super::pb::plugin::grpc_stdio_server::GrpcStdioServer;
use super::pb::tfplugin6::provider_server::ProviderServer as GrpcProviderServer;
use super::provider_server::ProviderServer;
use super::tls;
use crate::{log_debug, log_error, log_warn};

/// Terraform's own limit for plugin messages (large schemas and states).
pub const MAX_MESSAGE_SIZE: usize = 256 << 20;

/// A TLS handshake slower than this is a stuck or hostile client.
const TLS_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// How long in-flight work may run after the server stops.
const RUNTIME_SHUTDOWN_TIMEOUT: Duration = Duration::from_millis(200);

#[derive(Debug, thiserror::Error)]
enum ServeError {
    #[error("{0}")]
    Tls(#[from] tls::TlsError),
    #[error("creating the plugin socket: {0}")]
    Socket(std::io::Error),
    #[error("serving gRPC: {0}")]
    Transport(#[from] tonic::transport::Error),
}

/// Runs the plugin process: parses arguments, serves `server`, and returns
/// the process exit code. `provider_address` is the provider's source
/// address for debug mode (`registry.terraform.io/ns/name`).
pub fn serve<S: ProviderServer>(server: S, provider_address: &str) -> ExitCode {
    super::log::HclogSubscriber::install();
    let debug = std::env::args()
        .skip(1)
        .any(|a| a == "--debug" || a == "-debug");
    let mode = if debug {
        Mode::Debug {
            provider_address: provider_address.to_owned(),
        }
    } else {
        if !handshake::cookie_ok(std::env::var(handshake::MAGIC_COOKIE_KEY).ok().as_deref()) {
            eprintln!("{}", handshake::RUN_BY_HAND);
            return ExitCode::FAILURE;
        }
        if let Err(message) = handshake::negotiate(
            std::env::var(handshake::PROTOCOL_VERSIONS_ENV)
                .ok()
                .as_deref(),
        ) {
            // The host shows a non-handshake stdout line to the user.
            println!("{message}");
            return ExitCode::FAILURE;
        }
        Mode::Managed {
            client_cert: std::env::var(handshake::CLIENT_CERT_ENV)
                .ok()
                .filter(|s| !s.is_empty()),
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("terraform-provider-gluepipe: starting the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(run(Arc::new(server), mode));
    runtime.shutdown_timeout(RUNTIME_SHUTDOWN_TIMEOUT);
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            log_error!("{e}");
            eprintln!("terraform-provider-gluepipe: {e}");
            ExitCode::FAILURE
        }
    }
}

enum Mode {
    /// Started by Terraform: TLS when the host sent its certificate.
    Managed { client_cert: Option<String> },
    /// Started by a developer: plaintext, reattach instructions on stdout.
    Debug { provider_address: String },
}

async fn run<S: ProviderServer>(server: Arc<S>, mode: Mode) -> Result<(), ServeError> {
    let dir = socket_dir().map_err(ServeError::Socket)?;
    let socket = dir.path().join("provider.sock");
    let listener = UnixListener::bind(&socket).map_err(ServeError::Socket)?;

    let (acceptor, server_cert) = match &mode {
        Mode::Managed {
            client_cert: Some(pem),
        } => {
            let client = tls::parse_pem_cert(pem)?;
            let identity = tls::generate_identity()?;
            let cert = identity.cert.to_vec();
            let config = tls::server_config(identity, client)?;
            (Some(TlsAcceptor::from(Arc::new(config))), Some(cert))
        }
        Mode::Managed { client_cert: None } => {
            log_warn!("PLUGIN_CLIENT_CERT is not set: serving without TLS");
            (None, None)
        }
        Mode::Debug { .. } => (None, None),
    };

    let shutdown = Arc::new(Notify::new());
    let (health, health_service) = tonic_health::server::health_reporter();
    health
        .set_service_status("plugin", tonic_health::ServingStatus::Serving)
        .await;
    let provider = GrpcProviderServer::from_arc(Arc::new(GrpcProvider::new(Arc::clone(&server))))
        .max_decoding_message_size(MAX_MESSAGE_SIZE)
        .max_encoding_message_size(MAX_MESSAGE_SIZE);
    let serving = tonic::transport::Server::builder()
        .add_service(health_service)
        .add_service(provider)
        .add_service(GrpcControllerServer::new(Controller::new(Arc::clone(
            &shutdown,
        ))))
        .add_service(GrpcStdioServer::new(Stdio))
        .add_service(GrpcBrokerServer::new(Broker))
        .serve_with_incoming(incoming(listener, acceptor));

    let address = Address::Unix(socket);
    match &mode {
        Mode::Managed { .. } => {
            announce(
                &HandshakeLine {
                    address,
                    server_cert,
                }
                .to_string(),
            );
            tokio::spawn(ignore_interrupts());
            tokio::spawn(stop_on_terminate(Arc::clone(&shutdown)));
            tokio::spawn(stop_when_orphaned(server, Arc::clone(&shutdown)));
        }
        Mode::Debug { provider_address } => {
            announce(&reattach_instructions(provider_address, &address));
            let shutdown = Arc::clone(&shutdown);
            tokio::spawn(async move {
                let _ = tokio::signal::ctrl_c().await;
                shutdown.notify_one();
            });
        }
    }

    tokio::select! {
        result = serving => result?,
        () = shutdown.notified() => log_debug!("shutting down"),
    }
    // `dir` drops here: the socket and its directory go away.
    Ok(())
}

/// A private directory for the socket, under `PLUGIN_UNIX_SOCKET_DIR` if
/// the host set one.
fn socket_dir() -> std::io::Result<tempfile::TempDir> {
    let base = std::env::var_os(handshake::UNIX_SOCKET_DIR_ENV)
        .filter(|d| !d.is_empty())
        .map_or_else(std::env::temp_dir, PathBuf::from);
    tempfile::Builder::new()
        .prefix("gluepipe-plugin")
        .tempdir_in(base)
}

/// Writes the one stdout line. Nothing else is ever written to stdout.
fn announce(text: &str) {
    let mut out = std::io::stdout().lock();
    // If stdout is gone, so is the host; the serve loop ends with it.
    let _ = writeln!(out, "{text}");
    let _ = out.flush();
}

/// Ctrl-C reaches the whole process group; the host decides when we stop
/// (go-plugin servers do the same).
async fn ignore_interrupts() {
    while tokio::signal::ctrl_c().await.is_ok() {
        log_debug!("interrupt received; waiting for Terraform to stop the provider");
    }
}

/// SIGTERM stops the server cleanly (removing the socket directory).
async fn stop_on_terminate(shutdown: Arc<Notify>) {
    use tokio::signal::unix::{SignalKind, signal};
    if let Ok(mut term) = signal(SignalKind::terminate()) {
        if term.recv().await.is_some() {
            shutdown.notify_one();
        }
    }
}

/// How often the provider checks that Terraform is still there.
const PARENT_CHECK_INTERVAL: Duration = Duration::from_millis(500);

/// Terraform started us; when it dies (killed, crashed) we are re-parented, and nobody will
/// ever call or stop us again: stop what is in progress and exit, instead of calling AWS on.
/// (The parent process is what go-plugin hosts have in common; stdin is the user's terminal,
/// and the gRPC connection may be closed and reopened by a healthy host.)
async fn stop_when_orphaned<S: ProviderServer>(server: Arc<S>, shutdown: Arc<Notify>) {
    let parent = std::os::unix::process::parent_id();
    loop {
        tokio::time::sleep(PARENT_CHECK_INTERVAL).await;
        if std::os::unix::process::parent_id() != parent {
            log_warn!("Terraform (process {parent}) is gone: stopping");
            let _ = server.stop_provider().await;
            shutdown.notify_one();
            return;
        }
    }
}

fn reattach_instructions(provider_address: &str, address: &Address) -> String {
    let reattach = serde_json::json!({
        provider_address: {
            "Protocol": "grpc",
            "ProtocolVersion": handshake::APP_PROTOCOL_VERSION,
            "Pid": std::process::id(),
            "Test": true,
            "Addr": { "Network": address.network(), "String": address.address() },
        }
    });
    format!(
        "Provider started. To attach Terraform CLI, set the TF_REATTACH_PROVIDERS environment \
         variable with the following:\n\n\tTF_REATTACH_PROVIDERS='{reattach}'\n"
    )
}

/// Accepts connections; with TLS, each handshake runs in its own task so a
/// refused or slow client holds up nobody. Refused clients are logged.
fn incoming(
    listener: UnixListener,
    tls: Option<TlsAcceptor>,
) -> ReceiverStream<std::io::Result<Conn>> {
    let (tx, rx) = mpsc::channel(16);
    tokio::spawn(async move {
        loop {
            let stream = match listener.accept().await {
                Ok((stream, _)) => stream,
                Err(e) => {
                    log_warn!("accepting a connection: {e}");
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                }
            };
            let Some(acceptor) = tls.clone() else {
                if tx.send(Ok(Conn::Plain(stream))).await.is_err() {
                    return;
                }
                continue;
            };
            let tx = tx.clone();
            tokio::spawn(async move {
                match tokio::time::timeout(TLS_HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
                    Ok(Ok(tls)) => {
                        let _ = tx.send(Ok(Conn::Tls(Box::new(tls)))).await;
                    }
                    Ok(Err(e)) => log_warn!("refused a connection: TLS handshake failed: {e}"),
                    Err(_) => log_warn!("refused a connection: TLS handshake timed out"),
                }
            });
        }
    });
    ReceiverStream::new(rx)
}

/// A host connection, plain or TLS.
enum Conn {
    Plain(UnixStream),
    Tls(Box<TlsStream<UnixStream>>),
}

impl Connected for Conn {
    type ConnectInfo = ();
    fn connect_info(&self) -> Self::ConnectInfo {}
}

impl AsyncRead for Conn {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Conn::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Conn::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Conn {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        match self.get_mut() {
            Conn::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Conn::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Conn::Plain(s) => Pin::new(s).poll_flush(cx),
            Conn::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Conn::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Conn::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        match self.get_mut() {
            Conn::Plain(s) => Pin::new(s).poll_write_vectored(cx, bufs),
            Conn::Tls(s) => Pin::new(s.as_mut()).poll_write_vectored(cx, bufs),
        }
    }

    fn is_write_vectored(&self) -> bool {
        match self {
            Conn::Plain(s) => s.is_write_vectored(),
            Conn::Tls(s) => s.is_write_vectored(),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn reattach_line_names_the_provider() {
        let text = reattach_instructions(
            "registry.terraform.io/gluepipe/gluepipe",
            &Address::Unix("/tmp/x/provider.sock".into()),
        );
        let json_text = text.split('\'').nth(1).unwrap();
        let json: serde_json::Value = serde_json::from_str(json_text).unwrap();
        let entry = &json["registry.terraform.io/gluepipe/gluepipe"];
        assert_eq!(entry["ProtocolVersion"], 6);
        assert_eq!(entry["Protocol"], "grpc");
        assert_eq!(entry["Addr"]["Network"], "unix");
        assert_eq!(entry["Addr"]["String"], "/tmp/x/provider.sock");
        assert_eq!(entry["Test"], true);
    }
}
