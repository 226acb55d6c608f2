package conformance

import (
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/grafana/grafana-plugin-sdk-go/data"
)

// NumericField returns the first numeric field of f (the data-plane value
// field), or nil.
func NumericField(f *data.Frame) *data.Field {
	for _, fld := range f.Fields {
		if fld.Type().Numeric() {
			return fld
		}
	}
	return nil
}

// Floats reads every value of a numeric field; nulls become NaN and are
// reported in nulls.
func Floats(fld *data.Field) (vals []float64, nulls int, err error) {
	for i := 0; i < fld.Len(); i++ {
		v, err := fld.NullableFloatAt(i)
		if err != nil {
			return nil, 0, err
		}
		if v == nil {
			nulls++
			vals = append(vals, math.NaN())
			continue
		}
		vals = append(vals, *v)
	}
	return vals, nulls, nil
}

// Notices collects every notice of every frame, in order.
func Notices(frames data.Frames) []data.Notice {
	var out []data.Notice
	for _, f := range frames {
		if f.Meta != nil {
			out = append(out, f.Meta.Notices...)
		}
	}
	return out
}

// DescribeFrames is a compact human-readable summary for failure messages.
func DescribeFrames(frames data.Frames) string {
	var b strings.Builder
	for i, f := range frames {
		fmt.Fprintf(&b, "frame %d name=%q refId=%q", i, f.Name, f.RefID)
		if f.Meta != nil {
			fmt.Fprintf(&b, " type=%q typeVersion=%v notices=%d", f.Meta.Type, f.Meta.TypeVersion, len(f.Meta.Notices))
		} else {
			b.WriteString(" meta=nil")
		}
		b.WriteString("\n")
		for _, fld := range f.Fields {
			fmt.Fprintf(&b, "  field %q %s len=%d labels=%v", fld.Name, fld.Type(), fld.Len(), fld.Labels)
			if fld.Len() > 0 && fld.Type().Numeric() {
				if v, err := fld.NullableFloatAt(0); err == nil && v != nil {
					fmt.Fprintf(&b, " first=%v", *v)
				}
			}
			b.WriteString("\n")
		}
	}
	return b.String()
}

// ClusterStatus is one entry of meta.custom.clusters (docs/query-model.md).
type ClusterStatus struct {
	ClusterID   string `json:"cluster_id"`
	ClusterName string `json:"cluster_name"`
	Status      string `json:"status"`
	ErrorCode   string `json:"error_code"`
	Error       string `json:"error"`
}

// CustomClusters decodes meta.custom.clusters of f.
func CustomClusters(f *data.Frame) ([]ClusterStatus, error) {
	if f.Meta == nil || f.Meta.Custom == nil {
		return nil, fmt.Errorf("frame has no meta.custom")
	}
	raw, err := json.Marshal(f.Meta.Custom)
	if err != nil {
		return nil, err
	}
	var custom struct {
		Clusters []ClusterStatus `json:"clusters"`
	}
	if err := json.Unmarshal(raw, &custom); err != nil {
		return nil, fmt.Errorf("meta.custom %s: %w", raw, err)
	}
	if custom.Clusters == nil {
		return nil, fmt.Errorf("meta.custom has no clusters list: %s", raw)
	}
	return custom.Clusters, nil
}

// SortedKeys returns m's keys in order.
func SortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
