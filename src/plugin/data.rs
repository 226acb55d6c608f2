//! `pluginv2.Data/QueryData`: every query of the batch parsed on its own and
//! run concurrently; each gets its own `DataResponse` (frames, or an error with
//! its status), so one malformed query never sinks the others. Each runs under
//! one deadline from the call's arrival (`crate::deadline`).

use std::collections::HashMap;
use std::panic::AssertUnwindSafe;

use futures::FutureExt;
use grafana_plugin_sdk::pluginv2::{DataQuery, DataResponse, QueryDataRequest, QueryDataResponse, data_server::Data};

use super::PluginState;
use crate::deadline::{self, Deadline};
use crate::error::{ErrorCode, FleetError};
use crate::federation::{self, Federation};
use crate::frames;
use crate::query::{self, QueryEnvelope, TimeRange};

pub struct DataService(pub PluginState);

#[tonic::async_trait]
impl Data for DataService {
    #[tracing::instrument(skip_all, fields(queries = request.get_ref().queries.len()))]
    async fn query_data(&self, request: tonic::Request<QueryDataRequest>) -> Result<tonic::Response<QueryDataResponse>, tonic::Status> {
        let arrived = tokio::time::Instant::now();
        let grpc_timeout = super::grpc_timeout(&request);
        let req = request.into_inner();
        let fed = self.0.instances.get(req.plugin_context.as_ref());
        let uid = req.plugin_context.as_ref().and_then(|c| c.data_source_instance_settings.as_ref()).map(|s| s.uid.as_str());
        let in_flight = req.queries.len() as f64;
        crate::telemetry::gauge_add("fleetscope_queries_in_flight", "QueryData queries being answered.", &[], in_flight);
        let answers = futures::future::join_all(req.queries.iter().map(|q| {
            let fed = fed.clone();
            async move {
                let result = match fed {
                    Ok(fed) => {
                        let deadline = Deadline::new(arrived, fed.registry.limits.timeout, grpc_timeout);
                        deadline::scope(deadline, AssertUnwindSafe(answer(&fed, q, uid)).catch_unwind())
                            .await
                            .unwrap_or_else(|_| Err(FleetError::internal("the query crashed inside the plugin; it was isolated, please report it")))
                    }
                    Err(e) => Err(e),
                };
                (q.ref_id.clone(), to_data_response(result))
            }
        }))
        .await;
        crate::telemetry::gauge_add("fleetscope_queries_in_flight", "QueryData queries being answered.", &[], -in_flight);
        let responses: HashMap<String, DataResponse> = answers.into_iter().collect();
        Ok(tonic::Response::new(QueryDataResponse { responses }))
    }
}

/// Parse, run and encode one query; `uid` is the answering datasource's (for links).
async fn answer(fed: &Federation, q: &DataQuery, uid: Option<&str>) -> Result<Vec<Vec<u8>>, FleetError> {
    let range = q.time_range.as_ref().ok_or_else(|| FleetError::invalid_query("query has no time range"))?;
    let env = QueryEnvelope {
        ref_id: q.ref_id.clone(),
        time_range: TimeRange::new(range.from_epoch_ms, range.to_epoch_ms)?,
        interval_ms: q.interval_ms,
        max_data_points: q.max_data_points,
    };
    let mut parsed = query::parse(&q.query_type, &q.json, env)?;
    parsed.use_datasource_uid(uid);
    let frames = federation::execute(fed, &parsed).await?;
    // Consume the frames while encoding: each frame's columns are freed as soon
    // as its Arrow bytes exist, so columns and IPC bytes never coexist in full.
    frames.into_iter().map(|f| frames::arrow::encode(&f).map_err(|e| FleetError::new(ErrorCode::Internal, e.to_string()))).collect()
}

fn to_data_response(result: Result<Vec<Vec<u8>>, FleetError>) -> DataResponse {
    match result {
        Ok(frames) => DataResponse { frames, error: String::new(), json_meta: Vec::new(), status: 200 },
        Err(e) => {
            tracing::info!(code = %e.code, error = %e.message, "query failed");
            crate::telemetry::count("fleetscope_query_errors_total", "Failed queries by error code.", &[("code", e.code.as_str())], 1.0);
            DataResponse { frames: Vec::new(), error: e.to_string(), json_meta: Vec::new(), status: i32::from(e.code.http_status()) }
        }
    }
}
