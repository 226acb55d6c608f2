package conformance

import (
	"bytes"
	"fmt"
	"os"
	"testing"

	"github.com/grafana/grafana-plugin-sdk-go/backend/grpcplugin"
	"github.com/grafana/grafana-plugin-sdk-go/genproto/pluginv2"
	goplugin "github.com/hashicorp/go-plugin"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"
)

// The go-plugin handshake succeeds with Grafana's client config, and the
// plugin answers go-plugin's own liveness probe: grpc.health.v1 Check for
// service "plugin" must be SERVING (go-plugin's Ping, which Grafana's
// process manager relies on, asks exactly that).
func TestHandshakeAndGoPluginHealth(t *testing.T) {
	h := requireHarness(t)
	p := startPlugin(t, h)

	if got := p.Client.Protocol(); got != goplugin.ProtocolGRPC {
		t.Errorf("negotiated protocol %q, Grafana only allows %q", got, goplugin.ProtocolGRPC)
	}
	if got := p.Client.NegotiatedVersion(); got != grpcplugin.ProtocolVersion {
		t.Errorf("negotiated version %d, want %d", got, grpcplugin.ProtocolVersion)
	}
	if p.Pid <= 0 {
		t.Fatalf("go-plugin reports no plugin pid (%d)", p.Pid)
	}

	ctx, cancel := CallContext()
	defer cancel()
	resp, err := grpc_health_v1.NewHealthClient(p.Conn).Check(ctx, &grpc_health_v1.HealthCheckRequest{Service: goplugin.GRPCServiceName})
	if err != nil {
		t.Fatalf("grpc.health.v1.Health/Check{service:%q}: %v", goplugin.GRPCServiceName, err)
	}
	if resp.Status != grpc_health_v1.HealthCheckResponse_SERVING {
		t.Errorf("health of service %q = %v, want SERVING", goplugin.GRPCServiceName, resp.Status)
	}

	rpc, err := p.Client.Client()
	if err != nil {
		t.Fatalf("go-plugin client: %v", err)
	}
	if err := rpc.Ping(); err != nil {
		t.Errorf("go-plugin Ping (what Grafana's plugin manager uses to see a live plugin): %v", err)
	}

	// The harness itself must have launched the process as Grafana does:
	// magic cookie, protocol versions and Grafana's GF_* variables in its
	// environment.
	environ, err := os.ReadFile(fmt.Sprintf("/proc/%d/environ", p.Pid))
	if err != nil {
		t.Fatalf("read plugin environment: %v", err)
	}
	for _, kv := range []string{
		grpcplugin.MagicCookieKey + "=" + grpcplugin.MagicCookieValue,
		"PLUGIN_PROTOCOL_VERSIONS=2",
		"GF_VERSION=" + GrafanaVersion,
		"GF_PLUGIN_CONFORMANCE=true",
	} {
		if !bytes.Contains(append([]byte{0}, environ...), []byte("\x00"+kv+"\x00")) {
			t.Errorf("plugin process environment lacks %q", kv)
		}
	}
}

// Grafana scrapes CollectMetrics for /metrics/plugins/<id>; it tolerates
// Unimplemented but any other failure is logged as an error on every scrape.
func TestCollectMetricsDoesNotFail(t *testing.T) {
	h := requireHarness(t)
	p := startPlugin(t, h)

	ctx, cancel := CallContext()
	defer cancel()
	resp, err := p.Diagnostics.CollectMetrics(ctx, &pluginv2.CollectMetricsRequest{})
	if status.Code(err) == codes.Unimplemented {
		t.Logf("CollectMetrics is not implemented (Grafana accepts that)")
		return
	}
	if err != nil {
		t.Fatalf("CollectMetrics: %v", err)
	}
	if resp.Metrics == nil {
		t.Errorf("CollectMetrics answered without a metrics payload")
	}
}
