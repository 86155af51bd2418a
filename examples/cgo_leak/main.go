// cgo_leak leaks on both sides of a Go program: 32 MiB from C (c_leak, which Go's own
// heap profile cannot see) and 16 MiB from Go (goLeak).  With a file argument it writes
// Go's own heap profile there; then it prints "ready PID" and waits for EOF on stdin.
package main

/*
#include <stdlib.h>
#include <string.h>

static void **kept;
static size_t nkept;

__attribute__((noinline)) void c_leak(size_t total, size_t obj)
{
	size_t n = total / obj;
	kept = malloc(n * sizeof(*kept));
	for (size_t i = 0; i < n; i++) {
		kept[i] = malloc(obj);
		memset(kept[i], 1, obj);
	}
	nkept = n;
}
*/
import "C"

import (
	"bufio"
	"fmt"
	"os"
	"runtime"
	"runtime/pprof"
)

var goKept [][]byte

//go:noinline
func goLeak(total, obj int) {
	for i := 0; i < total/obj; i++ {
		goKept = append(goKept, make([]byte, obj))
	}
}

func main() {
	runtime.MemProfileRate = 1
	C.c_leak(32<<20, 64<<10)
	goLeak(16<<20, 64<<10)
	if len(os.Args) > 1 {
		f, err := os.Create(os.Args[1])
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		runtime.GC()
		if err := pprof.WriteHeapProfile(f); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		f.Close()
	}
	fmt.Printf("ready %d\n", os.Getpid())
	bufio.NewReader(os.Stdin).ReadString('\n')
	runtime.KeepAlive(goKept)
}
