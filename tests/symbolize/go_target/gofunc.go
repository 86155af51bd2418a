// Go functions for the symbolizer test, in a file cgo does not rewrite: no //line
// directives, so even the inlined call lines of its DWARF are the real ones.
package main

import "runtime"

var sink int

//go:noinline
func goFunc(x int) int {
	sink += x
	return sink * 3
}

//go:noinline
func goLeaf() uintptr {
	var pcs [1]uintptr
	// Skipping runtime.Callers and goLeaf: the return address into goCaller.
	runtime.Callers(2, pcs[:])
	sink++
	return pcs[0]
}

//go:noinline
func goCaller() uintptr {
	ra := goLeaf()
	sink++
	return ra
}
