package conformance

// Every provisioned dashboard panel, sent to the plugin binary the way
// Grafana sends it: one QueryData per panel carrying all of the panel's
// targets, variables interpolated as the query editor's frontend does
// (`$cluster` = All → `clusters: []`, query variables → their allValue,
// textboxes → their default, custom variables such as `$source` → their
// current value), over the last hour of the stack's data, with
// the demo registry (every backend on every cluster: real Prometheus and
// Alertmanagers, replayed Loki/Tempo/Kubernetes). The Rust twin
// (tests/dashboards.rs) checks the same targets with explicit cluster ids
// and evaluates the alert rules.

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/data"
)

type dashPanel struct {
	Title   string            `json:"title"`
	Type    string            `json:"type"`
	Targets []json.RawMessage `json:"targets"`
	Panels  []dashPanel       `json:"panels"`
}

type dashVariable struct {
	Name     string `json:"name"`
	Type     string `json:"type"`
	AllValue string `json:"allValue"`
	Query    any    `json:"query"`
	Current  struct {
		Value any `json:"value"`
	} `json:"current"`
}

type dashboard struct {
	Title      string      `json:"title"`
	Panels     []dashPanel `json:"panels"`
	Templating struct {
		List []dashVariable `json:"list"`
	} `json:"templating"`
}

func flattenPanels(ps []dashPanel) []dashPanel {
	var out []dashPanel
	for _, p := range ps {
		out = append(out, p)
		out = append(out, flattenPanels(p.Panels)...)
	}
	return out
}

// interpolateTarget replaces every variable but $cluster and $datasource in
// the target's JSON text, and sets the cluster list to All.
func interpolateTarget(raw json.RawMessage, vars []dashVariable) (map[string]any, error) {
	text := string(raw)
	for _, v := range vars {
		var value string
		switch {
		case v.Name == "cluster" || v.Name == "datasource":
			continue
		case v.Type == "query":
			value = v.AllValue
		case v.Type == "textbox":
			value, _ = v.Query.(string)
		case v.Type == "custom":
			value, _ = v.Current.Value.(string)
		default:
			continue
		}
		quoted, _ := json.Marshal(value)
		esc := string(quoted[1 : len(quoted)-1])
		for _, pat := range []string{"${" + v.Name + ":regex}", "${" + v.Name + ":pipe}", "${" + v.Name + "}", "$" + v.Name} {
			text = strings.ReplaceAll(text, pat, esc)
		}
	}
	var model map[string]any
	if err := json.Unmarshal([]byte(text), &model); err != nil {
		return nil, err
	}
	model["clusters"] = []string{} // "All", as interpolateClusters sends it
	delete(model, "datasource")
	return model, nil
}

func frameRows(f *data.Frame) int {
	if len(f.Fields) == 0 {
		return 0
	}
	return f.Fields[0].Len()
}

func TestEveryDashboardPanelThroughThePlugin(t *testing.T) {
	h := requireHarness(t)
	raw, err := os.ReadFile(filepath.Join(h.Stack.Dir, "settings-demo.json"))
	if err != nil {
		t.Fatalf("demo settings: %v", err)
	}
	var settings Settings
	if err := json.Unmarshal(raw, &settings); err != nil {
		t.Fatalf("settings-demo.json: %v", err)
	}
	if settings.SecureJSONData == nil {
		settings.SecureJSONData = map[string]string{}
	}
	files, err := filepath.Glob("../../dashboards/*.json")
	if err != nil || len(files) < 5 {
		t.Fatalf("dashboards: %v (found %d)", err, len(files))
	}
	p := startPlugin(t, h)
	from, to := h.Stack.DataEnd.Add(-time.Hour), h.Stack.DataEnd
	kinds := map[string]int{}
	panels := 0
	for _, file := range files {
		body, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		var d dashboard
		if err := json.Unmarshal(body, &d); err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		for _, panel := range flattenPanels(d.Panels) {
			if len(panel.Targets) == 0 {
				continue
			}
			ctx := fmt.Sprintf("%s: panel %q", filepath.Base(file), panel.Title)
			var queries []backend.DataQuery
			for _, tr := range panel.Targets {
				model, err := interpolateTarget(tr, d.Templating.List)
				if err != nil {
					t.Fatalf("%s: target: %v", ctx, err)
				}
				refID, _ := model["refId"].(string)
				kind, _ := model["queryType"].(string)
				kinds[kind]++
				queries = append(queries, DataQuery(refID, model, from, to))
			}
			resps, err := QueryData(p, settings, Browser, queries...)
			if err != nil {
				t.Fatalf("%s: %v", ctx, err)
			}
			panels++
			for _, q := range queries {
				r := oneResponse(t, resps, q.RefID)
				if r.Error != "" {
					t.Errorf("%s refId %s: error (status %d): %s", ctx, q.RefID, r.Status, r.Error)
					continue
				}
				rows := 0
				for _, f := range r.Frames {
					rows += frameRows(f)
					if f.Meta == nil {
						continue
					}
					for _, n := range f.Meta.Notices {
						if n.Severity != data.NoticeSeverityInfo {
							t.Errorf("%s refId %s: notice %q", ctx, q.RefID, n.Text)
						}
					}
					if statuses, err := CustomClusters(f); err == nil {
						for _, s := range statuses {
							if s.Status != "SUCCESS" {
								t.Errorf("%s refId %s: cluster %s: %s %s", ctx, q.RefID, s.ClusterID, s.Status, s.Error)
							}
						}
					}
				}
				if rows == 0 {
					t.Errorf("%s refId %s: no rows in any frame on the demo data\n%s", ctx, q.RefID, DescribeFrames(r.Frames))
				}
			}
		}
	}
	names := make([]string, 0, len(kinds))
	for k, n := range kinds {
		names = append(names, fmt.Sprintf("%s=%d", k, n))
	}
	sort.Strings(names)
	t.Logf("%d panels, targets by kind: %s", panels, strings.Join(names, " "))
	for _, want := range []string{"metrics", "logs", "traces", "alerts", "gpu", "cnf"} {
		if kinds[want] == 0 {
			t.Errorf("no dashboard target of queryType %s", want)
		}
	}
}
