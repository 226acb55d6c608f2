//! `pluginv2.Stream` (Grafana Live). Channels: `alerts` and `alerts/<cluster_id>`
//! (ALERT_FIRED / ALERT_RESOLVED from stored webhook deliveries and from
//! polling Alertmanager; one `alert_history`-shaped frame per event). Unknown channels are answered
//! NOT_FOUND with the channel named, so a dashboard asking for a stream this
//! version does not have fails visibly instead of hanging. `logs/tail/<id>`:
//! live tail of the logs query in the subscription's `data` (one Loki tail
//! websocket per cluster, merged; see `federation::logs::tail`). `gpu/<cluster>`:
//! the cluster's `gpus` view every 5 s while someone watches (see
//! `federation::gpu_stream`).

// tonic's `Status` (176 bytes) is the error type the generated Stream trait prescribes.
#![allow(clippy::result_large_err)]

use grafana_plugin_sdk::pluginv2::{
    PluginContext, PublishStreamRequest, PublishStreamResponse, RunStreamRequest, StreamPacket, SubscribeStreamRequest, SubscribeStreamResponse,
    publish_stream_response, stream_server::Stream, subscribe_stream_response,
};

use std::pin::Pin;
use std::sync::Arc;

use futures::StreamExt;

use super::PluginState;
use crate::error::FleetError;
use crate::federation::logs::{
    self,
    tail::{self, TailQuery},
};
use crate::federation::{Federation, gpu_stream};
use crate::frames::{alertmanager, json};
use crate::store::events;

pub struct StreamService(pub PluginState);

#[tonic::async_trait]
impl Stream for StreamService {
    type RunStreamStream = Pin<Box<dyn futures::Stream<Item = Result<StreamPacket, tonic::Status>> + Send + 'static>>;

    async fn subscribe_stream(
        &self,
        request: tonic::Request<SubscribeStreamRequest>,
    ) -> Result<tonic::Response<SubscribeStreamResponse>, tonic::Status> {
        let req = request.into_inner();
        if tail_channel(&req.path).is_some() {
            return subscribe_tail(&self.0, &req).map(tonic::Response::new);
        }
        if let Some(cluster) = gpu_stream::channel_cluster(&req.path) {
            return subscribe_gpu(&self.0, &req, cluster).map(tonic::Response::new);
        }
        if events::channel_filter(&req.path).is_some() {
            let status = match self.0.instances.get(req.plugin_context.as_ref()) {
                Ok(_) => subscribe_stream_response::Status::Ok,
                Err(e) => {
                    tracing::warn!(channel = %req.path, error = %e, "alerts subscription refused");
                    subscribe_stream_response::Status::NotFound
                }
            };
            return Ok(tonic::Response::new(SubscribeStreamResponse { status: status as i32, data: Vec::new() }));
        }
        let path = req.path;
        tracing::info!(channel = %path, "subscription to an unknown channel refused");
        Ok(tonic::Response::new(SubscribeStreamResponse { status: subscribe_stream_response::Status::NotFound as i32, data: Vec::new() }))
    }

    async fn run_stream(&self, request: tonic::Request<RunStreamRequest>) -> Result<tonic::Response<Self::RunStreamStream>, tonic::Status> {
        let req = request.get_ref();
        if tail_channel(&req.path).is_some() {
            return run_tail(&self.0, req).map(tonic::Response::new);
        }
        if let Some(cluster) = gpu_stream::channel_cluster(&req.path) {
            return run_gpu(&self.0, req, cluster).map(tonic::Response::new);
        }
        if let Some(cluster) = events::channel_filter(&req.path) {
            let fed = self.0.instances.get(req.plugin_context.as_ref()).map_err(|e| tonic::Status::failed_precondition(e.to_string()))?;
            let packets = crate::federation::alerts::live_events(fed, cluster)
                .await
                .map(|t| Ok(StreamPacket { data: json::to_json_bytes(&alertmanager::history_frame(&[t], "")) }));
            return Ok(tonic::Response::new(Box::pin(packets)));
        }
        Err(tonic::Status::not_found(format!("no stream channel {:?} in this version of the plugin", request.into_inner().path)))
    }

    async fn publish_stream(&self, _request: tonic::Request<PublishStreamRequest>) -> Result<tonic::Response<PublishStreamResponse>, tonic::Status> {
        Ok(tonic::Response::new(PublishStreamResponse { status: publish_stream_response::Status::PermissionDenied as i32, data: Vec::new() }))
    }
}

// ---- logs/tail/<id>: live tail of a logs query (see federation::logs::tail) ----

/// `logs/tail/<id>` → the id (letters, digits, `-`, `_`, `.`); the query itself
/// comes in the request's `data`.
fn tail_channel(path: &str) -> Option<&str> {
    path.strip_prefix("logs/tail/").filter(|id| !id.is_empty() && id.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c)))
}

/// A user-facing gRPC status: the error's code and message.
fn tail_status(e: &FleetError) -> tonic::Status {
    let message = format!("{}: {}", e.code, e.message);
    match e.code.http_status() {
        400 => tonic::Status::invalid_argument(message),
        404 => tonic::Status::not_found(message),
        503 => tonic::Status::unavailable(message),
        _ => tonic::Status::failed_precondition(message),
    }
}

fn tail_query(state: &PluginState, ctx: Option<&PluginContext>, data: &[u8]) -> Result<(Arc<Federation>, TailQuery), tonic::Status> {
    let fed = state.instances.get(ctx).map_err(|e| tail_status(&e))?;
    let mut q = TailQuery::parse(data).map_err(|e| tail_status(&e))?;
    if q.datasource_uid.is_none() {
        q.datasource_uid = ctx.and_then(|c| c.data_source_instance_settings.as_ref()).map(|s| s.uid.clone()).filter(|u| !u.is_empty());
    }
    Ok((fed, q))
}

/// Validate the query (clear INVALID_LOGQL error) and the targets; answer OK
/// with the frame schema as initial data.
fn subscribe_tail(state: &PluginState, req: &SubscribeStreamRequest) -> Result<SubscribeStreamResponse, tonic::Status> {
    let (fed, q) = tail_query(state, req.plugin_context.as_ref(), &req.data).inspect_err(|e| {
        tracing::info!(channel = %req.path, error = %e.message(), "live tail subscription refused");
    })?;
    logs::loki_targets(&fed, &q.clusters).map_err(|e| tail_status(&e))?;
    let schema = tail::schema_frame(&fed, &q).map_err(|e| tail_status(&e))?;
    Ok(SubscribeStreamResponse { status: subscribe_stream_response::Status::Ok as i32, data: json::to_json_bytes(&schema) })
}

/// One Loki tail per cluster, merged; dropping the returned stream (Grafana
/// cancels RunStream when the last subscriber leaves) closes them all.
fn run_tail(state: &PluginState, req: &RunStreamRequest) -> Result<<StreamService as Stream>::RunStreamStream, tonic::Status> {
    let (fed, q) = tail_query(state, req.plugin_context.as_ref(), &req.data)?;
    let frames = tail::open(&fed, &q).map_err(|e| tail_status(&e))?;
    tracing::info!(channel = %req.path, expr = %q.expr, "live tail started");
    Ok(Box::pin(frames.map(|f| Ok(StreamPacket { data: json::to_json_bytes(&f) }))))
}

// ---- gpu/<cluster>: live GPU telemetry (see federation::gpu_stream) ----

/// Unknown cluster → NOT_FOUND; a cluster with no GPU telemetry source → an error saying so.
fn subscribe_gpu(state: &PluginState, req: &SubscribeStreamRequest, cluster: &str) -> Result<SubscribeStreamResponse, tonic::Status> {
    let fed = state.instances.get(req.plugin_context.as_ref()).map_err(|e| tail_status(&e))?;
    let status = match gpu_stream::resolve(&fed, cluster) {
        Ok(_) => subscribe_stream_response::Status::Ok,
        Err(e) if e.code == crate::error::ErrorCode::ClusterNotFound => {
            tracing::info!(channel = %req.path, error = %e, "gpu live subscription refused");
            subscribe_stream_response::Status::NotFound
        }
        Err(e) => return Err(tail_status(&e)),
    };
    Ok(SubscribeStreamResponse { status: status as i32, data: Vec::new() })
}

/// The cluster's `gpus` frames every 5 s; dropping the returned stream ends the task.
fn run_gpu(state: &PluginState, req: &RunStreamRequest, cluster: &str) -> Result<<StreamService as Stream>::RunStreamStream, tonic::Status> {
    let fed = state.instances.get(req.plugin_context.as_ref()).map_err(|e| tail_status(&e))?;
    let cluster = gpu_stream::resolve(&fed, cluster).map_err(|e| tail_status(&e))?;
    tracing::info!(channel = %req.path, "gpu live stream started");
    let frames = tokio_stream::wrappers::ReceiverStream::new(gpu_stream::start(fed, cluster));
    Ok(Box::pin(frames.map(|f| Ok(StreamPacket { data: json::to_json_bytes(&f) }))))
}
