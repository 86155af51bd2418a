// leakcache is a Go service that leaks into a map cache: leakIntoCache keeps 8 MiB in
// 2048 objects of 4 KiB that nothing frees.  It serves net/http/pprof on 127.0.0.1 (an
// ephemeral port), runs runtime.GC(), prints its own runtime.ReadMemStats as one JSON
// line ("memstats {...}") and "ready PORT", then idles until stdin closes.  A line
// "gc" on stdin runs runtime.GC() and prints the memstats line again.
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	_ "net/http/pprof"
	"os"
	"runtime"
)

var cache = map[int][]byte{}

//go:noinline
func leakIntoCache(n, size int) {
	for i := 0; i < n; i++ {
		b := make([]byte, size)
		b[0] = byte(i)
		cache[len(cache)] = b
	}
}

func printStats() {
	var m runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&m)
	out, _ := json.Marshal(map[string]uint64{
		"Alloc": m.Alloc, "TotalAlloc": m.TotalAlloc, "Sys": m.Sys,
		"Mallocs": m.Mallocs, "Frees": m.Frees, "HeapAlloc": m.HeapAlloc,
		"HeapSys": m.HeapSys, "HeapIdle": m.HeapIdle, "HeapInuse": m.HeapInuse,
		"HeapReleased": m.HeapReleased, "HeapObjects": m.HeapObjects,
		"StackInuse": m.StackInuse, "StackSys": m.StackSys, "MSpanInuse": m.MSpanInuse,
		"MCacheInuse": m.MCacheInuse, "GCSys": m.GCSys, "OtherSys": m.OtherSys,
		"NextGC": m.NextGC, "LastGC": m.LastGC, "PauseTotalNs": m.PauseTotalNs,
		"NumGC": uint64(m.NumGC), "NumForcedGC": uint64(m.NumForcedGC),
		"Goroutines": uint64(runtime.NumGoroutine()),
		"GOMAXPROCS": uint64(runtime.GOMAXPROCS(0)),
		"MemProfileRate": uint64(runtime.MemProfileRate),
	})
	fmt.Printf("memstats %s\n", out)
}

func main() {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	go http.Serve(ln, nil)

	leakIntoCache(2048, 4096)
	printStats()
	fmt.Printf("ready %d\n", ln.Addr().(*net.TCPAddr).Port)

	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		if in.Text() == "gc" {
			printStats()
		}
	}
}
