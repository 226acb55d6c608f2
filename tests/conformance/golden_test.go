package conformance

import (
	"bytes"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/grafana/grafana-plugin-sdk-go/data"
)

// The Rust frame encoders write a representative frame to these files (see
// src/frames, its golden test). Grafana's SDK must read both encodings and
// find in them what Explore, alerting and the trace view rely on.
var goldenDir = filepath.Join("..", "golden", "frames")

func readGolden(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(goldenDir, name))
	if err != nil {
		t.Fatalf("golden frame file: %v (written by the Rust frames golden test; UPDATE_GOLDEN=1 regenerates it)", err)
	}
	return b
}

func decodeGoldenArrow(t *testing.T) data.Frames {
	t.Helper()
	f, err := data.UnmarshalArrowFrame(readGolden(t, "representative.arrow"))
	if err != nil {
		t.Fatalf("data.UnmarshalArrowFrame(representative.arrow): %v", err)
	}
	return data.Frames{f}
}

// decodeGoldenJSON accepts one frame object or an array of frames.
func decodeGoldenJSON(t *testing.T) data.Frames {
	t.Helper()
	b := bytes.TrimSpace(readGolden(t, "representative.json"))
	if len(b) > 0 && b[0] == '[' {
		var frames data.Frames
		if err := json.Unmarshal(b, &frames); err != nil {
			t.Fatalf("frame JSON unmarshal (representative.json, array): %v", err)
		}
		return frames
	}
	f := &data.Frame{}
	if err := json.Unmarshal(b, f); err != nil {
		t.Fatalf("frame JSON unmarshal (representative.json): %v", err)
	}
	return data.Frames{f}
}

func TestGoldenFramesArrow(t *testing.T) {
	checkRepresentative(t, decodeGoldenArrow(t))
}

func TestGoldenFramesJSON(t *testing.T) {
	checkRepresentative(t, decodeGoldenJSON(t))
}

// Both encodings of the golden frame decode to the same frame.
func TestGoldenFramesArrowEqualsJSON(t *testing.T) {
	fromArrow, fromJSON := decodeGoldenArrow(t), decodeGoldenJSON(t)
	if len(fromJSON) != 1 {
		t.Fatalf("representative.json holds %d frames, representative.arrow holds 1", len(fromJSON))
	}
	if diff := cmp.Diff(fromArrow[0], fromJSON[0], data.FrameTestCompareOptions()...); diff != "" {
		t.Errorf("Arrow and JSON decodings differ (-arrow +json):\n%s", diff)
	}
}

// checkRepresentative asserts the features the representative frame exists
// to carry: the field types Grafana reads, a JSON field with JSON in it,
// labels and config on the same field, an internal data link, and a NaN.
func checkRepresentative(t *testing.T, frames data.Frames) {
	t.Helper()
	if len(frames) == 0 {
		t.Fatal("no frames")
	}
	types := map[data.FieldType]bool{}
	var jsonField, labelledConfigured, internalLink, nan bool
	for _, f := range frames {
		if f.Meta == nil || f.Meta.Type == "" {
			t.Errorf("frame %q has no meta.type", f.Name)
		}
		n := -1
		for _, fld := range f.Fields {
			if n >= 0 && fld.Len() != n {
				t.Errorf("frame %q: field %q has %d values, others %d", f.Name, fld.Name, fld.Len(), n)
			}
			n = fld.Len()
			types[fld.Type()] = true

			switch fld.Type() {
			case data.FieldTypeJSON, data.FieldTypeNullableJSON:
				jsonField = true
				for i := 0; i < fld.Len(); i++ {
					raw, ok := fld.ConcreteAt(i)
					if !ok {
						continue
					}
					// The SDK's own frame-JSON reader turns a JSON null in a
					// non-nullable JSON field into an empty RawMessage.
					if msg := raw.(json.RawMessage); len(msg) > 0 && !json.Valid(msg) {
						t.Errorf("field %q row %d is not valid JSON: %s", fld.Name, i, raw)
					}
				}
			case data.FieldTypeFloat64, data.FieldTypeNullableFloat64:
				for i := 0; i < fld.Len(); i++ {
					if v, ok := fld.ConcreteAt(i); ok && math.IsNaN(v.(float64)) {
						nan = true
					}
				}
			}
			if len(fld.Labels) > 0 && fld.Config != nil {
				labelledConfigured = true
			}
			if fld.Config != nil {
				for _, l := range fld.Config.Links {
					if l.Internal != nil && l.Internal.DatasourceUID != "" && l.Internal.Query != nil {
						internalLink = true
					}
				}
			}
		}
	}
	if !types[data.FieldTypeTime] && !types[data.FieldTypeNullableTime] {
		t.Errorf("no time field (types present: %v)", fieldTypes(types))
	}
	if !types[data.FieldTypeFloat64] && !types[data.FieldTypeNullableFloat64] {
		t.Errorf("no float64 field (types present: %v)", fieldTypes(types))
	}
	if !types[data.FieldTypeString] && !types[data.FieldTypeNullableString] {
		t.Errorf("no string field (types present: %v)", fieldTypes(types))
	}
	if !jsonField {
		t.Errorf("no JSON field (types present: %v)", fieldTypes(types))
	}
	if !labelledConfigured {
		t.Errorf("no field carries both labels and config")
	}
	if !internalLink {
		t.Errorf("no field config has an internal data link (datasourceUid + query)")
	}
	if !nan {
		t.Errorf("no float value is NaN")
	}
	if t.Failed() {
		t.Logf("decoded:\n%s", DescribeFrames(frames))
	}
}

func fieldTypes(m map[data.FieldType]bool) []string {
	var out []string
	for ft := range m {
		out = append(out, ft.String())
	}
	return out
}
