package conformance

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/data"
)

// Secrets the resource test hands the plugin; none may come back or be
// logged.
var testSecrets = map[string]string{
	"east.bearerToken":            "fs-conformance-secret-6f1d2a",
	"west.prometheus.bearerToken": "fs-conformance-secret-93be07",
}

func withSecrets(s Settings) Settings {
	out := Settings{JSONData: s.JSONData, SecureJSONData: map[string]string{}}
	for k, v := range s.SecureJSONData {
		out.SecureJSONData[k] = v
	}
	for k, v := range testSecrets {
		out.SecureJSONData[k] = v
	}
	return out
}

func requireJSON(t *testing.T, what string, r *ResourceResponse, into any) {
	t.Helper()
	if r.Status != 200 {
		t.Fatalf("%s: HTTP %d: %s", what, r.Status, r.Body)
	}
	if ct := r.Headers.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("%s: Content-Type %q, want application/json", what, ct)
	}
	if err := json.Unmarshal(r.Body, into); err != nil {
		t.Fatalf("%s: body is not the expected JSON: %v\n%s", what, err, r.Body)
	}
}

// clusterList accepts either a bare array or {"clusters": [...]}.
type clusterList []map[string]any

func (c *clusterList) UnmarshalJSON(b []byte) error {
	var arr []map[string]any
	if err := json.Unmarshal(b, &arr); err == nil {
		*c = arr
		return nil
	}
	var obj struct {
		Clusters []map[string]any `json:"clusters"`
	}
	if err := json.Unmarshal(b, &obj); err != nil {
		return err
	}
	if obj.Clusters == nil {
		return fmt.Errorf("neither an array nor an object with a clusters array")
	}
	*c = obj.Clusters
	return nil
}

// The cluster registry through CallResource, with paths exactly as Grafana
// forwards them (relative, query string in URL only). Every configured
// cluster is listed with id and name; no secret comes back or reaches the
// plugin's log.
func TestResourceClusters(t *testing.T) {
	h := requireHarness(t)
	p := startPlugin(t, h)
	settings := withSecrets(h.Stack.Settings)
	configured, err := settings.Clusters()
	if err != nil {
		t.Fatal(err)
	}

	for _, path := range []string{"clusters", "clusters?x=1", "api/v1/clusters"} {
		t.Run(path, func(t *testing.T) {
			r, err := CallResource(p, settings, "GET", path, nil)
			if err != nil {
				t.Fatal(err)
			}
			var list clusterList
			requireJSON(t, "GET "+path, r, &list)
			got := map[string]string{}
			for _, c := range list {
				id, _ := c["id"].(string)
				name, _ := c["name"].(string)
				if id == "" || name == "" {
					t.Errorf("cluster entry without id/name: %v", c)
					continue
				}
				got[id] = name
			}
			for _, c := range configured {
				if got[c.ID] != c.Name {
					t.Errorf("cluster %q: listed name %q, configured %q", c.ID, got[c.ID], c.Name)
				}
			}
			if len(list) != len(configured) {
				t.Errorf("%d clusters listed, %d configured", len(list), len(configured))
			}
			for key, secret := range testSecrets {
				if strings.Contains(string(r.Body), secret) {
					t.Errorf("response contains the secret %s", key)
				}
			}
		})
	}

	// Use the secrets once for real, then look for them in the log.
	from, to := h.window()
	if _, err := QueryData(p, settings, Browser,
		DataQuery("A", metrics("fleetscope_probe_value", map[string]any{"clusters": []string{"east", "west"}}), from, to)); err != nil {
		t.Fatal(err)
	}
	logs := p.Logs.String()
	for key, secret := range testSecrets {
		if strings.Contains(logs, secret) {
			t.Errorf("plugin log contains the secret %s", key)
		}
	}
}

// The seed's federated instant-query response (docs: seed 000 §4.7).
type seedQueryResponse struct {
	Results []struct {
		ClusterID   string          `json:"cluster_id"`
		ClusterName string          `json:"cluster_name"`
		Status      string          `json:"status"`
		ResultType  string          `json:"result_type"`
		Data        json.RawMessage `json:"data"`
		QueryTimeMS *float64        `json:"query_time_ms"`
	} `json:"results"`
	TotalQueryTimeMS  *float64          `json:"total_query_time_ms"`
	ClustersQueried   *int              `json:"clusters_queried"`
	ClustersSucceeded *int              `json:"clusters_succeeded"`
	Frames            []json.RawMessage `json:"frames"`
}

// seedSample is one series of results[].data: Prometheus' own vector
// ("value") or matrix ("values") sample shape.
type seedSample struct {
	Metric map[string]string `json:"metric"`
	Value  []any             `json:"value"`
	Values [][]any           `json:"values"`
}

func sampleValue(s seedSample) (float64, error) {
	pair := s.Value
	if pair == nil && len(s.Values) > 0 {
		pair = s.Values[len(s.Values)-1]
	}
	if len(pair) != 2 {
		return 0, fmt.Errorf("no [timestamp, value] pair in %+v", s)
	}
	str, ok := pair[1].(string)
	if !ok {
		return 0, fmt.Errorf("sample value %v is not a string (Prometheus encodes values as strings)", pair[1])
	}
	return strconv.ParseFloat(str, 64)
}

func metricsQueryBody(t *testing.T, query string, clusters []string, at time.Time, format string) []byte {
	t.Helper()
	body := map[string]any{"query": query, "cluster_ids": clusters, "time": at.UTC().Format(time.RFC3339)}
	if format != "" {
		body["format"] = format
	}
	b, err := json.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// POST api/v1/metrics/query answers in the seed's shape.
func TestResourceMetricsQuery(t *testing.T) {
	h := requireHarness(t)
	p := startPlugin(t, h)

	body := metricsQueryBody(t, "fleetscope_probe_value", []string{"east", "west"}, h.Stack.DataEnd, "")
	r, err := CallResource(p, h.Stack.Settings, "POST", "api/v1/metrics/query", body)
	if err != nil {
		t.Fatal(err)
	}
	var resp seedQueryResponse
	requireJSON(t, "POST api/v1/metrics/query", r, &resp)
	t.Logf("response: %.600s", r.Body)

	if resp.ClustersQueried == nil || *resp.ClustersQueried != 2 {
		t.Errorf("clusters_queried = %v, want 2", resp.ClustersQueried)
	}
	if resp.ClustersSucceeded == nil || *resp.ClustersSucceeded != 2 {
		t.Errorf("clusters_succeeded = %v, want 2", resp.ClustersSucceeded)
	}
	if resp.TotalQueryTimeMS == nil || *resp.TotalQueryTimeMS < 0 {
		t.Errorf("total_query_time_ms = %v, want a duration", resp.TotalQueryTimeMS)
	}
	if len(resp.Results) != 2 {
		t.Fatalf("%d results, want one per cluster (east, west): %s", len(resp.Results), r.Body)
	}
	seen := map[string]bool{}
	for _, res := range resp.Results {
		what := "result for " + res.ClusterID
		seen[res.ClusterID] = true
		name, err := h.Stack.Settings.ClusterName(res.ClusterID)
		if err != nil {
			t.Errorf("%s: %v", what, err)
			continue
		}
		if res.ClusterName != name {
			t.Errorf("%s: cluster_name %q, want %q", what, res.ClusterName, name)
		}
		if res.Status != "SUCCESS" {
			t.Errorf("%s: status %q, want SUCCESS", what, res.Status)
		}
		if !strings.EqualFold(res.ResultType, "vector") {
			t.Errorf("%s: result_type %q, want VECTOR for an instant query", what, res.ResultType)
		}
		if res.QueryTimeMS == nil || *res.QueryTimeMS < 0 {
			t.Errorf("%s: query_time_ms %v", what, res.QueryTimeMS)
		}
		var samples []seedSample
		if err := json.Unmarshal(res.Data, &samples); err != nil {
			t.Errorf("%s: data is not a list of samples: %v: %s", what, err, res.Data)
			continue
		}
		if len(samples) != 2 {
			t.Errorf("%s: %d samples, want probe-0 and probe-1: %s", what, len(samples), res.Data)
		}
		for _, s := range samples {
			want, ok := probeValue[seriesKey{res.ClusterID, s.Metric["instance"]}]
			if !ok {
				t.Errorf("%s: unexpected sample %+v", what, s)
				continue
			}
			v, err := sampleValue(s)
			if err != nil {
				t.Errorf("%s: %v", what, err)
			} else if v != want {
				t.Errorf("%s: %v = %v, want %v", what, s.Metric, v, want)
			}
		}
	}
	if !seen["east"] || !seen["west"] {
		t.Errorf("results for %v, want east and west", SortedKeys(seen))
	}
}

// decodeJSONFrames unmarshals Grafana data-frame JSON with the SDK.
func decodeJSONFrames(t *testing.T, raws []json.RawMessage) data.Frames {
	t.Helper()
	var frames data.Frames
	for i, raw := range raws {
		f := &data.Frame{}
		if err := json.Unmarshal(raw, f); err != nil {
			t.Fatalf("frames[%d]: the SDK's frame JSON decoder rejects it: %v\n%s", i, err, raw)
		}
		frames = append(frames, f)
	}
	return frames
}

// The same call with "format":"frames" returns Grafana data-frame JSON that
// the SDK decodes into the same numeric-multi series QueryData gives.
func TestResourceMetricsQueryFrames(t *testing.T) {
	h := requireHarness(t)
	p := startPlugin(t, h)

	body := metricsQueryBody(t, "fleetscope_probe_value", []string{"east", "west"}, h.Stack.DataEnd, "frames")
	r, err := CallResource(p, h.Stack.Settings, "POST", "api/v1/metrics/query", body)
	if err != nil {
		t.Fatal(err)
	}
	var resp seedQueryResponse
	requireJSON(t, "POST api/v1/metrics/query format=frames", r, &resp)
	if len(resp.Frames) == 0 {
		t.Fatalf("no frames array in the response: %s", r.Body)
	}
	frames := decodeJSONFrames(t, resp.Frames)
	got := instantValues(t, h, readNumericMulti(t, frames))
	for k, want := range probeValue {
		if k.cluster == "edge" {
			continue
		}
		if v, ok := got[k]; !ok {
			t.Errorf("no series for %+v\n%s", k, DescribeFrames(frames))
		} else if v != want {
			t.Errorf("%+v = %v, want %v", k, v, want)
		}
	}
	if len(got) != 4 {
		t.Errorf("%d series, want 4 (east and west, probe-0 and probe-1)", len(got))
	}
}

// NaN and ±Inf cannot be JSON numbers; Grafana's frame JSON carries them as
// entities. They must come back as the same floats.
func TestResourceFramesSpecialFloats(t *testing.T) {
	h := requireHarness(t)
	p := startPlugin(t, h)

	body := metricsQueryBody(t, "fleetscope_probe_special", []string{"west", "edge"}, h.Stack.DataEnd, "frames")
	r, err := CallResource(p, h.Stack.Settings, "POST", "api/v1/metrics/query", body)
	if err != nil {
		t.Fatal(err)
	}
	var resp seedQueryResponse
	requireJSON(t, "POST api/v1/metrics/query format=frames", r, &resp)
	frames := decodeJSONFrames(t, resp.Frames)

	want := map[string]struct {
		cluster string
		value   float64
	}{
		"nan":    {"edge", math.NaN()},
		"inf":    {"west", math.Inf(1)},
		"neginf": {"west", math.Inf(-1)},
	}
	found := map[string]bool{}
	for _, f := range frames {
		fld := NumericField(f)
		if fld == nil {
			continue
		}
		w, ok := want[fld.Labels["kind"]]
		if !ok || fld.Labels["cluster_id"] != w.cluster {
			continue
		}
		vals, nulls, err := Floats(fld)
		if err != nil || nulls > 0 || len(vals) == 0 {
			t.Errorf("kind=%s: values %v nulls=%d err=%v", fld.Labels["kind"], vals, nulls, err)
			continue
		}
		found[fld.Labels["kind"]] = true
		for _, v := range vals {
			if !sameFloat(v, w.value) {
				t.Errorf("kind=%s (%s): %v, want %v", fld.Labels["kind"], fld.Labels["cluster_id"], v, w.value)
			}
		}
	}
	for kind := range want {
		if !found[kind] {
			t.Errorf("no frame for kind=%s\n%s", kind, DescribeFrames(frames))
		}
	}
}
