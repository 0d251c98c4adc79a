//! go-plugin's own services, which every plugin serves next to its own:
//! `GRPCController` (the host asks us to exit), `GRPCStdio` (mirrored
//! output; we write nothing to stdout after the handshake, so it stays
//! empty), `GRPCBroker` (sub-connections; providers never use it, but the
//! host opens the stream, so it idles).

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;
use tonic::{Request, Response, Status, Streaming};

use super::pb::plugin as pb;
use crate::log_debug;

/// How long the controller waits after answering `Shutdown` before the
/// process stops, so the answer reaches the host.
const SHUTDOWN_GRACE: Duration = Duration::from_millis(10);

/// `plugin.GRPCController`: `Shutdown` fires the shared notifier.
pub struct Controller {
    shutdown: Arc<Notify>,
}

impl Controller {
    pub fn new(shutdown: Arc<Notify>) -> Self {
        Self { shutdown }
    }
}

#[tonic::async_trait]
impl pb::grpc_controller_server::GrpcController for Controller {
    async fn shutdown(&self, _: Request<pb::Empty>) -> Result<Response<pb::Empty>, Status> {
        log_debug!("Shutdown requested by the host");
        let shutdown = Arc::clone(&self.shutdown);
        tokio::spawn(async move {
            tokio::time::sleep(SHUTDOWN_GRACE).await;
            shutdown.notify_one();
        });
        Ok(Response::new(pb::Empty {}))
    }
}

/// `plugin.GRPCStdio`: a stream that stays open and silent until exit.
pub struct Stdio;

#[tonic::async_trait]
impl pb::grpc_stdio_server::GrpcStdio for Stdio {
    type StreamStdioStream = tokio_stream::Pending<Result<pb::StdioData, Status>>;

    async fn stream_stdio(
        &self,
        _: Request<()>,
    ) -> Result<Response<Self::StreamStdioStream>, Status> {
        Ok(Response::new(tokio_stream::pending()))
    }
}

/// `plugin.GRPCBroker`: accepts the host's stream and never offers a
/// sub-connection.
pub struct Broker;

#[tonic::async_trait]
impl pb::grpc_broker_server::GrpcBroker for Broker {
    type StartStreamStream = tokio_stream::Pending<Result<pb::ConnInfo, Status>>;

    async fn start_stream(
        &self,
        _: Request<Streaming<pb::ConnInfo>>,
    ) -> Result<Response<Self::StartStreamStream>, Status> {
        Ok(Response::new(tokio_stream::pending()))
    }
}
