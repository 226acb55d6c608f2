//! `pluginv2.Stream` (Grafana Live). Channels: `alerts` and `alerts/<cluster_id>`
//! (ALERT_FIRED / ALERT_RESOLVED from stored webhook deliveries and from
//! polling Alertmanager; one `alert_history`-shaped frame per event). Unknown channels are answered
//! NOT_FOUND with the channel named, so a dashboard asking for a stream this
//! version does not have fails visibly instead of hanging. Log tail
//! (`logs/tail/…`) and GPU telemetry (`gpu/<cluster>`) plug in here as their
//! issues land.

use grafana_plugin_sdk::pluginv2::{
    PublishStreamRequest, PublishStreamResponse, RunStreamRequest, StreamPacket, SubscribeStreamRequest,
    SubscribeStreamResponse, publish_stream_response, stream_server::Stream, subscribe_stream_response,
};

use std::pin::Pin;

use futures::StreamExt;

use super::PluginState;
use crate::frames::{alertmanager, json};
use crate::store::events;

pub struct StreamService(pub PluginState);

#[tonic::async_trait]
impl Stream for StreamService {
    type RunStreamStream = Pin<Box<dyn futures::Stream<Item = Result<StreamPacket, tonic::Status>> + Send + 'static>>;

    async fn subscribe_stream(&self, request: tonic::Request<SubscribeStreamRequest>) -> Result<tonic::Response<SubscribeStreamResponse>, tonic::Status> {
        let req = request.into_inner();
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
        Ok(tonic::Response::new(SubscribeStreamResponse {
            status: subscribe_stream_response::Status::NotFound as i32,
            data: Vec::new(),
        }))
    }

    async fn run_stream(&self, request: tonic::Request<RunStreamRequest>) -> Result<tonic::Response<Self::RunStreamStream>, tonic::Status> {
        let req = request.get_ref();
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
        Ok(tonic::Response::new(PublishStreamResponse {
            status: publish_stream_response::Status::PermissionDenied as i32,
            data: Vec::new(),
        }))
    }
}
