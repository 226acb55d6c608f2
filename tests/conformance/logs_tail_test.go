package conformance

// Live log tail (Grafana Live channel logs/tail/<id>) driven through the SDK's
// pluginv2 StreamClient, as Grafana's live service drives it: SubscribeStream
// validates the query and answers the frame schema, RunStream pushes
// log-lines frame JSON packets merged from one Loki /loki/api/v1/tail
// websocket per cluster, and cancelling RunStream closes those sockets.
//
// The Loki side is an in-test websocket server replaying the recorded tail
// messages in tests/fixtures/loki; the test needs the release binary only, not
// the stack.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/data"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

const (
	// tailStartMs is where the recorded tail session starts (epoch ms); sent
	// as the query's `start`, it must reach Loki as `start` in ns.
	tailStartMs int64 = 1_795_259_612_858
	// tailDeadline bounds every wait on the plugin or the upstream socket.
	tailDeadline = 20 * time.Second
	tailFixtures = "../fixtures/loki"
)

// tailMessage is Loki's tail websocket message (the parts the test reads).
type tailMessage struct {
	Streams []struct {
		Stream map[string]string `json:"stream"`
		Values [][2]string       `json:"values"`
	} `json:"streams"`
}

// tailConnect is one tail connection as the fake Loki saw it.
type tailConnect struct {
	Tenant string
	Query  map[string]string
}

// fakeLokiTail answers /loki/api/v1/tail per tenant (X-Scope-OrgID) with the
// recorded messages, then holds the socket until the client goes away. It
// counts open sockets and notifies every change.
type fakeLokiTail struct {
	URL string

	messages map[string][]string

	mu       sync.Mutex
	open     int
	changed  chan struct{}
	connects []tailConnect
}

func newFakeLokiTail(t *testing.T, messages map[string][]string) *fakeLokiTail {
	t.Helper()
	f := &fakeLokiTail{messages: messages, changed: make(chan struct{})}
	upgrader := websocket.Upgrader{}
	mux := http.NewServeMux()
	mux.HandleFunc("/loki/api/v1/tail", func(w http.ResponseWriter, r *http.Request) {
		tenant := r.Header.Get("X-Scope-OrgID")
		msgs, ok := f.messages[tenant]
		if !ok {
			http.Error(w, "no org id", http.StatusUnauthorized)
			return
		}
		query := map[string]string{}
		for k, v := range r.URL.Query() {
			query[k] = strings.Join(v, ",")
		}
		f.mu.Lock()
		f.connects = append(f.connects, tailConnect{Tenant: tenant, Query: query})
		f.mu.Unlock()
		conn, err := upgrader.Upgrade(w, r, nil)
		if err != nil {
			return // Upgrade has answered the error.
		}
		defer conn.Close()
		f.addOpen(1)
		defer f.addOpen(-1)
		for _, m := range msgs {
			if err := conn.WriteMessage(websocket.TextMessage, []byte(m)); err != nil {
				return
			}
		}
		// Hold until the client closes or drops the connection (gorilla
		// answers pings and close frames while reading).
		for {
			if _, _, err := conn.ReadMessage(); err != nil {
				return
			}
		}
	})
	srv := httptest.NewServer(mux) // listens on 127.0.0.1
	t.Cleanup(srv.Close)
	f.URL = srv.URL
	return f
}

func (f *fakeLokiTail) addOpen(d int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.open += d
	close(f.changed)
	f.changed = make(chan struct{})
}

// waitOpen waits until exactly n sockets are open; it returns the count it
// last saw and whether it reached n before the deadline.
func (f *fakeLokiTail) waitOpen(n int, deadline time.Duration) (int, bool) {
	timeout := time.After(deadline)
	for {
		f.mu.Lock()
		open, changed := f.open, f.changed
		f.mu.Unlock()
		if open == n {
			return open, true
		}
		select {
		case <-changed:
		case <-timeout:
			return open, false
		}
	}
}

func (f *fakeLokiTail) seen() []tailConnect {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]tailConnect(nil), f.connects...)
}

// readTailFixture returns the fixture's messages, one per non-empty line.
func readTailFixture(t *testing.T, name string) []string {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(tailFixtures, name))
	if err != nil {
		t.Fatalf("fixture: %v", err)
	}
	var out []string
	for _, line := range strings.Split(string(raw), "\n") {
		if strings.TrimSpace(line) != "" {
			out = append(out, line)
		}
	}
	if len(out) == 0 {
		t.Fatalf("fixture %s has no message", name)
	}
	return out
}

// requireBin is requireHarness without the stack: the tail tests bring their
// own Loki.
func requireBin(t *testing.T) *Harness {
	t.Helper()
	bin := os.Getenv("FLEETSCOPE_BIN")
	if bin == "" || !filepath.IsAbs(bin) {
		t.Fatalf("FLEETSCOPE_BIN=%q must be the absolute path of gpx_fleetscope — %s", bin, howToRun)
	}
	st, err := os.Stat(bin)
	if err != nil || st.IsDir() || st.Mode().Perm()&0o111 == 0 {
		t.Fatalf("FLEETSCOPE_BIN=%q is not an executable file (%v) — %s", bin, err, howToRun)
	}
	return &Harness{Bin: bin}
}

// tailCluster is one cluster of the tail settings.
type tailCluster struct {
	ID, Name, Tenant string
}

// traceIDRegex is the settings' derived field (as the Rust tail test has it).
const traceIDRegex = `trace_id["=:]+"?([0-9a-f]{32})`

func tailSettings(t *testing.T, lokiURL string, clusters []tailCluster) Settings {
	t.Helper()
	list := make([]map[string]any, 0, len(clusters))
	for _, c := range clusters {
		list = append(list, map[string]any{
			"id":   c.ID,
			"name": c.Name,
			"loki": map[string]any{"url": lokiURL, "tenant": c.Tenant},
		})
	}
	jd, err := json.Marshal(map[string]any{
		"query":         map[string]any{"timeoutSeconds": 3, "retryAttempts": 1},
		"derivedFields": []map[string]any{{"name": "traceID", "matcherRegex": traceIDRegex}},
		"clusters":      list,
	})
	if err != nil {
		t.Fatal(err)
	}
	return Settings{JSONData: jd, SecureJSONData: map[string]string{}}
}

func subscribeTail(p *Plugin, s Settings, path string, query any) (*backend.SubscribeStreamResponse, error) {
	raw, err := json.Marshal(query)
	if err != nil {
		return nil, err
	}
	req := &backend.SubscribeStreamRequest{PluginContext: PluginContext(s, Browser), Path: path, Data: raw}
	ctx, cancel := CallContext()
	defer cancel()
	resp, err := p.Stream.SubscribeStream(ctx, backend.ToProto().SubscribeStreamRequest(req))
	if err != nil {
		return nil, err
	}
	return backend.FromProto().SubscribeStreamResponse(resp), nil
}

func fieldNames(f *data.Frame) []string {
	out := make([]string, len(f.Fields))
	for i, fd := range f.Fields {
		out[i] = fd.Name
	}
	return out
}

var wantTailFields = []string{"timestamp", "body", "severity", "id", "labels", "traceID"}

func TestLogsTailSubscribe(t *testing.T) {
	h := requireBin(t)
	loki := newFakeLokiTail(t, map[string][]string{})
	s := tailSettings(t, loki.URL, []tailCluster{{"east", "tail-east", "prod-east-1"}})
	p := startPlugin(t, h)

	resp, err := subscribeTail(p, s, "logs/tail/conformance-1", map[string]any{
		"expr": `{app="model-server"} |= "batch"`, "clusters": []string{"east"},
	})
	if err != nil {
		t.Fatalf("SubscribeStream logs/tail/conformance-1: %v", err)
	}
	if resp.Status != backend.SubscribeStreamStatusOK {
		t.Fatalf("SubscribeStream status %v, want OK", resp.Status)
	}
	if resp.InitialData == nil || len(resp.InitialData.Data()) == 0 {
		t.Fatal("SubscribeStream OK without initial data (the frame schema)")
	}
	var schema data.Frame
	if err := json.Unmarshal(resp.InitialData.Data(), &schema); err != nil {
		t.Fatalf("SDK frame JSON unmarshal of the initial data: %v\n%s", err, resp.InitialData.Data())
	}
	if got := fieldNames(&schema); strings.Join(got, ",") != strings.Join(wantTailFields, ",") {
		t.Errorf("schema fields %v, want %v", got, wantTailFields)
	}
	if schema.Meta == nil || schema.Meta.Type != data.FrameTypeLogLines {
		t.Errorf("schema meta %+v, want type %q", schema.Meta, data.FrameTypeLogLines)
	}
	if tf, _ := schema.FieldByName("traceID"); tf != nil {
		if tf.Config == nil || len(tf.Config.Links) == 0 || tf.Config.Links[0].Internal == nil ||
			tf.Config.Links[0].Internal.DatasourceUID != DatasourceUID {
			t.Errorf("traceID derived link does not target this datasource (%q): config %+v", DatasourceUID, tf.Config)
		}
	}

	// Invalid LogQL: refused with INVALID_LOGQL, before any socket is opened.
	_, err = subscribeTail(p, s, "logs/tail/conformance-1", map[string]any{
		"expr": `{app="x"} | json | status >=`, "clusters": []string{"east"},
	})
	if err == nil {
		t.Fatal("SubscribeStream with invalid LogQL answered without error")
	}
	if st, _ := status.FromError(err); st.Code() != codes.InvalidArgument || !strings.Contains(st.Message(), "INVALID_LOGQL") {
		t.Errorf("invalid LogQL: got %v %q, want InvalidArgument mentioning INVALID_LOGQL", st.Code(), st.Message())
	}
	// A metric query cannot be tailed.
	_, err = subscribeTail(p, s, "logs/tail/conformance-1", map[string]any{"expr": `rate({app="x"}[5m])`})
	if st, _ := status.FromError(err); err == nil || !strings.Contains(st.Message(), "INVALID_LOGQL") {
		t.Errorf("metric query: got %v, want a refusal mentioning INVALID_LOGQL", err)
	}
	if n := len(loki.seen()); n != 0 {
		t.Errorf("subscribing opened %d upstream tail(s); only RunStream should", n)
	}
}

// tailLine is one log line: cluster id, timestamp (ns), body.
type tailLine struct {
	Cluster string
	Ns      int64
	Body    string
}

// expectedTail is every recorded line per cluster, with its stream labels.
func expectedTail(t *testing.T, byCluster map[string][]string) map[tailLine]map[string]string {
	t.Helper()
	want := map[tailLine]map[string]string{}
	for cluster, msgs := range byCluster {
		for _, m := range msgs {
			var tm tailMessage
			if err := json.Unmarshal([]byte(m), &tm); err != nil {
				t.Fatalf("fixture message: %v", err)
			}
			for _, s := range tm.Streams {
				for _, v := range s.Values {
					ns, err := strconv.ParseInt(v[0], 10, 64)
					if err != nil {
						t.Fatalf("fixture timestamp %q: %v", v[0], err)
					}
					want[tailLine{cluster, ns, v[1]}] = s.Stream
				}
			}
		}
	}
	return want
}

func TestLogsTailRunStream(t *testing.T) {
	h := requireBin(t)
	session := readTailFixture(t, "tail_session_model_server.jsonl")
	dropped := readTailFixture(t, "tail_message_dropped_entries.loki-marshal-test.json")
	loki := newFakeLokiTail(t, map[string][]string{"prod-east-1": session, "edge-1": dropped})
	clusters := []tailCluster{{"east", "tail-east", "prod-east-1"}, {"edge", "tail-edge", "edge-1"}}
	names := map[string]string{"east": "tail-east", "edge": "tail-edge"}
	s := tailSettings(t, loki.URL, clusters)
	p := startPlugin(t, h)

	expr := `{app=~".+"}`
	query := map[string]any{"expr": expr, "clusters": []string{"east", "edge"}, "limit": 10, "start": tailStartMs}
	path := "logs/tail/conformance-run"
	if resp, err := subscribeTail(p, s, path, query); err != nil || resp.Status != backend.SubscribeStreamStatusOK {
		t.Fatalf("SubscribeStream %s: %+v, %v", path, resp, err)
	}

	raw, _ := json.Marshal(query)
	ctx, cancel := context.WithTimeout(context.Background(), 2*tailDeadline)
	defer cancel()
	req := &backend.RunStreamRequest{PluginContext: PluginContext(s, Browser), Path: path, Data: raw}
	stream, err := p.Stream.RunStream(ctx, backend.ToProto().RunStreamRequest(req))
	if err != nil {
		t.Fatalf("RunStream %s: %v", path, err)
	}

	want := expectedTail(t, map[string][]string{"east": session, "edge": dropped})
	traceRe := regexp.MustCompile(traceIDRegex)
	got := map[tailLine]int{}
	var notices []string
	packets := 0
	timeout := time.AfterFunc(tailDeadline, cancel) // a hang fails instead of blocking
	for len(got) < len(want) {
		pkt, err := stream.Recv()
		if err != nil {
			t.Fatalf("RunStream ended after %d packet(s) and %d of %d lines: %v", packets, len(got), len(want), err)
		}
		packets++
		sp := backend.FromProto().StreamPacket(pkt)
		var f data.Frame
		if err := json.Unmarshal(sp.Data, &f); err != nil {
			t.Fatalf("packet %d: SDK frame JSON unmarshal: %v\n%s", packets, err, sp.Data)
		}
		if f.Meta == nil || f.Meta.Type != data.FrameTypeLogLines {
			t.Fatalf("packet %d: meta %+v, want type %q", packets, f.Meta, data.FrameTypeLogLines)
		}
		for _, n := range f.Meta.Notices {
			notices = append(notices, n.Text)
		}
		if names := fieldNames(&f); strings.Join(names, ",") != strings.Join(wantTailFields, ",") {
			t.Fatalf("packet %d: fields %v, want %v", packets, names, wantTailFields)
		}
		ts, body, id, labels, trace := f.Fields[0], f.Fields[1], f.Fields[3], f.Fields[4], f.Fields[5]
		if ts.Type() != data.FieldTypeTime || body.Type() != data.FieldTypeString || id.Type() != data.FieldTypeString ||
			labels.Type() != data.FieldTypeJSON {
			t.Fatalf("packet %d: field types timestamp %v body %v id %v labels %v, want time/string/string/json",
				packets, ts.Type(), body.Type(), id.Type(), labels.Type())
		}
		var prev int64
		for i := 0; i < f.Rows(); i++ {
			when := ts.At(i).(time.Time)
			text := body.At(i).(string)
			idv := id.At(i).(string)
			cluster, _, _ := strings.Cut(idv, "_")
			line := tailLine{cluster, when.UnixNano(), text}
			streamLabels, ok := want[line]
			if !ok {
				t.Errorf("packet %d row %d: line not in the recording: %+v (id %q)", packets, i, line, idv)
				continue
			}
			got[line]++
			if i > 0 && line.Ns < prev {
				t.Errorf("packet %d: row %d (%d ns) older than row %d (%d ns): not merged oldest first", packets, i, line.Ns, i-1, prev)
			}
			prev = line.Ns
			var lv map[string]string
			if err := json.Unmarshal(labels.At(i).(json.RawMessage), &lv); err != nil {
				t.Errorf("packet %d row %d: labels are not a JSON object of strings: %v", packets, i, err)
				continue
			}
			if lv["cluster"] != names[cluster] || lv["cluster_id"] != cluster {
				t.Errorf("line %+v: labels cluster=%q cluster_id=%q, want %q / %q", line, lv["cluster"], lv["cluster_id"], names[cluster], cluster)
			}
			for k, v := range streamLabels {
				key := k
				if k == "cluster" {
					key = "exported_cluster" // upstream's own cluster label is kept under this name
				}
				if lv[key] != v {
					t.Errorf("line %+v: label %s=%q, want %q (stream label %s)", line, key, lv[key], v, k)
				}
			}
			tv, _ := trace.ConcreteAt(i)
			tid, _ := tv.(string)
			if m := traceRe.FindStringSubmatch(text); m != nil {
				if tid != m[1] {
					t.Errorf("line %+v: traceID %q, want %q", line, tid, m[1])
				}
			} else if tid != "" {
				t.Errorf("line %+v has no trace_id, traceID %q", line, tid)
			}
		}
	}
	timeout.Stop()
	t.Logf("%d packet(s), %d line(s) from %d cluster(s); notices %q", packets, len(got), len(clusters), notices)
	for line, n := range got {
		if n != 1 {
			t.Errorf("line %+v arrived %d times", line, n)
		}
	}
	var droppedNotice []string
	for _, n := range notices {
		if strings.Contains(n, "dropped") {
			droppedNotice = append(droppedNotice, n)
		}
	}
	if len(droppedNotice) != 1 || !strings.HasPrefix(droppedNotice[0], "tail-edge: ") || !strings.Contains(droppedNotice[0], `{app="dropped"}`) {
		t.Errorf("want one dropped-entries notice naming tail-edge and {app=\"dropped\"}; notices: %q", notices)
	}

	// One socket per cluster, with the query, limit, start (ns) and tenant.
	connects := loki.seen()
	tenants := []string{}
	for _, c := range connects {
		tenants = append(tenants, c.Tenant)
		if c.Query["query"] != expr || c.Query["limit"] != "10" || c.Query["start"] != strconv.FormatInt(tailStartMs*1_000_000, 10) {
			t.Errorf("tail connect %s: params %v, want query=%s limit=10 start=%d", c.Tenant, c.Query, expr, tailStartMs*1_000_000)
		}
	}
	sort.Strings(tenants)
	if fmt.Sprint(tenants) != "[edge-1 prod-east-1]" {
		t.Errorf("tail connections by tenant %v, want one each for edge-1 and prod-east-1", tenants)
	}
	if n, ok := loki.waitOpen(2, tailDeadline); !ok {
		t.Errorf("%d upstream tail socket(s) open while streaming, want 2", n)
	}

	// Grafana cancels RunStream when the last subscriber leaves: the plugin
	// must close every upstream socket.
	cancel()
	if _, err := stream.Recv(); err == nil || (status.Code(err) != codes.Canceled && !errors.Is(err, io.EOF)) {
		t.Errorf("Recv after cancel: %v, want Canceled", err)
	}
	if n, ok := loki.waitOpen(0, tailDeadline); !ok {
		t.Errorf("%d upstream tail socket(s) still open %v after RunStream was cancelled", n, tailDeadline)
	}
}
