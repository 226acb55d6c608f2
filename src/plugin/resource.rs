//! `pluginv2.Resource/CallResource`: Grafana forwards
//! `/api/datasources/uid/<uid>/resources/<path>` here with `<path>` relative
//! (`clusters?x=1` arrives as path `clusters`, url `clusters?x=1`). The HTTP API
//! router in `crate::api` answers; this file only adapts the envelope.

use grafana_plugin_sdk::pluginv2::{CallResourceRequest, CallResourceResponse, StringList, resource_server::Resource};

use super::PluginState;
use crate::api::{self, ApiRequest, ApiResponse};
use crate::deadline::{self, Deadline};

pub struct ResourceService(pub PluginState);

#[tonic::async_trait]
impl Resource for ResourceService {
    type CallResourceStream = futures::stream::Once<futures::future::Ready<Result<CallResourceResponse, tonic::Status>>>;

    async fn call_resource(&self, request: tonic::Request<CallResourceRequest>) -> Result<tonic::Response<Self::CallResourceStream>, tonic::Status> {
        let arrived = tokio::time::Instant::now();
        let grpc_timeout = super::grpc_timeout(&request);
        let req = request.into_inner();
        let response = match self.0.instances.get(req.plugin_context.as_ref()) {
            Err(e) => ApiResponse::error(&e),
            Ok(fed) => {
                let deadline = Deadline::new(arrived, fed.registry.limits.timeout, grpc_timeout);
                let query = req.url.split_once('?').map(|(_, q)| q.to_owned()).unwrap_or_default();
                let path = if req.path.is_empty() { req.url.split('?').next().unwrap_or("").to_owned() } else { req.path.clone() };
                {
                    let headers = req.headers.iter().flat_map(|(k, v)| v.values.iter().map(move |x| (k.as_str(), x.as_str())));
                    let call = api::handle(&fed, ApiRequest::new(&req.method, &path, &query, req.body.clone()).with_headers(headers));
                    deadline::scope(deadline, call).await
                }
            }
        };
        let mut headers = std::collections::HashMap::new();
        headers.insert("Content-Type".to_owned(), StringList { values: vec![response.content_type.to_owned()] });
        let out = CallResourceResponse { code: i32::from(response.status), headers, body: response.body.into() };
        Ok(tonic::Response::new(futures::stream::once(futures::future::ready(Ok(out)))))
    }
}
