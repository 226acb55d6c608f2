package conformance

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/backend/useragent"
	"github.com/grafana/grafana-plugin-sdk-go/data"
	"github.com/grafana/grafana-plugin-sdk-go/genproto/pluginv2"
)

// DatasourceUID is the uid of the datasource instance the harness pretends
// to have provisioned.
const DatasourceUID = "fleetscope-conformance"

// Caller says who Grafana is calling on behalf of.
type Caller int

const (
	// Browser: a signed-in user (panel, Explore, query editor).
	Browser Caller = iota
	// Alerting: Grafana's alert scheduler, no user, header FromAlert=true.
	Alerting
)

// PluginContext builds the context Grafana attaches to every request for a
// datasource instance with these settings.
func PluginContext(s Settings, caller Caller) backend.PluginContext {
	ua, _ := useragent.New(GrafanaVersion, "linux", "amd64")
	secure := map[string]string{}
	for k, v := range s.SecureJSONData {
		secure[k] = v
	}
	pctx := backend.PluginContext{
		OrgID:         1,
		PluginID:      PluginID,
		PluginVersion: "0.1.0",
		Namespace:     "default",
		DataSourceInstanceSettings: &backend.DataSourceInstanceSettings{
			ID:                      7,
			UID:                     DatasourceUID,
			Type:                    PluginID,
			Name:                    "Fleetscope",
			JSONData:                s.JSONData,
			DecryptedSecureJSONData: secure,
			Updated:                 time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
		},
		GrafanaConfig: backend.NewGrafanaCfg(map[string]string{
			backend.AppURL:                 "http://localhost:3000/",
			backend.ConcurrentQueryCount:   "10",
			backend.UserFacingDefaultError: "An unexpected error happened",
			backend.ResponseLimit:          "0",
		}),
		UserAgent: ua,
	}
	if caller == Browser {
		pctx.User = &backend.User{Login: "admin", Name: "Admin", Email: "admin@localhost", Role: "Admin"}
	}
	return pctx
}

// Headers Grafana forwards with a QueryData call.
func queryHeaders(caller Caller) map[string]string {
	if caller == Alerting {
		return map[string]string{"FromAlert": "true"}
	}
	return map[string]string{"http_X-Grafana-Org-Id": "1"}
}

// DataQuery builds one query as Grafana's query service sends it: the panel's
// query model plus Grafana's own envelope keys (refId, datasource,
// intervalMs, maxDataPoints), and the dashboard time range.
func DataQuery(refID string, model map[string]any, from, to time.Time) backend.DataQuery {
	body := map[string]any{
		"refId":         refID,
		"datasource":    map[string]any{"type": PluginID, "uid": DatasourceUID},
		"intervalMs":    15000,
		"maxDataPoints": 1000,
	}
	for k, v := range model {
		body[k] = v
	}
	raw, err := json.Marshal(body)
	if err != nil {
		panic(err) // the models are literals in the tests
	}
	qt, _ := model["queryType"].(string)
	return backend.DataQuery{
		RefID:         refID,
		QueryType:     qt,
		MaxDataPoints: 1000,
		Interval:      15 * time.Second,
		TimeRange:     backend.TimeRange{From: from, To: to},
		JSON:          raw,
	}
}

// RawDataQuery is DataQuery with the JSON body given verbatim (malformed on
// purpose in tests).
func RawDataQuery(refID, rawJSON string, from, to time.Time) backend.DataQuery {
	return backend.DataQuery{
		RefID:         refID,
		MaxDataPoints: 1000,
		Interval:      15 * time.Second,
		TimeRange:     backend.TimeRange{From: from, To: to},
		JSON:          json.RawMessage(rawJSON),
	}
}

// Response is one refId's DataResponse, frames decoded with the SDK.
type Response struct {
	Frames      data.Frames
	Error       string
	Status      int32
	ErrorSource string
	Format      pluginv2.DataFrameFormat
}

// QueryData sends queries the way Grafana does and decodes every
// DataResponse's frames with data.UnmarshalArrowFrames. It also runs the
// SDK's FromProto conversion (what Grafana's plugin client does next) and
// fails if that rejects the answer.
func QueryData(p *Plugin, s Settings, caller Caller, queries ...backend.DataQuery) (map[string]Response, error) {
	req := &backend.QueryDataRequest{
		PluginContext: PluginContext(s, caller),
		Headers:       queryHeaders(caller),
		Queries:       queries,
	}
	ctx, cancel := CallContext()
	defer cancel()
	resp, err := p.Data.QueryData(ctx, backend.ToProto().QueryDataRequest(req))
	if err != nil {
		return nil, fmt.Errorf("QueryData gRPC call failed: %w", err)
	}
	if _, err := backend.FromProto().QueryDataResponse(resp); err != nil {
		return nil, fmt.Errorf("Grafana's FromProto().QueryDataResponse rejects the answer: %w", err)
	}
	out := map[string]Response{}
	for refID, dr := range resp.Responses {
		r := Response{Error: dr.Error, Status: dr.Status, ErrorSource: dr.ErrorSource, Format: dr.Format}
		if dr.Format != pluginv2.DataFrameFormat_ARROW {
			return nil, fmt.Errorf("refId %s: frame format %v, Grafana asked for Arrow", refID, dr.Format)
		}
		frames, err := data.UnmarshalArrowFrames(dr.Frames)
		if err != nil {
			return nil, fmt.Errorf("refId %s: data.UnmarshalArrowFrames: %w", refID, err)
		}
		r.Frames = frames
		out[refID] = r
	}
	return out, nil
}

// CheckHealth runs the health check Grafana's "Save & test" runs.
func CheckHealth(p *Plugin, s Settings) (*backend.CheckHealthResult, error) {
	pctx := backend.ToProto().PluginContext(PluginContext(s, Browser))
	ctx, cancel := CallContext()
	defer cancel()
	resp, err := p.Diagnostics.CheckHealth(ctx, &pluginv2.CheckHealthRequest{PluginContext: pctx, Headers: map[string]string{}})
	if err != nil {
		return nil, fmt.Errorf("CheckHealth gRPC call failed: %w", err)
	}
	return backend.FromProto().CheckHealthResponse(resp), nil
}

// ResourceResponse is a CallResource answer reassembled from its stream.
type ResourceResponse struct {
	Status  int
	Headers http.Header
	Body    []byte
}

// CallResource sends a resource call as Grafana's
// /api/datasources/uid/<uid>/resources/* handler does: Path is the part after
// resources/ (relative, no leading slash), URL is that plus the raw query.
func CallResource(p *Plugin, s Settings, method, pathAndQuery string, body []byte) (*ResourceResponse, error) {
	u, err := url.Parse(pathAndQuery)
	if err != nil {
		return nil, err
	}
	headers := map[string][]string{
		"Accept":          {"application/json"},
		"X-Forwarded-For": {"127.0.0.1"},
		"User-Agent":      {"Grafana/" + GrafanaVersion},
	}
	if body != nil {
		headers["Content-Type"] = []string{"application/json"}
	}
	req := &backend.CallResourceRequest{
		PluginContext: PluginContext(s, Browser),
		Path:          u.Path,
		Method:        method,
		URL:           u.String(),
		Headers:       headers,
		Body:          body,
	}
	ctx, cancel := CallContext()
	defer cancel()
	stream, err := p.Resource.CallResource(ctx, backend.ToProto().CallResourceRequest(req))
	if err != nil {
		return nil, fmt.Errorf("CallResource gRPC call failed: %w", err)
	}
	out := &ResourceResponse{Headers: http.Header{}}
	first := true
	for {
		msg, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("CallResource stream: %w", err)
		}
		r := backend.FromProto().CallResourceResponse(msg)
		if first {
			out.Status = r.Status
			for k, v := range r.Headers {
				out.Headers[k] = v
			}
			first = false
		}
		out.Body = append(out.Body, r.Body...)
	}
	if first {
		return nil, errors.New("CallResource stream ended without a response message")
	}
	return out, nil
}
