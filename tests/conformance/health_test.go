package conformance

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
)

var healthyClusters = []string{"east", "west", "edge"}

// failingClusters maps each failing stack cluster to the error code the
// plugin must report for it.
var failingClusters = map[string]string{
	"dead": "CLUSTER_UNREACHABLE", // refuses connections
	"hung": "QUERY_TIMEOUT",       // accepts, never answers
}

// "Save & test" with the stack's settings: two of five clusters cannot be
// queried, so the check is not OK, and what it says (message and JSON
// details) names every cluster with its own verdict.
func TestCheckHealthNamesEveryCluster(t *testing.T) {
	h := requireHarness(t)
	p := startPlugin(t, h)

	res, err := CheckHealth(p, h.Stack.Settings)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("CheckHealth: status=%v message=%q details=%s", res.Status, res.Message, res.JSONDetails)
	if res.Status != backend.HealthStatusError {
		t.Errorf("status %v with dead and hung clusters, want ERROR", res.Status)
	}

	verdicts := healthVerdicts(t, h.Stack.Settings, res)
	for _, id := range healthyClusters {
		v, ok := verdicts[id]
		if !ok {
			t.Errorf("cluster %q is not named in the health result", id)
			continue
		}
		if !v.ok {
			t.Errorf("healthy cluster %q reported as failing: %s", id, v.text)
		}
	}
	for id, code := range failingClusters {
		v, ok := verdicts[id]
		if !ok {
			t.Errorf("cluster %q is not named in the health result", id)
			continue
		}
		if v.ok {
			t.Errorf("cluster %q reported as healthy: %s", id, v.text)
		}
		if !strings.Contains(v.text, code) {
			t.Errorf("cluster %q: health result does not carry %s: %s", id, code, v.text)
		}
	}
}

// With only the reachable clusters configured, the check passes.
func TestCheckHealthOKWhenAllClustersAnswer(t *testing.T) {
	h := requireHarness(t)
	p := startPlugin(t, h)

	settings, err := h.Stack.Settings.WithJSONData(func(jd map[string]any) {
		clusters, _ := jd["clusters"].([]any)
		var keep []any
		for _, c := range clusters {
			if m, ok := c.(map[string]any); ok && m["id"] != "dead" && m["id"] != "hung" {
				keep = append(keep, c)
			}
		}
		jd["clusters"] = keep
	})
	if err != nil {
		t.Fatal(err)
	}
	res, err := CheckHealth(p, settings)
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != backend.HealthStatusOk {
		t.Errorf("status %v with east, west and edge only, want OK; message=%q details=%s", res.Status, res.Message, res.JSONDetails)
	}
}

// Unknown settings keys are rejected with a message naming the key
// (docs/configuration.md), both at the top of jsonData and deep inside it.
func TestCheckHealthRejectsUnknownKeys(t *testing.T) {
	h := requireHarness(t)
	p := startPlugin(t, h)

	cases := []struct {
		name string
		key  string
		edit func(map[string]any)
	}{
		{"top-level", "clusterz", func(jd map[string]any) { jd["clusterz"] = []any{} }},
		{"nested", "urll", func(jd map[string]any) {
			c := jd["clusters"].([]any)[0].(map[string]any)
			prom, _ := c["prometheus"].(map[string]any)
			if prom == nil {
				prom = map[string]any{}
				c["prometheus"] = prom
			}
			prom["urll"] = "http://127.0.0.1:1"
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			settings, err := h.Stack.Settings.WithJSONData(tc.edit)
			if err != nil {
				t.Fatal(err)
			}
			res, err := CheckHealth(p, settings)
			if err != nil {
				t.Fatal(err)
			}
			if res.Status != backend.HealthStatusError {
				t.Errorf("status %v for settings with unknown key %q, want ERROR", res.Status, tc.key)
			}
			if !strings.Contains(res.Message, tc.key) {
				t.Errorf("message does not name the unknown key %q: %q", tc.key, res.Message)
			}
		})
	}
}

type verdict struct {
	ok   bool
	text string
}

// healthVerdicts finds, for every configured cluster, what the health result
// says about it. Structured JSON details are preferred: any object carrying
// the cluster's id (key cluster_id or id) and a status. Otherwise the message
// line naming the cluster (by id or name) is read.
func healthVerdicts(t *testing.T, s Settings, res *backend.CheckHealthResult) map[string]verdict {
	t.Helper()
	clusters, err := s.Clusters()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]verdict{}

	var details any
	if len(res.JSONDetails) > 0 {
		if err := json.Unmarshal(res.JSONDetails, &details); err != nil {
			t.Errorf("CheckHealth JSONDetails is not JSON: %v: %s", err, res.JSONDetails)
		}
	}
	byID := map[string]map[string]any{}
	walkJSON(details, func(obj map[string]any) {
		for _, key := range []string{"cluster_id", "id"} {
			if id, ok := obj[key].(string); ok {
				if _, seen := byID[id]; !seen {
					byID[id] = obj
				}
			}
		}
		// Also {"<cluster id>": {"status": ...}}.
		for _, c := range clusters {
			if child, ok := obj[c.ID].(map[string]any); ok {
				if _, seen := byID[c.ID]; !seen {
					byID[c.ID] = child
				}
			}
		}
	})
	for _, c := range clusters {
		if obj, ok := byID[c.ID]; ok {
			if st, ok := obj["status"].(string); ok {
				raw, _ := json.Marshal(obj)
				out[c.ID] = verdict{ok: isOKStatus(st), text: string(raw)}
				continue
			}
		}
		for _, line := range strings.Split(res.Message, "\n") {
			if containsWord(line, c.ID) || (c.Name != "" && strings.Contains(line, c.Name)) {
				failed := strings.Contains(line, "CLUSTER_") || strings.Contains(line, "QUERY_TIMEOUT") ||
					strings.Contains(strings.ToLower(line), "error") || strings.Contains(strings.ToLower(line), "fail")
				out[c.ID] = verdict{ok: !failed, text: line}
				break
			}
		}
	}
	return out
}

func isOKStatus(s string) bool {
	switch strings.ToUpper(s) {
	case "SUCCESS", "OK", "HEALTHY", "PASS", "PASSED", "UP":
		return true
	}
	return false
}

func walkJSON(v any, visit func(map[string]any)) {
	switch x := v.(type) {
	case map[string]any:
		visit(x)
		for _, child := range x {
			walkJSON(child, visit)
		}
	case []any:
		for _, child := range x {
			walkJSON(child, visit)
		}
	}
}

// containsWord reports whether s contains w delimited by non-identifier
// characters (so "east" does not match "northeast").
func containsWord(s, w string) bool {
	for i := 0; ; {
		j := strings.Index(s[i:], w)
		if j < 0 {
			return false
		}
		start, end := i+j, i+j+len(w)
		if (start == 0 || !isIdentByte(s[start-1])) && (end == len(s) || !isIdentByte(s[end])) {
			return true
		}
		i = start + 1
	}
}

func isIdentByte(b byte) bool {
	return b == '_' || b == '-' || (b >= 'a' && b <= 'z') || (b >= 'A' && b <= 'Z') || (b >= '0' && b <= '9')
}
