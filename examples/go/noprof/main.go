// noprof never imports runtime/pprof, so Go's linker turns its heap profiling off
// (MemProfileRate 0).  It prints "ready", then on a "leak" line on stdin keeps 32 MiB
// in leakAfterAttach (1 KiB objects), runs runtime.GC() and prints "leaked"; it exits
// when stdin closes.
package main

import (
	"bufio"
	"fmt"
	"os"
	"runtime"
)

var kept [][]byte

//go:noinline
func leakAfterAttach(total, size int) {
	for i := 0; i < total/size; i++ {
		b := make([]byte, size)
		b[0] = byte(i)
		kept = append(kept, b)
	}
}

func main() {
	// room for every object up front, so leakAfterAttach holds exactly its objects
	kept = make([][]byte, 0, 1<<16)
	fmt.Println("ready")
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		if in.Text() == "leak" {
			leakAfterAttach(32<<20, 1024)
			runtime.GC()
			fmt.Println("leaked")
		}
	}
}
