//! The metrics hot path shared by the benches and `examples/peer_convert.rs`:
//! a Prometheus `query_range` body in, one Arrow IPC buffer per frame out —
//! exactly what QueryData does after the HTTP fetch (Grafana's dataplane
//! frames: metric-named value fields with their display names).

use fleetscope::frames::{arrow, prometheus};

pub fn frame_options() -> prometheus::PromFrameOptions<'static> {
    prometheus::PromFrameOptions { ref_id: "A", expr: "bench", legend_format: None, step_ms: 15_000, added_labels: &[] }
}

/// Points per series in the generated bodies; QueryData knows this from the
/// query's window and step and passes it to the parser the same way.
pub const POINTS_PER_SERIES: usize = 720;

/// Parse, frame and encode; the encoded frames are held together, like
/// QueryData's `Vec<Vec<u8>>` response.
pub fn to_arrow(body: &[u8]) -> Vec<Vec<u8>> {
    let resp = prometheus::parse_query_response_with_points(body, POINTS_PER_SERIES).expect("parse");
    let prometheus::PromData::Series { series, result_type } = resp.data else { panic!("not a matrix") };
    prometheus::prometheus_frames(series, result_type, &frame_options()).iter().map(|f| arrow::encode(f).expect("encode")).collect()
}
