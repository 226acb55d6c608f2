//! go-plugin's `plugin.GRPCController` service: `Shutdown` is how Grafana's
//! plugin host asks a gRPC plugin to exit (`client.Kill()`); without it the host
//! waits two seconds and then kills the process. The SDK has no generated code
//! for it, so the one unary method is wired by hand on tonic's server primitives.

use std::convert::Infallible;
use std::task::{Context, Poll};

use tokio::sync::watch;
use tonic::codegen::{Body, BoxFuture, StdError, empty_body, http};

/// `plugin.Empty`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Empty {}

#[derive(Clone)]
pub struct ControllerServer {
    stop: watch::Sender<bool>,
}

impl ControllerServer {
    pub fn new(stop: watch::Sender<bool>) -> Self {
        ControllerServer { stop }
    }
}

struct ShutdownMethod(watch::Sender<bool>);

impl tonic::server::UnaryService<Empty> for ShutdownMethod {
    type Response = Empty;
    type Future = BoxFuture<tonic::Response<Empty>, tonic::Status>;

    fn call(&mut self, _request: tonic::Request<Empty>) -> Self::Future {
        let stop = self.0.clone();
        Box::pin(async move {
            tracing::info!("go-plugin asked for shutdown");
            let _ = stop.send(true);
            Ok(tonic::Response::new(Empty {}))
        })
    }
}

impl<B> tonic::codegen::Service<http::Request<B>> for ControllerServer
where
    B: Body + Send + 'static,
    B::Error: Into<StdError> + Send + 'static,
{
    type Response = http::Response<tonic::body::BoxBody>;
    type Error = Infallible;
    type Future = BoxFuture<Self::Response, Self::Error>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: http::Request<B>) -> Self::Future {
        if req.uri().path() == "/plugin.GRPCController/Shutdown" {
            let stop = self.stop.clone();
            return Box::pin(async move {
                let mut grpc = tonic::server::Grpc::new(tonic::codec::ProstCodec::default());
                Ok(grpc.unary(ShutdownMethod(stop), req).await)
            });
        }
        Box::pin(async move {
            let mut resp = http::Response::new(empty_body());
            resp.headers_mut().insert("grpc-status", http::HeaderValue::from(tonic::Code::Unimplemented as i32));
            resp.headers_mut().insert(http::header::CONTENT_TYPE, http::HeaderValue::from_static("application/grpc"));
            Ok(resp)
        })
    }
}

impl tonic::server::NamedService for ControllerServer {
    const NAME: &'static str = "plugin.GRPCController";
}
