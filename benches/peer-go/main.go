// Command peerbench is Grafana's side of the peer benchmark (`make bench`): the
// same Prometheus query_range body files that examples/peer_convert.rs converts,
// run through Grafana's own converter exactly as Grafana's Prometheus datasource
// does (pkg/promlib/querydata: jsoniter.Parse over the body with a 1 KiB buffer,
// converter.ReadPrometheusStyleResult), then every frame to Arrow IPC as the
// plugin SDK does before answering QueryData (data.Frames.MarshalArrow).
//
//	peerbench time BODY ITERS   convert ITERS times; one JSON line with the median ns/op
//	peerbench mem BODY          convert once; one JSON line with ru_maxrss before/after (KiB)
package main

import (
	"bytes"
	"fmt"
	"os"
	"sort"
	"strconv"
	"syscall"
	"time"

	"github.com/grafana/grafana/pkg/promlib/converter"
	jsoniter "github.com/json-iterator/go"
)

// sink keeps results alive so the compiler cannot drop the work.
var sink int

// convert turns body bytes into Arrow IPC bytes; it returns (frames, Arrow bytes).
func convert(body []byte) (int, int) {
	iter := jsoniter.Parse(jsoniter.ConfigDefault, bytes.NewReader(body), 1024)
	rsp := converter.ReadPrometheusStyleResult(iter, converter.Options{Dataplane: true})
	if rsp.Error != nil {
		fmt.Fprintln(os.Stderr, "convert:", rsp.Error)
		os.Exit(1)
	}
	encoded, err := rsp.Frames.MarshalArrow()
	if err != nil {
		fmt.Fprintln(os.Stderr, "marshal:", err)
		os.Exit(1)
	}
	n := 0
	for _, b := range encoded {
		n += len(b)
	}
	return len(encoded), n
}

func maxRSSKiB() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		panic(err)
	}
	return ru.Maxrss // KiB on Linux
}

func main() {
	if len(os.Args) < 3 {
		fmt.Fprintln(os.Stderr, "usage: peerbench time BODY ITERS | mem BODY")
		os.Exit(2)
	}
	path := os.Args[2]
	body, err := os.ReadFile(path)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	switch os.Args[1] {
	case "time":
		iters, err := strconv.Atoi(os.Args[3])
		if err != nil || iters < 1 {
			iters = 1
		}
		frames, arrowBytes := convert(body) // warm-up, and the shape for the report
		ns := make([]int64, iters)
		for i := range ns {
			t := time.Now()
			f, b := convert(body)
			ns[i] = time.Since(t).Nanoseconds()
			sink += f + b
		}
		sort.Slice(ns, func(a, b int) bool { return ns[a] < ns[b] })
		fmt.Printf(`{"side":"grafana","body":%q,"body_bytes":%d,"iters":%d,"median_ns":%d,"min_ns":%d,"frames":%d,"arrow_bytes":%d}`+"\n",
			path, len(body), iters, ns[iters/2], ns[0], frames, arrowBytes)
	case "mem":
		idle := maxRSSKiB()
		frames, arrowBytes := convert(body)
		peak := maxRSSKiB()
		fmt.Printf(`{"side":"grafana","body":%q,"body_bytes":%d,"idle_kib":%d,"peak_kib":%d,"frames":%d,"arrow_bytes":%d}`+"\n",
			path, len(body), idle, peak, frames, arrowBytes)
	default:
		fmt.Fprintln(os.Stderr, "unknown mode", os.Args[1])
		os.Exit(2)
	}
}
