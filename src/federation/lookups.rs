//! Look-ups fanned out over clusters for editors, variables and the HTTP API:
//! label names and values, series and metric metadata (Prometheus), label
//! names and values (Loki), tag names and values (Tempo). Each cluster's answer
//! is decoded here, into that cluster's outcome; merging (unions, by-cluster
//! maps) is the caller's, since each face wants its own shape.
//!
//! Surprises of the upstreams: Loki answers an empty label list without `data`
//! at all (not `"data":[]`), which is an empty list here, not a decode error;
//! Tempo's v2 tag endpoints answer typed values (`{"type","value"}`) and tag
//! names grouped by scope, and a tag is one percent-encoded path segment.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::traces::{tempo, tempo_error};
use super::{ClusterOutcome, Federation, decode_error, named};
use crate::error::FleetError;
use crate::frames::prometheus::{Labels, parse_series_list, parse_string_list};
use crate::query::names::{LabelName, TagName};
use crate::registry::{Backend, Cluster};

/// Fan one upstream call out to `targets`: `client` builds the cluster's
/// backend client (its error becomes that cluster's outcome), `call` runs it.
async fn each<K, T, M, C, Fut>(fed: &Federation, targets: &[Arc<Cluster>], backend: Backend, client: M, call: C) -> Vec<ClusterOutcome<T>>
where
    T: Send + 'static,
    M: Fn(&Federation, &Cluster) -> Result<K, FleetError>,
    C: Fn(K, Arc<Cluster>) -> Fut,
    Fut: Future<Output = Result<T, FleetError>> + Send + 'static,
{
    fed.fan_out(targets, backend, |cluster| {
        let fut = client(fed, &cluster).map(|c| call(c, cluster.clone()));
        async move { fut?.await }
    })
    .await
}

/// Prometheus label names (`name` = `None`) or the values of label `name`,
/// narrowed by `match[]` selectors and an optional window (ms).
pub async fn prometheus_labels(
    fed: &Federation,
    targets: &[Arc<Cluster>],
    name: Option<&LabelName>,
    matches: &[String],
    start: Option<i64>,
    end: Option<i64>,
) -> Vec<ClusterOutcome<Vec<String>>> {
    let (name, matches) = (name.cloned(), matches.to_vec());
    each(fed, targets, Backend::Prometheus, Federation::prometheus, |client, cluster| {
        let (matches, name) = (matches.clone(), name.clone());
        async move {
            let body = match &name {
                Some(n) => client.label_values(n, &matches, start, end).await,
                None => client.labels(&matches, start, end).await,
            }
            .map_err(named(&cluster, Backend::Prometheus))?;
            parse_string_list(&body).map_err(|e| decode_error(&cluster, Backend::Prometheus, e))
        }
    })
    .await
}

/// Prometheus series (label sets) matching `match[]` (at least one selector).
pub async fn prometheus_series(
    fed: &Federation,
    targets: &[Arc<Cluster>],
    matches: &[String],
    start: Option<i64>,
    end: Option<i64>,
) -> Vec<ClusterOutcome<Vec<Labels>>> {
    let matches = matches.to_vec();
    each(fed, targets, Backend::Prometheus, Federation::prometheus, |client, cluster| {
        let matches = matches.clone();
        async move {
            let body = client.series(&matches, start, end).await.map_err(named(&cluster, Backend::Prometheus))?;
            parse_series_list(&body).map_err(|e| decode_error(&cluster, Backend::Prometheus, e))
        }
    })
    .await
}

/// Prometheus metric metadata (`metric` narrows it; `limit` per cluster), as
/// Prometheus writes each metric's entries.
pub async fn prometheus_metadata(
    fed: &Federation,
    targets: &[Arc<Cluster>],
    metric: Option<&str>,
    limit: Option<u32>,
) -> Vec<ClusterOutcome<BTreeMap<String, Value>>> {
    #[derive(Deserialize)]
    struct Answer {
        data: BTreeMap<String, Value>,
    }
    let metric = metric.map(str::to_owned);
    each(fed, targets, Backend::Prometheus, Federation::prometheus, |client, cluster| {
        let metric = metric.clone();
        async move {
            let body = client.metadata(metric.as_deref(), limit).await.map_err(named(&cluster, Backend::Prometheus))?;
            serde_json::from_slice::<Answer>(&body).map(|a| a.data).map_err(|e| decode_error(&cluster, Backend::Prometheus, e))
        }
    })
    .await
}

/// Loki label names (`name` = `None`) or the values of label `name`, narrowed
/// by a stream `selector` and an optional window (ms).
pub async fn loki_labels(
    fed: &Federation,
    targets: &[Arc<Cluster>],
    name: Option<&LabelName>,
    selector: Option<&str>,
    start: Option<i64>,
    end: Option<i64>,
) -> Vec<ClusterOutcome<Vec<String>>> {
    let (name, selector) = (name.cloned(), selector.map(str::to_owned));
    each(fed, targets, Backend::Loki, Federation::loki, |client, cluster| {
        let (selector, name) = (selector.clone(), name.clone());
        async move {
            let body = match &name {
                Some(n) => client.label_values(n, selector.as_deref(), start, end).await,
                None => client.labels(selector.as_deref(), start, end).await,
            }
            .map_err(named(&cluster, Backend::Loki))?;
            match parse_string_list(&body) {
                Err(e) if e == "missing `data`" => Ok(Vec::new()),
                other => other.map_err(|e| decode_error(&cluster, Backend::Loki, e)),
            }
        }
    })
    .await
}

/// One scope's tag names, as Tempo's `/api/v2/search/tags` groups them.
#[derive(Debug, Clone, Deserialize)]
pub struct TagScope {
    pub name: String,
    #[serde(default)]
    pub tags: Vec<String>,
}

/// A tag value with its TraceQL type (`string`, `int`, `keyword`, …).
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Eq, PartialOrd, Ord)]
pub struct TypedValue {
    #[serde(rename = "type", default)]
    pub kind: String,
    #[serde(default)]
    pub value: String,
}

/// Tempo tag names by scope (`scope` narrows it) over an optional window (ms).
pub async fn tempo_tags(
    fed: &Federation,
    targets: &[Arc<Cluster>],
    scope: Option<&str>,
    start: Option<i64>,
    end: Option<i64>,
) -> Vec<ClusterOutcome<Vec<TagScope>>> {
    #[derive(Deserialize)]
    struct Scopes {
        #[serde(default)]
        scopes: Vec<TagScope>,
    }
    let scope = scope.map(str::to_owned);
    each(fed, targets, Backend::Tempo, tempo, |client, cluster| {
        let scope = scope.clone();
        async move {
            let body = client.tags_v2(scope.as_deref(), None, start, end).await.map_err(|e| tempo_error(&cluster, e))?;
            serde_json::from_slice::<Scopes>(&body).map(|s| s.scopes).map_err(|e| decode_error(&cluster, Backend::Tempo, e))
        }
    })
    .await
}

/// Tempo's values of `tag`, narrowed by TraceQL `q`, over an optional window (ms).
pub async fn tempo_tag_values(
    fed: &Federation,
    targets: &[Arc<Cluster>],
    tag: &TagName,
    q: Option<&str>,
    start: Option<i64>,
    end: Option<i64>,
) -> Vec<ClusterOutcome<Vec<TypedValue>>> {
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct TagValues {
        #[serde(default)]
        tag_values: Vec<TypedValue>,
    }
    let (tag, q) = (tag.clone(), q.map(str::to_owned));
    each(fed, targets, Backend::Tempo, tempo, |client, cluster| {
        let (tag, q) = (tag.clone(), q.clone());
        async move {
            let body = client.tag_values_v2(&tag, q.as_deref(), start, end).await.map_err(|e| tempo_error(&cluster, e))?;
            serde_json::from_slice::<TagValues>(&body).map(|v| v.tag_values).map_err(|e| decode_error(&cluster, Backend::Tempo, e))
        }
    })
    .await
}
