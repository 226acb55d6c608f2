package conformance

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// procInfo is what /proc/<pid>/stat says about a process.
type procInfo struct {
	state     byte // R, S, D, Z, X, …
	ppid      int
	starttime uint64 // clock ticks since boot; tells a reused pid apart
}

// readProc returns ok=false once the process is gone entirely.
func readProc(pid int) (procInfo, bool, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if os.IsNotExist(err) || (err != nil && strings.Contains(err.Error(), "no such process")) {
		return procInfo{}, false, nil
	}
	if err != nil {
		return procInfo{}, false, err
	}
	// "pid (comm) state ppid …": comm may hold spaces and parentheses.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return procInfo{}, false, fmt.Errorf("unparsable /proc/%d/stat: %q", pid, s)
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 20 {
		return procInfo{}, false, fmt.Errorf("short /proc/%d/stat: %q", pid, s)
	}
	ppid, err := strconv.Atoi(f[1])
	if err != nil {
		return procInfo{}, false, err
	}
	start, err := strconv.ParseUint(f[19], 10, 64) // field 22 of stat
	if err != nil {
		return procInfo{}, false, err
	}
	return procInfo{state: f[0][0], ppid: ppid, starttime: start}, true, nil
}

// alive: the process that had this starttime still runs (a zombie has
// exited; its parent just has not reaped it yet).
func alive(pid int, starttime uint64) (bool, error) {
	p, ok, err := readProc(pid)
	if err != nil || !ok {
		return false, err
	}
	if p.starttime != starttime {
		return false, nil
	}
	return p.state != 'Z' && p.state != 'X', nil
}

// waitGone polls until the process has exited or the deadline passes.
func waitGone(pid int, starttime uint64, within time.Duration) (bool, error) {
	deadline := time.Now().Add(within)
	for {
		up, err := alive(pid, starttime)
		if err != nil {
			return false, err
		}
		if !up {
			return true, nil
		}
		if time.Now().After(deadline) {
			return false, nil
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Grafana stops a plugin with go-plugin's Client.Kill: close the gRPC
// connection (after GRPCController.Shutdown), wait up to 2 s for the process
// to exit, then SIGKILL it. The plugin must leave on its own, inside the
// grace period.
func TestGracefulStopEndsPlugin(t *testing.T) {
	h := requireHarness(t)
	p := startPlugin(t, h)

	info, ok, err := readProc(p.Pid)
	if err != nil || !ok {
		t.Fatalf("plugin pid %d not found before stopping it: %v", p.Pid, err)
	}

	began := time.Now()
	p.Client.Kill()
	took := time.Since(began)

	gone, err := waitGone(p.Pid, info.starttime, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if !gone {
		_ = syscall.Kill(p.Pid, syscall.SIGKILL)
		t.Fatalf("plugin pid %d still runs after go-plugin Kill()", p.Pid)
	}
	if !p.Client.Exited() {
		t.Errorf("go-plugin does not consider the plugin exited")
	}
	if strings.Contains(p.Logs.String(), "plugin failed to exit gracefully") {
		t.Errorf("plugin did not exit within go-plugin's grace period; it was SIGKILLed (Kill took %v)", took)
	}
	t.Logf("Kill() returned after %v", took)
}

// If Grafana dies without stopping its plugins (SIGKILL, OOM kill), the
// plugin must not outlive it. A re-executed copy of this test binary plays
// Grafana: it starts the plugin with go-plugin and prints the pid; the test
// SIGKILLs it and expects the plugin gone within 10 s.
func TestParentDeathEndsPlugin(t *testing.T) {
	h := requireHarness(t)

	child := exec.Command(os.Args[0])
	child.Env = append(os.Environ(), childRoleEnv+"=grafana", "FLEETSCOPE_BIN="+h.Bin)
	var childErr strings.Builder
	child.Stderr = &childErr
	stdout, err := child.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	childDone := false
	t.Cleanup(func() {
		if !childDone {
			_ = child.Process.Kill()
			_ = child.Wait()
		}
	})

	lines := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if strings.HasPrefix(sc.Text(), "plugin-pid ") {
				lines <- sc.Text()
				return
			}
		}
		close(lines)
	}()
	var line string
	select {
	case l, ok := <-lines:
		if !ok {
			t.Fatalf("child Grafana exited without starting the plugin: %s", childErr.String())
		}
		line = l
	case <-time.After(60 * time.Second):
		t.Fatalf("child Grafana did not report a plugin pid within 60 s: %s", childErr.String())
	}
	pid, err := strconv.Atoi(strings.TrimPrefix(line, "plugin-pid "))
	if err != nil || pid <= 0 {
		t.Fatalf("bad pid line %q", line)
	}

	info, ok, err := readProc(pid)
	if err != nil || !ok {
		t.Fatalf("plugin pid %d not found: %v", pid, err)
	}
	if info.ppid != child.Process.Pid {
		t.Fatalf("plugin pid %d has parent %d, not the child Grafana %d", pid, info.ppid, child.Process.Pid)
	}
	t.Cleanup(func() {
		if up, _ := alive(pid, info.starttime); up {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	})

	if err := child.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = child.Wait()
	childDone = true

	gone, err := waitGone(pid, info.starttime, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if !gone {
		t.Errorf("plugin pid %d still runs 10 s after its Grafana was SIGKILLed", pid)
	}
}
