//! `pluginv2.Stream` (Grafana Live). No channel is served yet: subscriptions are
//! answered NOT_FOUND with the channel named, so a dashboard asking for a stream
//! this version does not have fails visibly instead of hanging. Log tail
//! (`logs/tail/…`), GPU telemetry (`gpu/<cluster>`) and alert events (`alerts`)
//! plug in here as their issues land.

use grafana_plugin_sdk::pluginv2::{
    PublishStreamRequest, PublishStreamResponse, RunStreamRequest, StreamPacket, SubscribeStreamRequest,
    SubscribeStreamResponse, publish_stream_response, stream_server::Stream, subscribe_stream_response,
};

use super::PluginState;

pub struct StreamService(#[allow(dead_code)] pub PluginState);

#[tonic::async_trait]
impl Stream for StreamService {
    type RunStreamStream = futures::stream::Empty<Result<StreamPacket, tonic::Status>>;

    async fn subscribe_stream(&self, request: tonic::Request<SubscribeStreamRequest>) -> Result<tonic::Response<SubscribeStreamResponse>, tonic::Status> {
        let path = request.into_inner().path;
        tracing::info!(channel = %path, "subscription to an unknown channel refused");
        Ok(tonic::Response::new(SubscribeStreamResponse {
            status: subscribe_stream_response::Status::NotFound as i32,
            data: Vec::new(),
        }))
    }

    async fn run_stream(&self, request: tonic::Request<RunStreamRequest>) -> Result<tonic::Response<Self::RunStreamStream>, tonic::Status> {
        Err(tonic::Status::not_found(format!("no stream channel {:?} in this version of the plugin", request.into_inner().path)))
    }

    async fn publish_stream(&self, _request: tonic::Request<PublishStreamRequest>) -> Result<tonic::Response<PublishStreamResponse>, tonic::Status> {
        Ok(tonic::Response::new(PublishStreamResponse {
            status: publish_stream_response::Status::PermissionDenied as i32,
            data: Vec::new(),
        }))
    }
}
