// The symbolizer's cgo target: prints addresses of Go and C code with their ground
// truth, "ready", then waits for its stdin to close.  The Go truth comes from the Go
// runtime's own tables (pclntab), not from DWARF, so it is independent of what is
// tested; the C truth from __LINE__.
//
// Each line: "ADDR RET FUNC FILE LINE [FUNC FILE LINE]...", frames innermost first,
// FILE a base name, RET 1 for a return address (the call before it is meant).
package main

/*
#cgo CFLAGS: -g -O1
#include "c_part.h"
*/
import "C"

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
)

func goTruth(pc uintptr, ret bool) {
	// CallersFrames takes pc as a return address unless it is a function's entry.
	fmt.Printf("%x %d", pc, map[bool]int{false: 0, true: 1}[ret])
	frames := runtime.CallersFrames([]uintptr{pc})
	for {
		f, more := frames.Next()
		fmt.Printf(" %s %s %d", f.Function, filepath.Base(f.File), f.Line)
		if !more {
			break
		}
	}
	fmt.Println()
}

func main() {
	goTruth(reflect.ValueOf(goFunc).Pointer(), false)
	goTruth(reflect.ValueOf(main).Pointer(), false)
	goTruth(goCaller(), true)

	var line C.int
	addr := C.c_known_address(&line)
	fmt.Printf("%x 0 c_known c_part.c %d\n", uintptr(addr), int(line))
	addr = C.c_caller(&line)
	fmt.Printf("%x 1 c_caller c_part.c %d\n", uintptr(addr), int(line))

	fmt.Println("ready")
	os.Stdout.Sync()
	io.Copy(io.Discard, os.Stdin)
	if goFunc(1) < 0 {
		panic("unreachable")
	}
}
