package conformance

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/grafana/dataplane/sdata/numeric"
	"github.com/grafana/dataplane/sdata/timeseries"
	"github.com/grafana/grafana-plugin-sdk-go/data"
)

// The per-upstream golden frames (tests/golden/<upstream>/*.json, written by the
// Rust converter tests) are pretty-printed with sorted keys; the wire encoder
// writes Grafana's key order. Grafana's reader needs "schema" before "data", so
// each frame object is re-emitted in that order, then decoded by the SDK.
func goldenFrames(t *testing.T, path string) data.Frames {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var objs []map[string]json.RawMessage
	if strings.HasPrefix(strings.TrimSpace(string(raw)), "[") {
		if err := json.Unmarshal(raw, &objs); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
	} else {
		var one map[string]json.RawMessage
		if err := json.Unmarshal(raw, &one); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		objs = append(objs, one)
	}
	var frames data.Frames
	for i, o := range objs {
		if o["schema"] == nil {
			t.Fatalf("%s[%d]: no schema", path, i)
		}
		ordered := []byte(`{"schema":` + string(o["schema"]))
		if o["data"] != nil {
			// Inside "data" the reader also wants "values" before "entities"/"nanos".
			var d map[string]json.RawMessage
			if err := json.Unmarshal(o["data"], &d); err != nil {
				t.Fatalf("%s[%d]: data: %v", path, i, err)
			}
			parts := []string{}
			for _, k := range []string{"values", "entities", "nanos"} {
				if d[k] != nil {
					parts = append(parts, `"`+k+`":`+string(d[k]))
				}
			}
			ordered = append(ordered, []byte(`,"data":{`+strings.Join(parts, ",")+`}`)...)
		}
		ordered = append(ordered, '}')
		f := &data.Frame{}
		if err := json.Unmarshal(ordered, f); err != nil {
			t.Fatalf("%s[%d]: the SDK rejects the frame: %v", path, i, err)
		}
		frames = append(frames, f)
	}
	return frames
}

func TestGoldenFramesOfEveryUpstreamDecodeWithTheSDK(t *testing.T) {
	var files []string
	for _, dir := range []string{"tempo", "loki", "cnf", "alertmanager", "gpu", "prometheus"} {
		m, _ := filepath.Glob(filepath.Join("..", "golden", dir, "*.json"))
		files = append(files, m...)
	}
	if len(files) == 0 {
		t.Fatal("no golden frame files found under tests/golden/*/")
	}
	traces := 0
	for _, path := range files {
		for _, f := range goldenFrames(t, path) {
			if _, err := f.RowLen(); err != nil {
				t.Errorf("%s: frame %q: %v", path, f.Name, err)
			}
			if f.Meta == nil || f.Meta.PreferredVisualization != data.VisTypeTrace {
				continue
			}
			traces++
			want := map[string]data.FieldType{
				"traceID": data.FieldTypeString, "spanID": data.FieldTypeString, "parentSpanID": data.FieldTypeString,
				"operationName": data.FieldTypeString, "serviceName": data.FieldTypeString,
				"startTime": data.FieldTypeFloat64, "duration": data.FieldTypeFloat64,
			}
			for name, typ := range want {
				field, _ := f.FieldByName(name)
				if field == nil {
					t.Errorf("%s: trace frame lacks %q", path, name)
				} else if field.Type() != typ && field.Type() != typ.NullableType() {
					t.Errorf("%s: %q is %s, want %s", path, name, field.Type(), typ)
				}
			}
			for _, name := range []string{"serviceTags", "tags", "logs", "references"} {
				field, _ := f.FieldByName(name)
				if field == nil {
					t.Errorf("%s: trace frame lacks %q", path, name)
					continue
				}
				if field.Type() != data.FieldTypeJSON && field.Type() != data.FieldTypeNullableJSON {
					t.Errorf("%s: %q is %s, want JSON (Grafana's trace view reads it as JSON)", path, name, field.Type())
					continue
				}
				for i := 0; i < field.Len(); i++ {
					v, ok := field.ConcreteAt(i)
					if !ok {
						continue
					}
					if raw, _ := v.(json.RawMessage); len(raw) > 0 && !json.Valid(raw) {
						t.Errorf("%s: %q row %d is not valid JSON: %s", path, name, i, raw)
					}
				}
			}
		}
	}
	if traces == 0 {
		t.Error("no trace-view frame among the golden files")
	}
}

// The Prometheus goldens (tests/golden/prometheus, frames built from answers
// recorded from real Prometheus 2.42) as Grafana reads them: every
// timeseries-multi / numeric-multi answer passes the dataplane readers, the
// step is the time field's interval (so panels break lines at gaps) and every
// value field carries a display name or labels.
func TestPrometheusGoldensReadAsGrafanasDataplaneFrames(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join("..", "golden", "prometheus", "*.json"))
	if len(files) < 10 {
		t.Fatalf("only %d Prometheus golden files under tests/golden/prometheus", len(files))
	}
	kinds := map[data.FrameType]int{}
	for _, path := range files {
		frames := goldenFrames(t, path)
		// One golden may hold an instant and a range answer ("Both") and an exemplar frame.
		groups := map[data.FrameType]data.Frames{}
		for _, f := range frames {
			if f.Meta == nil {
				t.Errorf("%s: frame %q has no meta", path, f.Name)
				continue
			}
			kinds[f.Meta.Type]++
			groups[f.Meta.Type] = append(groups[f.Meta.Type], f)
			if len(f.Fields) >= 2 && f.Fields[0].Type() == data.FieldTypeTime && f.Name != "exemplar" {
				if f.Fields[0].Config == nil || f.Fields[0].Config.Interval <= 0 {
					t.Errorf("%s: time field of frame %q has no interval", path, f.Name)
				}
			}
		}
		if g := groups[data.FrameTypeTimeSeriesMulti]; len(g) > 0 && len(g[0].Fields) >= 2 && g[0].Fields[1].Type() == data.FieldTypeFloat64 {
			if _, err := timeseries.CollectionReaderFromFrames(g); err != nil {
				t.Errorf("%s: sdata/timeseries rejects the frames: %v", path, err)
			}
		}
		if g := groups[data.FrameTypeNumericMulti]; len(g) > 0 {
			if _, err := numeric.CollectionReaderFromFrames(g); err != nil {
				t.Errorf("%s: sdata/numeric rejects the frames: %v", path, err)
			}
		}
	}
	for _, want := range []data.FrameType{data.FrameTypeTimeSeriesMulti, data.FrameTypeNumericMulti, "heatmap-cells"} {
		if kinds[want] == 0 {
			t.Errorf("no %s frame among the Prometheus goldens", want)
		}
	}
}
