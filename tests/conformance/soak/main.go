// Command soak runs concurrent QueryData against the real test stack through
// the plugin host of the conformance harness, while one cluster (west) flaps:
// its Prometheus sits behind a TCP proxy this program controls, which forwards
// for a while, then refuses (listener closed, connections cut), and so on.
//
//	FLEETSCOPE_STACK_ENV=.stack/env go run ./soak   (from tests/conformance; `make soak` does this)
//
// Environment: SOAK_SECONDS (default 600), SOAK_WORKERS (8), SOAK_FLAP_SECONDS (10),
// FLEETSCOPE_PLUGIN_BIN (default ../../target/x86_64-unknown-linux-musl/release/gpx_fleetscope).
// It prints RSS of the plugin at start/end (and the peak), the error rate and
// p50/p99 latency, and exits 1 when a query failed outright (every cluster
// failed or the call errored) outside the flapping cluster's own notices, or
// when RSS grew beyond noise (end > 1.5 × start + 32 MiB after warm-up).
package main

import (
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"fleetscope/conformance"
)

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

// flapper is a TCP proxy to target that is up for `period`, then down.
type flapper struct {
	addr   string
	target string
	period time.Duration
	mu     sync.Mutex
	ln     net.Listener
	conns  map[net.Conn]struct{}
	flips  int
}

func (f *flapper) up() error {
	ln, err := net.Listen("tcp", f.addr)
	if err != nil {
		return err
	}
	f.mu.Lock()
	f.ln = ln
	f.mu.Unlock()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go f.pipe(c)
		}
	}()
	return nil
}

func (f *flapper) pipe(c net.Conn) {
	u, err := net.Dial("tcp", f.target)
	if err != nil {
		c.Close()
		return
	}
	f.mu.Lock()
	f.conns[c] = struct{}{}
	f.conns[u] = struct{}{}
	f.mu.Unlock()
	done := make(chan struct{}, 2)
	go func() { io.Copy(u, c); done <- struct{}{} }()
	go func() { io.Copy(c, u); done <- struct{}{} }()
	<-done
	c.Close()
	u.Close()
	f.mu.Lock()
	delete(f.conns, c)
	delete(f.conns, u)
	f.mu.Unlock()
}

func (f *flapper) down() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.ln != nil {
		f.ln.Close()
		f.ln = nil
	}
	for c := range f.conns {
		c.Close()
	}
}

func (f *flapper) run(stop <-chan struct{}) {
	isUp := true
	t := time.NewTicker(f.period)
	defer t.Stop()
	for {
		select {
		case <-stop:
			f.down()
			return
		case <-t.C:
			if isUp {
				f.down()
			} else if err := f.up(); err != nil {
				fmt.Fprintf(os.Stderr, "soak: proxy cannot listen again on %s: %v\n", f.addr, err)
				continue
			}
			isUp = !isUp
			f.mu.Lock()
			f.flips++
			f.mu.Unlock()
		}
	}
}

func rssKiB(pid int) int {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return -1
	}
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "VmRSS:") {
			n, _ := strconv.Atoi(strings.Fields(l)[1])
			return n
		}
	}
	return -1
}

func pct(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(float64(len(sorted)-1) * p)
	return sorted[i]
}

func main() {
	envFile := os.Getenv("FLEETSCOPE_STACK_ENV")
	if envFile == "" {
		fmt.Fprintln(os.Stderr, "soak: FLEETSCOPE_STACK_ENV is not set (start tests/stack and point it at its env file)")
		os.Exit(2)
	}
	stack, err := conformance.LoadStack(envFile)
	if err != nil {
		fmt.Fprintln(os.Stderr, "soak:", err)
		os.Exit(2)
	}
	bin := os.Getenv("FLEETSCOPE_PLUGIN_BIN")
	if bin == "" {
		bin, _ = filepath.Abs("../../target/x86_64-unknown-linux-musl/release/gpx_fleetscope")
	}
	seconds := envInt("SOAK_SECONDS", 600)
	workers := envInt("SOAK_WORKERS", 8)
	flap := time.Duration(envInt("SOAK_FLAP_SECONDS", 10)) * time.Second

	west, err := url.Parse(stack.PromWestURL)
	if err != nil {
		fmt.Fprintln(os.Stderr, "soak:", err)
		os.Exit(2)
	}
	probe, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, "soak:", err)
		os.Exit(2)
	}
	proxyAddr := probe.Addr().String()
	probe.Close()
	fl := &flapper{addr: proxyAddr, target: west.Host, period: flap, conns: map[net.Conn]struct{}{}}
	if err := fl.up(); err != nil {
		fmt.Fprintln(os.Stderr, "soak: proxy:", err)
		os.Exit(2)
	}
	settings, err := stack.Settings.WithJSONData(func(j map[string]any) {
		for _, c := range j["clusters"].([]any) {
			cm := c.(map[string]any)
			if cm["id"] == "west" {
				cm["prometheus"].(map[string]any)["url"] = "http://" + proxyAddr
			}
		}
		// The flapping cluster is what is measured: no cache in front of it.
		j["cache"] = map[string]any{"enabled": false}
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "soak:", err)
		os.Exit(2)
	}

	logs := &conformance.LogBuffer{}
	p, err := conformance.StartPlugin(bin, logs)
	if err != nil {
		fmt.Fprintln(os.Stderr, "soak:", err)
		os.Exit(2)
	}
	defer p.Client.Kill()

	end := stack.DataEnd
	models := []map[string]any{
		{"expr": "fleetscope_probe_value", "instant": true, "clusters": []string{"east", "west", "edge"}},
		{"expr": "rate(fleetscope_probe_counter_total[1m])", "clusters": []string{"east", "west", "edge"}},
		{"expr": "sum by (instance) (fleetscope_probe_value)", "aggregate": "sum", "clusters": []string{"east", "west", "edge"}},
	}
	// Warm-up: the first queries allocate pools and caches; RSS is taken after.
	for _, m := range models {
		if _, err := conformance.QueryData(p, settings, conformance.Browser, conformance.DataQuery("A", m, end.Add(-time.Hour), end)); err != nil {
			fmt.Fprintln(os.Stderr, "soak: warm-up:", err)
			os.Exit(1)
		}
	}
	rssStart := rssKiB(p.Pid)
	var rssPeak atomic.Int64
	rssPeak.Store(int64(rssStart))

	stop := make(chan struct{})
	go fl.run(stop)
	deadline := time.Now().Add(time.Duration(seconds) * time.Second)
	var (
		mu        sync.Mutex
		latencies []time.Duration
		total     atomic.Int64
		failed    atomic.Int64 // call error, or the whole query failed
		partial   atomic.Int64 // west reported as failed, others intact
		wrong     atomic.Int64 // healthy clusters' data missing
		firstErr  atomic.Value
	)
	go func() {
		for time.Now().Before(deadline) {
			if r := int64(rssKiB(p.Pid)); r > rssPeak.Load() {
				rssPeak.Store(r)
			}
			time.Sleep(2 * time.Second)
		}
	}()
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; time.Now().Before(deadline); i++ {
				m := models[(w+i)%len(models)]
				t0 := time.Now()
				resps, err := conformance.QueryData(p, settings, conformance.Browser, conformance.DataQuery("A", m, end.Add(-time.Hour), end))
				d := time.Since(t0)
				total.Add(1)
				mu.Lock()
				latencies = append(latencies, d)
				mu.Unlock()
				if err != nil {
					failed.Add(1)
					firstErr.CompareAndSwap(nil, err.Error())
					continue
				}
				r := resps["A"]
				if r.Error != "" {
					failed.Add(1)
					firstErr.CompareAndSwap(nil, r.Error)
					continue
				}
				if len(r.Frames) == 0 {
					wrong.Add(1)
					continue
				}
				if meta := r.Frames[0].Meta; meta != nil && len(meta.Notices) > 0 {
					partial.Add(1)
				}
			}
		}(w)
	}
	wg.Wait()
	close(stop)
	rssEnd := rssKiB(p.Pid)

	sort.Slice(latencies, func(i, j int) bool { return latencies[i] < latencies[j] })
	n := total.Load()
	rate := func(x int64) float64 {
		if n == 0 {
			return 0
		}
		return 100 * float64(x) / float64(n)
	}
	fl.mu.Lock()
	flips := fl.flips
	fl.mu.Unlock()
	fmt.Printf("soak: %ds, %d workers, west flapping every %v (%d flips)\n", seconds, workers, flap, flips)
	fmt.Printf("soak: queries %d (%.1f/s)\n", n, float64(n)/float64(seconds))
	fmt.Printf("soak: failed outright %d (%.2f%%), partial (west down) %d (%.1f%%), healthy data missing %d\n",
		failed.Load(), rate(failed.Load()), partial.Load(), rate(partial.Load()), wrong.Load())
	fmt.Printf("soak: latency p50 %v p99 %v max %v\n", pct(latencies, 0.50).Round(time.Microsecond), pct(latencies, 0.99).Round(time.Microsecond), pct(latencies, 1).Round(time.Microsecond))
	fmt.Printf("soak: RSS start %d KiB, end %d KiB, peak %d KiB\n", rssStart, rssEnd, rssPeak.Load())
	if e := firstErr.Load(); e != nil {
		fmt.Printf("soak: first failure: %v\n", e)
	}
	bad := false
	if failed.Load() > 0 || wrong.Load() > 0 {
		fmt.Println("soak: FAIL: queries failed although east and edge never went down")
		bad = true
	}
	if rssEnd > rssStart*3/2+32*1024 {
		fmt.Println("soak: FAIL: RSS grew beyond noise")
		bad = true
	}
	if bad {
		fmt.Println("--- plugin log tail ---")
		fmt.Println(logs.Tail(40))
		os.Exit(1)
	}
	fmt.Println("soak: OK")
}
