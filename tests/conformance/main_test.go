package conformance

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// childRoleEnv switches the test binary into the "Grafana process" that
// TestParentDeathEndsPlugin starts and SIGKILLs.
const childRoleEnv = "FLEETSCOPE_CONFORMANCE_ROLE"

const howToRun = "run via make test (it sets FLEETSCOPE_BIN=<abs path of target/x86_64-unknown-linux-musl/release/gpx_fleetscope> " +
	"and FLEETSCOPE_STACK_ENV=<abs path of .stack/env> after tests/stack/stack.sh up)"

func TestMain(m *testing.M) {
	if os.Getenv(childRoleEnv) == "grafana" {
		os.Exit(runGrafanaChild())
	}
	os.Exit(m.Run())
}

// runGrafanaChild plays Grafana for the parent-death test: start the plugin,
// say its pid, then wait to be killed (bounded, so a broken parent never
// leaves it behind for long).
func runGrafanaChild() int {
	logs := &LogBuffer{}
	p, err := StartPlugin(os.Getenv("FLEETSCOPE_BIN"), logs)
	if err != nil {
		fmt.Fprintf(os.Stderr, "child grafana: %v\n%s\n", err, logs.Tail(40))
		return 2
	}
	fmt.Printf("plugin-pid %d\n", p.Pid)
	_ = os.Stdout.Sync()
	time.Sleep(2 * time.Minute)
	p.Client.Kill()
	return 3
}

// Harness is what every live test needs: the binary and the running stack.
type Harness struct {
	Bin   string
	Stack *Stack
}

var (
	harnessOnce sync.Once
	harness     *Harness
	harnessErr  error
)

func loadHarness() (*Harness, error) {
	bin := os.Getenv("FLEETSCOPE_BIN")
	envFile := os.Getenv("FLEETSCOPE_STACK_ENV")
	if bin == "" || envFile == "" {
		return nil, fmt.Errorf("FLEETSCOPE_BIN=%q FLEETSCOPE_STACK_ENV=%q: both must be set", bin, envFile)
	}
	if !filepath.IsAbs(bin) {
		return nil, fmt.Errorf("FLEETSCOPE_BIN=%q must be an absolute path", bin)
	}
	st, err := os.Stat(bin)
	if err != nil {
		return nil, fmt.Errorf("FLEETSCOPE_BIN: %w", err)
	}
	if st.IsDir() || st.Mode().Perm()&0o111 == 0 {
		return nil, fmt.Errorf("FLEETSCOPE_BIN=%q is not an executable file", bin)
	}
	stack, err := LoadStack(envFile)
	if err != nil {
		return nil, fmt.Errorf("FLEETSCOPE_STACK_ENV: %w", err)
	}
	// The stack must be up: a refused Prometheus would otherwise surface as a
	// confusing plugin failure.
	client := &http.Client{Timeout: 3 * time.Second}
	for _, u := range []string{stack.PromEastURL, stack.PromWestURL, stack.PromEdgeURL} {
		resp, err := client.Get(strings.TrimRight(u, "/") + "/-/ready")
		if err != nil {
			return nil, fmt.Errorf("stack not running (%s): %w", u, err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return nil, fmt.Errorf("stack not ready: %s/-/ready answered %s", u, resp.Status)
		}
	}
	return &Harness{Bin: bin, Stack: stack}, nil
}

// requireHarness fails (never skips) the test when the environment is not
// the one make test sets up.
func requireHarness(t *testing.T) *Harness {
	t.Helper()
	harnessOnce.Do(func() { harness, harnessErr = loadHarness() })
	if harnessErr != nil {
		t.Fatalf("%v — %s", harnessErr, howToRun)
	}
	return harness
}

// startPlugin starts a fresh plugin process for t (no cache or breaker
// state shared between tests) and stops it when t ends, dumping its log on
// failure.
func startPlugin(t *testing.T, h *Harness) *Plugin {
	t.Helper()
	logs := &LogBuffer{}
	p, err := StartPlugin(h.Bin, logs)
	if err != nil {
		t.Fatalf("start plugin as Grafana does: %v\nplugin log:\n%s", err, logs.Tail(60))
	}
	t.Cleanup(func() {
		p.Client.Kill()
		if t.Failed() {
			t.Logf("plugin log (last 60 lines):\n%s", logs.Tail(60))
		}
	})
	return p
}

// window is the query range every metrics test uses: the last hour of the
// generated data (or all of it, if less was generated).
func (h *Harness) window() (time.Time, time.Time) {
	from := h.Stack.DataEnd.Add(-time.Hour)
	if from.Before(h.Stack.DataStart) {
		from = h.Stack.DataStart
	}
	return from, h.Stack.DataEnd
}
