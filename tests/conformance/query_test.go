package conformance

import (
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/grafana/dataplane/sdata/numeric"
	"github.com/grafana/dataplane/sdata/timeseries"
	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/data"
)

// The stack's generator writes these exact values (tests/stack).
var probeValue = map[seriesKey]float64{
	{"east", "probe-0"}: 1, {"west", "probe-0"}: 2, {"edge", "probe-0"}: 4,
	{"east", "probe-1"}: 10, {"west", "probe-1"}: 20,
}

// rate(fleetscope_probe_counter_total[1m]) per cluster.
var counterRate = map[string]float64{"east": 1, "west": 2, "edge": 3}

type seriesKey struct{ cluster, instance string }

func metrics(expr string, extra map[string]any) map[string]any {
	m := map[string]any{"queryType": "metrics", "expr": expr}
	for k, v := range extra {
		m[k] = v
	}
	return m
}

func oneResponse(t *testing.T, resps map[string]Response, refID string) Response {
	t.Helper()
	r, ok := resps[refID]
	if !ok {
		t.Fatalf("no DataResponse for refId %s (got %v)", refID, SortedKeys(resps))
	}
	return r
}

func mustSucceed(t *testing.T, r Response) {
	t.Helper()
	if r.Error != "" {
		t.Fatalf("DataResponse error (status %d, source %q): %s", r.Status, r.ErrorSource, r.Error)
	}
	if len(r.Frames) == 0 {
		t.Fatalf("DataResponse has no frames")
	}
}

// requireFrameType: every frame carries the data-plane type and a non-zero
// typeVersion; without both Grafana's server-side expressions (alerting)
// do not take the data-plane path.
func requireFrameType(t *testing.T, frames data.Frames, want data.FrameType) {
	t.Helper()
	for i, f := range frames {
		if f.Meta == nil {
			t.Fatalf("frame %d has no meta\n%s", i, DescribeFrames(frames))
		}
		if f.Meta.Type != want {
			t.Errorf("frame %d meta.type %q, want %q", i, f.Meta.Type, want)
		}
		if f.Meta.TypeVersion.IsZero() {
			t.Errorf("frame %d meta.typeVersion is %v, must be > 0", i, f.Meta.TypeVersion)
		}
	}
}

// readTimeseriesMulti runs dataplane's multi-frame reader with data
// validation on and demands it accepts everything: no error, no version
// warning, no field it had to ignore.
func readTimeseriesMulti(t *testing.T, frames data.Frames) []timeseries.MetricRef {
	t.Helper()
	requireFrameType(t, frames, data.FrameTypeTimeSeriesMulti)
	reader, err := timeseries.CollectionReaderFromFrames(frames)
	if err != nil {
		t.Fatalf("sdata/timeseries rejects the frames: %v\n%s", err, DescribeFrames(frames))
	}
	c, err := reader.GetCollection(true)
	if err != nil {
		t.Fatalf("sdata/timeseries GetCollection(validateData=true): %v\n%s", err, DescribeFrames(frames))
	}
	if c.Warning != nil {
		t.Errorf("sdata/timeseries warning: %v", c.Warning)
	}
	if len(c.RemainderIndices) > 0 {
		t.Errorf("sdata/timeseries ignored fields it does not understand: %+v", c.RemainderIndices)
	}
	return c.Refs
}

func readNumericMulti(t *testing.T, frames data.Frames) []numeric.MetricRef {
	t.Helper()
	requireFrameType(t, frames, data.FrameTypeNumericMulti)
	reader, err := numeric.CollectionReaderFromFrames(frames)
	if err != nil {
		t.Fatalf("sdata/numeric rejects the frames: %v\n%s", err, DescribeFrames(frames))
	}
	// sdata/numeric implements no data validation (it panics if asked).
	c, err := reader.GetCollection(false)
	if err != nil {
		t.Fatalf("sdata/numeric GetCollection: %v\n%s", err, DescribeFrames(frames))
	}
	if c.Warning != nil {
		t.Errorf("sdata/numeric warning: %v", c.Warning)
	}
	return c.Refs
}

// checkClusterLabels: every merged series says where it came from, by name
// (cluster) and id (cluster_id), consistently with the settings.
func checkClusterLabels(t *testing.T, h *Harness, l data.Labels) string {
	t.Helper()
	id, name := l["cluster_id"], l["cluster"]
	if id == "" || name == "" {
		t.Errorf("series %v lacks cluster and/or cluster_id labels", l)
		return id
	}
	want, err := h.Stack.Settings.ClusterName(id)
	if err != nil {
		t.Errorf("series %v: %v", l, err)
	} else if name != want {
		t.Errorf("series %v: cluster label %q, settings name cluster %q %q", l, name, id, want)
	}
	return id
}

func sameFloat(got, want float64) bool {
	if math.IsNaN(want) {
		return math.IsNaN(got)
	}
	if math.IsInf(want, 0) {
		return got == want
	}
	return math.Abs(got-want) <= 1e-9*math.Max(1, math.Abs(want))
}

// checkConstant asserts every point of a series is want, with no nulls, and
// every timestamp inside the query range.
func checkConstant(t *testing.T, what string, ref timeseries.MetricRef, want float64, from, to time.Time) {
	t.Helper()
	n, err := ref.Len()
	if err != nil {
		t.Errorf("%s: %v", what, err)
		return
	}
	if n < 2 {
		t.Errorf("%s: %d points over a range query of %v", what, n, to.Sub(from))
	}
	for i := 0; i < n; i++ {
		ts, v, err := ref.NullableFloat64Point(i)
		if err != nil {
			t.Errorf("%s point %d: %v", what, i, err)
			return
		}
		if ts.Before(from) || ts.After(to) {
			t.Errorf("%s point %d at %v is outside the query range [%v, %v]", what, i, ts, from, to)
			return
		}
		if v == nil {
			t.Errorf("%s point %d at %v is null, want %v", what, i, ts, want)
			return
		}
		if !sameFloat(*v, want) {
			t.Errorf("%s point %d at %v = %v, want %v", what, i, ts, *v, want)
			return
		}
	}
}

// Range query, merge: one timeseries-multi frame per series from every
// cluster, labelled, with the generator's exact values.
func TestQueryRangeMerge(t *testing.T) {
	h := requireHarness(t)
	p := startPlugin(t, h)
	from, to := h.window()

	const expr = "fleetscope_probe_value"
	resps, err := QueryData(p, h.Stack.Settings, Browser,
		DataQuery("A", metrics(expr, map[string]any{"clusters": []string{"east", "west", "edge"}}), from, to))
	if err != nil {
		t.Fatal(err)
	}
	r := oneResponse(t, resps, "A")
	mustSucceed(t, r)
	refs := readTimeseriesMulti(t, r.Frames)

	seen := map[seriesKey]bool{}
	for _, ref := range refs {
		l := ref.GetLabels()
		id := checkClusterLabels(t, h, l)
		k := seriesKey{id, l["instance"]}
		want, ok := probeValue[k]
		if !ok {
			t.Errorf("unexpected series %v", l)
			continue
		}
		if seen[k] {
			t.Errorf("series %v appears twice", l)
		}
		seen[k] = true
		if l["job"] != "probe" {
			t.Errorf("series %v lost its upstream job label", l)
		}
		checkConstant(t, fmt.Sprintf("series %v", l), ref, want, from, to)
	}
	if len(refs) != len(probeValue) {
		t.Errorf("%d series, want %d\n%s", len(refs), len(probeValue), DescribeFrames(r.Frames))
	}

	first := r.Frames[0]
	if !strings.Contains(first.Meta.ExecutedQueryString, expr) {
		t.Errorf("meta.executedQueryString %q does not show the PromQL", first.Meta.ExecutedQueryString)
	}
	for i, f := range r.Frames {
		hasInterval := false
		for _, fld := range f.Fields {
			if fld.Config != nil && fld.Config.Interval > 0 {
				hasInterval = true
			}
		}
		if !hasInterval {
			t.Errorf("frame %d: no field carries config.interval (the step in ms)", i)
		}
	}
	statuses, err := CustomClusters(first)
	if err != nil {
		t.Errorf("meta.custom.clusters: %v", err)
	} else {
		got := map[string]string{}
		for _, s := range statuses {
			got[s.ClusterID] = s.Status
		}
		for _, id := range []string{"east", "west", "edge"} {
			if got[id] != "SUCCESS" {
				t.Errorf("meta.custom.clusters[%s].status = %q, want SUCCESS (all: %+v)", id, got[id], statuses)
			}
		}
	}
}

// An upstream series that already has a cluster label keeps it as
// exported_cluster; cluster becomes ours (docs/query-model.md, merge).
func TestQueryExportedClusterLabel(t *testing.T) {
	h := requireHarness(t)
	p := startPlugin(t, h)
	from, to := h.window()

	resps, err := QueryData(p, h.Stack.Settings, Browser,
		DataQuery("A", metrics("fleetscope_probe_cluster_label", map[string]any{"clusters": []string{"east"}, "instant": true}), from, to))
	if err != nil {
		t.Fatal(err)
	}
	r := oneResponse(t, resps, "A")
	mustSucceed(t, r)
	refs := readNumericMulti(t, r.Frames)
	if len(refs) != 1 {
		t.Fatalf("%d series, want 1\n%s", len(refs), DescribeFrames(r.Frames))
	}
	l := refs[0].GetLabels()
	checkClusterLabels(t, h, l)
	if l["cluster_id"] != "east" {
		t.Errorf("series %v: cluster_id %q, want east", l, l["cluster_id"])
	}
	if l["exported_cluster"] != "upstream-name" {
		t.Errorf("series %v: upstream cluster label not kept as exported_cluster=upstream-name", l)
	}
	if v, _, err := refs[0].NullableFloat64Value(); err != nil || v == nil || *v != 5 {
		t.Errorf("series %v: value %v (err %v), want 5", l, v, err)
	}
}

// Range query with aggregate: series identical but for the cluster labels
// are combined point by point and labelled with the contributing cluster ids.
func TestQueryRangeAggregate(t *testing.T) {
	h := requireHarness(t)
	p := startPlugin(t, h)
	from, to := h.window()

	cases := []struct {
		aggregate      string
		probe0, probe1 float64
	}{
		{"sum", 1 + 2 + 4, 10 + 20},
		{"avg", 7.0 / 3.0, 15},
		{"min", 1, 10},
		{"max", 4, 20},
	}
	var queries []backend.DataQuery
	for _, tc := range cases {
		queries = append(queries, DataQuery(tc.aggregate, metrics("fleetscope_probe_value", map[string]any{
			"clusters":  []string{"east", "west", "edge"},
			"aggregate": tc.aggregate,
		}), from, to))
	}
	resps, err := QueryData(p, h.Stack.Settings, Browser, queries...)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range cases {
		t.Run(tc.aggregate, func(t *testing.T) {
			r := oneResponse(t, resps, tc.aggregate)
			mustSucceed(t, r)
			refs := readTimeseriesMulti(t, r.Frames)
			want := map[string]struct {
				value    float64
				clusters string
			}{
				"probe-0": {tc.probe0, "east,edge,west"},
				"probe-1": {tc.probe1, "east,west"},
			}
			seen := map[string]bool{}
			for _, ref := range refs {
				l := ref.GetLabels()
				w, ok := want[l["instance"]]
				if !ok {
					t.Errorf("unexpected series %v", l)
					continue
				}
				if seen[l["instance"]] {
					t.Errorf("instance %s appears in two aggregated series (%v)", l["instance"], l)
				}
				seen[l["instance"]] = true
				if l["clusters"] != w.clusters {
					t.Errorf("series %v: clusters label %q, want %q", l, l["clusters"], w.clusters)
				}
				for _, gone := range []string{"cluster", "cluster_id"} {
					if v, ok := l[gone]; ok {
						t.Errorf("aggregated series %v still carries %s=%q", l, gone, v)
					}
				}
				checkConstant(t, fmt.Sprintf("%s series %v", tc.aggregate, l), ref, w.value, from, to)
			}
			if len(refs) != len(want) {
				t.Errorf("%d series, want %d\n%s", len(refs), len(want), DescribeFrames(r.Frames))
			}
		})
	}
}

func instantValues(t *testing.T, h *Harness, refs []numeric.MetricRef) map[seriesKey]float64 {
	t.Helper()
	out := map[seriesKey]float64{}
	for _, ref := range refs {
		l := ref.GetLabels()
		id := checkClusterLabels(t, h, l)
		v, empty, err := ref.NullableFloat64Value()
		if err != nil || empty || v == nil {
			t.Errorf("series %v: value %v empty=%v err=%v", l, v, empty, err)
			continue
		}
		k := seriesKey{id, l["instance"]}
		if _, dup := out[k]; dup {
			t.Errorf("series %v appears twice", l)
		}
		out[k] = *v
	}
	return out
}

// Instant queries, sent as Grafana's alert scheduler sends them (no user,
// FromAlert header): numeric-multi frames that sdata/numeric accepts.
func TestQueryInstant(t *testing.T) {
	h := requireHarness(t)
	p := startPlugin(t, h)
	from, to := h.window()

	all := []string{"east", "west", "edge"}
	resps, err := QueryData(p, h.Stack.Settings, Alerting,
		DataQuery("V", metrics("fleetscope_probe_value", map[string]any{"clusters": all, "instant": true}), from, to),
		DataQuery("R", metrics("rate(fleetscope_probe_counter_total[1m])", map[string]any{"clusters": all, "instant": true}), from, to),
	)
	if err != nil {
		t.Fatal(err)
	}

	t.Run("gauge", func(t *testing.T) {
		r := oneResponse(t, resps, "V")
		mustSucceed(t, r)
		got := instantValues(t, h, readNumericMulti(t, r.Frames))
		for k, want := range probeValue {
			if v, ok := got[k]; !ok {
				t.Errorf("no series for %+v", k)
			} else if !sameFloat(v, want) {
				t.Errorf("%+v = %v, want %v", k, v, want)
			}
		}
		if len(got) != len(probeValue) {
			t.Errorf("%d series, want %d\n%s", len(got), len(probeValue), DescribeFrames(r.Frames))
		}
	})
	t.Run("rate", func(t *testing.T) {
		r := oneResponse(t, resps, "R")
		mustSucceed(t, r)
		refs := readNumericMulti(t, r.Frames)
		got := map[string]float64{}
		for _, ref := range refs {
			l := ref.GetLabels()
			id := checkClusterLabels(t, h, l)
			v, empty, err := ref.NullableFloat64Value()
			if err != nil || empty || v == nil {
				t.Errorf("series %v: value %v empty=%v err=%v", l, v, empty, err)
				continue
			}
			if _, dup := got[id]; dup {
				t.Errorf("cluster %s has more than one rate series (%v)", id, l)
			}
			got[id] = *v
		}
		for id, want := range counterRate {
			if v, ok := got[id]; !ok {
				t.Errorf("no rate for cluster %s", id)
			} else if math.Abs(v-want) > 1e-6*want {
				t.Errorf("rate for %s = %v, want %v", id, v, want)
			}
		}
		if len(got) != len(counterRate) {
			t.Errorf("rates for %v, want exactly %v", SortedKeys(got), SortedKeys(counterRate))
		}
	})
}

// NaN, +Inf and -Inf from Prometheus survive the Arrow encoding and arrive
// as float values (not nulls) in Grafana, for range and instant queries.
func TestQuerySpecialFloats(t *testing.T) {
	h := requireHarness(t)
	p := startPlugin(t, h)
	from, to := h.window()

	want := map[string]struct {
		cluster string
		value   float64
	}{
		"nan":    {"edge", math.NaN()},
		"inf":    {"west", math.Inf(1)},
		"neginf": {"west", math.Inf(-1)},
	}
	all := []string{"east", "west", "edge"}
	resps, err := QueryData(p, h.Stack.Settings, Browser,
		DataQuery("range", metrics("fleetscope_probe_special", map[string]any{"clusters": all}), from, to),
		DataQuery("instant", metrics("fleetscope_probe_special", map[string]any{"clusters": all, "instant": true}), from, to),
	)
	if err != nil {
		t.Fatal(err)
	}

	t.Run("range", func(t *testing.T) {
		r := oneResponse(t, resps, "range")
		mustSucceed(t, r)
		found := map[string]bool{}
		for _, ref := range readTimeseriesMulti(t, r.Frames) {
			l := ref.GetLabels()
			w, ok := want[l["kind"]]
			if !ok || l["cluster_id"] != w.cluster {
				continue
			}
			found[l["kind"]] = true
			checkConstant(t, fmt.Sprintf("series %v", l), ref, w.value, from, to)
		}
		for kind, w := range want {
			if !found[kind] {
				t.Errorf("no series kind=%q from %s\n%s", kind, w.cluster, DescribeFrames(r.Frames))
			}
		}
	})
	t.Run("instant", func(t *testing.T) {
		r := oneResponse(t, resps, "instant")
		mustSucceed(t, r)
		found := map[string]bool{}
		for _, ref := range readNumericMulti(t, r.Frames) {
			l := ref.GetLabels()
			w, ok := want[l["kind"]]
			if !ok || l["cluster_id"] != w.cluster {
				continue
			}
			found[l["kind"]] = true
			v, empty, err := ref.NullableFloat64Value()
			if err != nil || empty || v == nil {
				t.Errorf("series %v: value %v empty=%v err=%v (NaN/Inf must not become null)", l, v, empty, err)
				continue
			}
			if !sameFloat(*v, w.value) {
				t.Errorf("series %v = %v, want %v", l, *v, w.value)
			}
		}
		for kind, w := range want {
			if !found[kind] {
				t.Errorf("no series kind=%q from %s\n%s", kind, w.cluster, DescribeFrames(r.Frames))
			}
		}
	})
}

// A query over all clusters (no clusters field) while dead and hung fail:
// the healthy clusters' series arrive, the failures become warning notices
// with their error codes, and the DataResponse itself carries no error.
func TestQueryPartialFailure(t *testing.T) {
	h := requireHarness(t)
	p := startPlugin(t, h)
	from, to := h.window()

	resps, err := QueryData(p, h.Stack.Settings, Browser,
		DataQuery("A", metrics("fleetscope_probe_value", nil), from, to))
	if err != nil {
		t.Fatal(err)
	}
	r := oneResponse(t, resps, "A")
	mustSucceed(t, r)
	refs := readTimeseriesMulti(t, r.Frames)

	got := map[string]bool{}
	for _, ref := range refs {
		got[ref.GetLabels()["cluster_id"]] = true
	}
	if ids := SortedKeys(got); strings.Join(ids, ",") != "east,edge,west" {
		t.Errorf("series came from clusters %v, want east, edge, west", ids)
	}

	first := r.Frames[0]
	var notices []data.Notice
	if first.Meta != nil {
		notices = first.Meta.Notices
	}
	for id, code := range failingClusters {
		name, err := h.Stack.Settings.ClusterName(id)
		if err != nil {
			t.Fatal(err)
		}
		// docs/query-model.md spells the text "<cluster name>: <ERROR_CODE>:
		// <message>"; what Grafana shows a user needs the name and the code
		// in one warning, so that is what is asserted.
		ok := false
		for _, n := range notices {
			if n.Severity == data.NoticeSeverityWarning && strings.Contains(n.Text, name) && strings.Contains(n.Text, code) {
				ok = true
				if !strings.HasPrefix(n.Text, name+": "+code+": ") {
					t.Logf("notice %q does not follow the documented \"<cluster name>: <ERROR_CODE>: <message>\" layout", n.Text)
				}
			}
		}
		if !ok {
			t.Errorf("first frame has no warning notice naming %s (%q) with %s; notices on all frames: %+v", id, name, code, Notices(r.Frames))
		}
	}

	statuses, err := CustomClusters(first)
	if err != nil {
		t.Fatalf("meta.custom.clusters: %v", err)
	}
	byID := map[string]ClusterStatus{}
	for _, s := range statuses {
		byID[s.ClusterID] = s
	}
	for _, id := range healthyClusters {
		if byID[id].Status != "SUCCESS" {
			t.Errorf("meta.custom.clusters[%s] = %+v, want status SUCCESS", id, byID[id])
		}
	}
	for id, code := range failingClusters {
		if s := byID[id]; s.Status != "ERROR" || s.ErrorCode != code {
			t.Errorf("meta.custom.clusters[%s] = %+v, want status ERROR error_code %s", id, s, code)
		}
	}
}

// When every targeted cluster fails, the query fails: DataResponse.Error
// with an HTTP status from the error codes (503 unreachable, 504 timeout).
func TestQueryAllTargetedClustersFail(t *testing.T) {
	h := requireHarness(t)
	p := startPlugin(t, h)
	from, to := h.window()

	resps, err := QueryData(p, h.Stack.Settings, Browser,
		DataQuery("A", metrics("fleetscope_probe_value", map[string]any{"clusters": []string{"dead", "hung"}}), from, to))
	if err != nil {
		t.Fatal(err)
	}
	r := oneResponse(t, resps, "A")
	if r.Error == "" {
		t.Fatalf("no DataResponse error although dead and hung both failed\n%s", DescribeFrames(r.Frames))
	}
	t.Logf("error (status %d, source %q): %s", r.Status, r.ErrorSource, r.Error)
	if r.Status != 503 && r.Status != 504 {
		t.Errorf("DataResponse status %d, want 503 (CLUSTER_UNREACHABLE) or 504 (QUERY_TIMEOUT)", r.Status)
	}
	if !strings.Contains(r.Error, "CLUSTER_UNREACHABLE") && !strings.Contains(r.Error, "QUERY_TIMEOUT") {
		t.Errorf("error does not carry the failures' codes: %q", r.Error)
	}
}

// One bad query does not sink the batch: a malformed JSON body and invalid
// PromQL get their own errors, the valid query its frames.
func TestQueryBatchIsolation(t *testing.T) {
	h := requireHarness(t)
	p := startPlugin(t, h)
	from, to := h.window()

	resps, err := QueryData(p, h.Stack.Settings, Browser,
		DataQuery("good", metrics("fleetscope_probe_value", map[string]any{"clusters": []string{"east"}}), from, to),
		RawDataQuery("malformed", `{"refId":"malformed","queryType":"metrics","expr":"fleetscope_probe_value",`, from, to),
		DataQuery("badpromql", metrics("sum(", map[string]any{"clusters": []string{"east"}}), from, to),
	)
	if err != nil {
		t.Fatal(err)
	}
	if len(resps) != 3 {
		t.Errorf("%d DataResponses (%v), want one per refId", len(resps), SortedKeys(resps))
	}

	good := oneResponse(t, resps, "good")
	mustSucceed(t, good)
	refs := readTimeseriesMulti(t, good.Frames)
	if len(refs) != 2 {
		t.Errorf("good query: %d series from east, want 2", len(refs))
	}

	bad := oneResponse(t, resps, "malformed")
	if bad.Error == "" {
		t.Errorf("malformed JSON query has no error")
	} else if bad.Status < 400 || bad.Status >= 500 {
		t.Errorf("malformed JSON query: status %d, want 4xx (error %q)", bad.Status, bad.Error)
	}

	t.Logf("malformed: status %d: %s", bad.Status, bad.Error)

	pq := oneResponse(t, resps, "badpromql")
	t.Logf("badpromql: status %d: %s", pq.Status, pq.Error)
	if !strings.Contains(pq.Error, "INVALID_PROMQL") {
		t.Errorf("sum( : error %q does not carry INVALID_PROMQL", pq.Error)
	}
	lower := strings.ToLower(pq.Error)
	mentions := false
	for _, w := range []string{"unclosed", "parenthes", "unexpected", "parse", "expected"} {
		if strings.Contains(lower, w) {
			mentions = true
		}
	}
	if !mentions {
		t.Errorf("sum( : error %q does not say what is wrong with the expression", pq.Error)
	}
	if pq.Status != 400 {
		t.Errorf("sum( : status %d, want 400 (INVALID_PROMQL)", pq.Status)
	}
}
