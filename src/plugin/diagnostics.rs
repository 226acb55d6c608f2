//! `pluginv2.Diagnostics`: CheckHealth (Grafana's "Save & test") and CollectMetrics.
//!
//! Any failing cluster makes the check ERROR (partial included). A failed check is an ERROR `CheckHealthResponse` with a message naming the
//! problem (a settings field, or each failing cluster), never a gRPC error.
//! Per-cluster details go to `jsonDetails.clusters` for the config editor.

use grafana_plugin_sdk::pluginv2::{
    CheckHealthRequest, CheckHealthResponse, CollectMetricsRequest, CollectMetricsResponse, check_health_response, collect_metrics_response,
    diagnostics_server::Diagnostics,
};

use super::PluginState;
use crate::deadline::{self, Deadline};
use crate::federation::health::{self, Overall};

pub struct DiagnosticsService(pub PluginState);

#[tonic::async_trait]
impl Diagnostics for DiagnosticsService {
    async fn check_health(&self, request: tonic::Request<CheckHealthRequest>) -> Result<tonic::Response<CheckHealthResponse>, tonic::Status> {
        let arrived = tokio::time::Instant::now();
        let grpc_timeout = super::grpc_timeout(&request);
        let req = request.into_inner();
        let resp = match self.0.instances.live(req.plugin_context.as_ref()) {
            Err(e) => CheckHealthResponse {
                status: check_health_response::HealthStatus::Error as i32,
                message: e.to_string(),
                json_details: serde_json::to_vec(&serde_json::json!({ "error": e.to_json()["error"] })).unwrap_or_default(),
            },
            Ok(live) => {
                let timeout = live.current().registry.limits.timeout;
                // Settings just saved: let every discovery source look once (within half the budget).
                let fed = live.first_looks(timeout / 2).await;
                let deadline = Deadline::new(arrived, timeout, grpc_timeout);
                let report = deadline::scope(deadline, health::check(&fed)).await;
                // "Save & test" validates configuration: one unreachable cluster is
                // most likely a wrong URL or credential, so partial is shown red too;
                // the message and details say which clusters work.
                let status = match report.status {
                    Overall::Ok => check_health_response::HealthStatus::Ok,
                    Overall::Partial | Overall::Error => check_health_response::HealthStatus::Error,
                };
                CheckHealthResponse {
                    status: status as i32,
                    message: report.message.clone(),
                    json_details: serde_json::to_vec(&report).unwrap_or_default(),
                }
            }
        };
        Ok(tonic::Response::new(resp))
    }

    async fn collect_metrics(
        &self,
        _request: tonic::Request<CollectMetricsRequest>,
    ) -> Result<tonic::Response<CollectMetricsResponse>, tonic::Status> {
        let text =
            crate::telemetry::exposition(&self.0.instances.all().into_iter().map(|(name, fed)| (name, fed.breakers.gauges())).collect::<Vec<_>>());
        Ok(tonic::Response::new(CollectMetricsResponse { metrics: Some(collect_metrics_response::Payload { prometheus: text.into_bytes() }) }))
    }
}
