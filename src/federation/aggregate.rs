//! Cross-cluster aggregation of series (`aggregate: merge|sum|avg|min|max`).
//!
//! Semantics (docs/query-model.md): `merge` keeps every series and labels it with
//! its cluster; the others combine series whose labels are equal once the
//! cluster labels are removed, point by point at equal timestamps, and label the
//! result with `clusters` = the contributing cluster ids.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use crate::frames::prometheus::{Labels, Series};
use crate::query::metrics::Aggregate;
use crate::registry::Cluster;

pub const CLUSTER_LABEL: &str = "cluster";
pub const CLUSTER_ID_LABEL: &str = "cluster_id";
pub const EXPORTED_CLUSTER_LABEL: &str = "exported_cluster";
pub const CLUSTERS_LABEL: &str = "clusters";
/// Labels federation adds to series: not upstream labels when legends are chosen.
pub const ADDED_LABELS: &[&str] = &[CLUSTER_LABEL, CLUSTER_ID_LABEL, CLUSTERS_LABEL];

/// Add `cluster`/`cluster_id`; an upstream `cluster` label with another value
/// is kept as `exported_cluster` (Prometheus' `honor_labels: false` convention).
pub fn label_with_cluster(labels: &mut Labels, cluster: &Cluster) {
    if let Some(upstream) = labels.remove(CLUSTER_LABEL)
        && upstream != cluster.name
    {
        labels.insert(EXPORTED_CLUSTER_LABEL.to_owned(), upstream);
    }
    labels.insert(CLUSTER_LABEL.to_owned(), cluster.name.clone());
    labels.insert(CLUSTER_ID_LABEL.to_owned(), cluster.id.to_string());
}

#[derive(Clone, Copy)]
struct Acc {
    sum: f64,
    count: u32,
    min: f64,
    max: f64,
}

impl Acc {
    fn new(v: f64) -> Self {
        Acc { sum: v, count: 1, min: v, max: v }
    }

    fn add(&mut self, v: f64) {
        self.sum += v;
        self.count += 1;
        // NaN is ignored by min/max unless every input is NaN (PromQL semantics).
        if self.min.is_nan() || v < self.min {
            self.min = v;
        }
        if self.max.is_nan() || v > self.max {
            self.max = v;
        }
    }

    fn value(&self, agg: Aggregate) -> f64 {
        match agg {
            Aggregate::Sum => self.sum,
            Aggregate::Avg => self.sum / f64::from(self.count),
            Aggregate::Min => self.min,
            Aggregate::Max => self.max,
            Aggregate::Merge => self.sum,
        }
    }
}

/// Combine the series of every cluster.
pub fn combine(per_cluster: Vec<(Arc<Cluster>, Vec<Series>)>, agg: Aggregate) -> Vec<Series> {
    if agg == Aggregate::Merge {
        let total = per_cluster.iter().map(|(_, s)| s.len()).sum();
        let mut out = Vec::with_capacity(total);
        for (cluster, series) in per_cluster {
            for mut s in series {
                label_with_cluster(&mut s.labels, &cluster);
                out.push(s);
            }
        }
        return out;
    }
    struct Group {
        clusters: BTreeSet<String>,
        points: BTreeMap<i64, Acc>,
    }
    let mut groups: BTreeMap<Labels, Group> = BTreeMap::new();
    for (cluster, series) in per_cluster {
        for s in series {
            let mut key = s.labels;
            key.remove(CLUSTER_LABEL);
            key.remove(CLUSTER_ID_LABEL);
            key.remove(EXPORTED_CLUSTER_LABEL);
            let g = groups.entry(key).or_insert_with(|| Group { clusters: BTreeSet::new(), points: BTreeMap::new() });
            g.clusters.insert(cluster.id.to_string());
            for (t, v) in s.times_ms.into_iter().zip(s.values) {
                g.points.entry(t).and_modify(|a| a.add(v)).or_insert_with(|| Acc::new(v));
            }
        }
    }
    groups
        .into_iter()
        .map(|(mut labels, g)| {
            labels.insert(CLUSTERS_LABEL.to_owned(), g.clusters.into_iter().collect::<Vec<_>>().join(","));
            let (times_ms, values) = g.points.into_iter().map(|(t, a)| (t, a.value(agg))).unzip();
            Series { labels, times_ms, values }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::Registry;

    fn clusters() -> Vec<Arc<Cluster>> {
        let reg = Registry::from_grafana(
            br#"{"clusters":[{"id":"a","name":"alpha","prometheus":{"url":"http://a"}},{"id":"b","name":"beta","prometheus":{"url":"http://b"}}]}"#,
            &Default::default(),
        )
        .unwrap();
        reg.clusters().to_vec()
    }

    fn s(labels: &[(&str, &str)], pts: &[(i64, f64)]) -> Series {
        Series {
            labels: labels.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            times_ms: pts.iter().map(|p| p.0).collect(),
            values: pts.iter().map(|p| p.1).collect(),
        }
    }

    fn input() -> Vec<(Arc<Cluster>, Vec<Series>)> {
        let c = clusters();
        vec![
            (c[0].clone(), vec![s(&[("job", "x")], &[(1, 1.0), (2, 2.0)]), s(&[("job", "y")], &[(1, 5.0)])]),
            (c[1].clone(), vec![s(&[("job", "x"), ("cluster", "upstream")], &[(1, 3.0), (3, 4.0)])]),
        ]
    }

    #[test]
    fn merge_labels_every_series() {
        let out = combine(input(), Aggregate::Merge);
        assert_eq!(out.len(), 3);
        assert_eq!(out[0].labels["cluster"], "alpha");
        assert_eq!(out[0].labels["cluster_id"], "a");
        assert_eq!(out[2].labels["cluster"], "beta");
        assert_eq!(out[2].labels["exported_cluster"], "upstream");
    }

    #[test]
    fn sum_avg_min_max_combine_equal_label_sets() {
        let by = |agg| {
            let out = combine(input(), agg);
            let x = out.iter().find(|s| s.labels["job"] == "x").unwrap().clone();
            assert_eq!(x.labels["clusters"], "a,b");
            assert!(!x.labels.contains_key("cluster"));
            let y = out.iter().find(|s| s.labels["job"] == "y").unwrap().clone();
            assert_eq!(y.labels["clusters"], "a");
            (x.times_ms, x.values)
        };
        assert_eq!(by(Aggregate::Sum), (vec![1, 2, 3], vec![4.0, 2.0, 4.0]));
        assert_eq!(by(Aggregate::Avg), (vec![1, 2, 3], vec![2.0, 2.0, 4.0]));
        assert_eq!(by(Aggregate::Min), (vec![1, 2, 3], vec![1.0, 2.0, 4.0]));
        assert_eq!(by(Aggregate::Max), (vec![1, 2, 3], vec![3.0, 2.0, 4.0]));
    }

    #[test]
    fn nan_and_inf_follow_promql() {
        let c = clusters();
        let data = || {
            vec![
                (c[0].clone(), vec![s(&[("k", "v")], &[(1, f64::NAN), (2, f64::INFINITY), (3, f64::NAN)])]),
                (c[1].clone(), vec![s(&[("k", "v")], &[(1, 2.0), (2, f64::NEG_INFINITY), (3, f64::NAN)])]),
            ]
        };
        let sum = combine(data(), Aggregate::Sum).remove(0);
        assert!(sum.values[0].is_nan() && sum.values[1].is_nan() && sum.values[2].is_nan());
        let min = combine(data(), Aggregate::Min).remove(0);
        assert_eq!(min.values[0], 2.0, "NaN ignored");
        assert_eq!(min.values[1], f64::NEG_INFINITY);
        assert!(min.values[2].is_nan(), "all NaN stays NaN");
        let max = combine(data(), Aggregate::Max).remove(0);
        assert_eq!(max.values[0], 2.0);
        assert_eq!(max.values[1], f64::INFINITY);
    }
}
