// Package conformance starts the Fleetscope plugin binary exactly the way
// Grafana's plugin host does and talks to it through Grafana's own plugin SDK.
//
// The host side mirrors grafana/grafana pkg/plugins/backendplugin/grpcplugin:
// the go-plugin handshake (protocol version 2, magic cookie
// grafana_plugin_type=datasource), gRPC only, the versioned plugin set built
// from the SDK's backend/grpcplugin wrappers, and the GF_* environment that
// Grafana's EnvVarsProvider hands a plugin process. Requests are built as
// Grafana builds them (backend types converted with backend.ToProto) and sent
// through the SDK's generated pluginv2 clients; answers are decoded with the
// SDK's data package, which is what Grafana itself does with them.
package conformance

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os/exec"
	"strings"
	"sync"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend/grpcplugin"
	"github.com/hashicorp/go-hclog"
	goplugin "github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"
)

// PluginID is the datasource plugin id Grafana knows Fleetscope by.
const PluginID = "fleetscope-federation-datasource"

// GrafanaVersion is the Grafana version this host claims to be (GF_VERSION,
// user agent).
const GrafanaVersion = "12.3.0"

// handshake is Grafana's go-plugin handshake, taken from the SDK constants as
// grafana/grafana does. The magic cookie tells the binary it runs as a plugin.
var handshake = goplugin.HandshakeConfig{
	ProtocolVersion:  grpcplugin.ProtocolVersion,
	MagicCookieKey:   grpcplugin.MagicCookieKey,
	MagicCookieValue: grpcplugin.MagicCookieValue,
}

// pluginSet is Grafana's protocol-2 plugin set for backend plugins. Grafana
// also registers "renderer" (an enterprise/renderer-only service); a
// datasource never serves it, so it is left out here.
func pluginSet() map[int]goplugin.PluginSet {
	return map[int]goplugin.PluginSet{
		grpcplugin.ProtocolVersion: {
			"diagnostics": &grpcplugin.DiagnosticsGRPCPlugin{},
			"resource":    &grpcplugin.ResourceGRPCPlugin{},
			"data":        &grpcplugin.DataGRPCPlugin{},
			"stream":      &grpcplugin.StreamGRPCPlugin{},
			"admission":   &grpcplugin.AdmissionGRPCPlugin{},
			"conversion":  &grpcplugin.ConversionGRPCPlugin{},
		},
	}
}

// GrafanaEnv is the environment Grafana's EnvVarsProvider gives a plugin
// process of an open-source Grafana with no tracing and one custom plugin
// setting ([plugin.fleetscope-federation-datasource] conformance = true).
// go-plugin then appends the host's own environment (Grafana does not set
// SkipHostEnv for ordinary plugins) and the magic cookie / port range.
func GrafanaEnv() []string {
	return []string{
		"GF_VERSION=" + GrafanaVersion,
		"GF_EDITION=Open Source",
		"GF_ENTERPRISE_LICENSE_PATH=",
		"GF_ENTERPRISE_APP_URL=",
		"GF_INSTANCE_FEATURE_TOGGLES_ENABLE=dataplaneFrontendFallback,logsExploreTableVisualisation",
		"GF_PLUGIN_CONFORMANCE=true",
	}
}

// Plugin is one running plugin process and the SDK clients Grafana would use
// to reach it.
type Plugin struct {
	Client      *goplugin.Client
	Conn        *grpc.ClientConn
	Data        grpcplugin.DataClient
	Diagnostics grpcplugin.DiagnosticsClient
	Resource    grpcplugin.ResourceClient
	Stream      grpcplugin.StreamClient
	Pid         int
	Logs        *LogBuffer
}

// StartPlugin launches bin as Grafana does and dispenses the SDK clients.
func StartPlugin(bin string, logs *LogBuffer) (*Plugin, error) {
	cmd := exec.Command(bin)
	cmd.Env = GrafanaEnv()

	logger := hclog.New(&hclog.LoggerOptions{
		Name:   "plugin.fleetscope",
		Level:  hclog.Trace,
		Output: logs,
	})

	client := goplugin.NewClient(&goplugin.ClientConfig{
		Cmd:              cmd,
		HandshakeConfig:  handshake,
		VersionedPlugins: pluginSet(),
		Logger:           logger,
		AllowedProtocols: []goplugin.Protocol{goplugin.ProtocolGRPC},
		StartTimeout:     30 * time.Second,
	})

	rpc, err := client.Client()
	if err != nil {
		client.Kill()
		return nil, fmt.Errorf("go-plugin handshake with %s: %w", bin, err)
	}
	if v := client.NegotiatedVersion(); v != grpcplugin.ProtocolVersion {
		client.Kill()
		return nil, fmt.Errorf("negotiated plugin protocol version %d, Grafana requires %d", v, grpcplugin.ProtocolVersion)
	}
	grpcClient, ok := rpc.(*goplugin.GRPCClient)
	if !ok {
		client.Kill()
		return nil, fmt.Errorf("go-plugin returned a %T, not a gRPC client", rpc)
	}

	p := &Plugin{Client: client, Conn: grpcClient.Conn, Logs: logs}
	if rc := client.ReattachConfig(); rc != nil {
		p.Pid = rc.Pid
	}

	dispense := func(name string) (any, error) {
		raw, err := rpc.Dispense(name)
		if err != nil {
			return nil, fmt.Errorf("dispense %q: %w", name, err)
		}
		return raw, nil
	}
	var raw any
	if raw, err = dispense("data"); err == nil {
		p.Data, ok = raw.(grpcplugin.DataClient)
		if !ok {
			err = fmt.Errorf("dispensed data client is a %T", raw)
		}
	}
	if err == nil {
		if raw, err = dispense("diagnostics"); err == nil {
			p.Diagnostics, ok = raw.(grpcplugin.DiagnosticsClient)
			if !ok {
				err = fmt.Errorf("dispensed diagnostics client is a %T", raw)
			}
		}
	}
	if err == nil {
		if raw, err = dispense("resource"); err == nil {
			p.Resource, ok = raw.(grpcplugin.ResourceClient)
			if !ok {
				err = fmt.Errorf("dispensed resource client is a %T", raw)
			}
		}
	}
	if err == nil {
		if raw, err = dispense("stream"); err == nil {
			p.Stream, ok = raw.(grpcplugin.StreamClient)
			if !ok {
				err = fmt.Errorf("dispensed stream client is a %T", raw)
			}
		}
	}
	if err != nil {
		client.Kill()
		return nil, err
	}
	return p, nil
}

// CallContext is the deadline every single gRPC call gets; the stack's
// query timeout is 3 s per cluster, so anything near this is a hang.
func CallContext() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), 30*time.Second)
}

// LogBuffer collects what go-plugin logs: its own lifecycle messages and
// every line the plugin writes to stderr.
type LogBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

var _ io.Writer = (*LogBuffer)(nil)

func (l *LogBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

// String returns everything logged so far.
func (l *LogBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// Tail returns the last n lines logged.
func (l *LogBuffer) Tail(n int) string {
	lines := strings.Split(strings.TrimRight(l.String(), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
