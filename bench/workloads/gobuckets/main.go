// gobuckets makes the Go runtime hold N profiling buckets (default 10000): with
// MemProfileRate 1, each of N distinct call paths through left/right keeps one 64-byte
// object.  It prints "ready" and idles until stdin closes.
package main

import (
	"bufio"
	"fmt"
	"os"
	"runtime"
	"strconv"
)

var sink [][]byte

//go:noinline
func left(i, d int) {
	if d == 0 {
		sink = append(sink, make([]byte, 64))
	} else if i&1 == 0 {
		left(i>>1, d-1)
	} else {
		right(i>>1, d-1)
	}
}

//go:noinline
func right(i, d int) {
	if d == 0 {
		sink = append(sink, make([]byte, 64))
	} else if i&1 == 0 {
		left(i>>1, d-1)
	} else {
		right(i>>1, d-1)
	}
}

func main() {
	runtime.MemProfileRate = 1
	n := 10000
	if len(os.Args) > 1 {
		n, _ = strconv.Atoi(os.Args[1])
	}
	sink = make([][]byte, 0, n)
	for i := 0; i < n; i++ {
		left(i, 14)
	}
	runtime.GC()
	runtime.GC()
	fmt.Println("ready")
	bufio.NewScanner(os.Stdin).Scan()
}
