// cgo example for the thread stacks: a goroutine blocked inside a C function (so the
// stack runs C frames, then Go frames reached only through frame pointers), and a thread
// created by C. Prints "ready" once both are in place.
package main

/*
#cgo CFLAGS: -g -O1 -fno-omit-frame-pointer
#include "blocker.h"
*/
import "C"

import (
	"fmt"
	"os"
	"runtime"
)

//go:noinline
func goBlockedInC() {
	C.cgo_block_in_c()
}

//go:noinline
func goCaller() {
	runtime.LockOSThread()
	goBlockedInC()
}

func main() {
	C.cgo_start_c_thread()
	go goCaller()
	C.cgo_wait_ready()
	fmt.Println("ready")
	os.Stdout.Sync()
	select {}
}
