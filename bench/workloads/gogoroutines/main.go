// gogoroutines holds N goroutines (argument, default 10000) parked on a channel at 64
// different depths, so their stacks differ, plus SPIN (environment, default 0) busy
// ones; prints "ready" and idles until stdin closes.
package main

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"sync"
)

var never = make(chan int)

//go:noinline
func park(depth int, started *sync.WaitGroup) {
	if depth > 0 {
		park(depth-1, started)
		return
	}
	started.Done()
	<-never
}

//go:noinline
func spin() {
	for n := 0; ; n++ {
	}
}

func main() {
	n := 10000
	if len(os.Args) > 1 {
		n, _ = strconv.Atoi(os.Args[1])
	}
	var started sync.WaitGroup
	started.Add(n)
	for i := 0; i < n; i++ {
		go park(i%64, &started)
	}
	started.Wait()
	nspin, _ := strconv.Atoi(os.Getenv("SPIN"))
	for i := 0; i < nspin; i++ {
		go spin()
	}
	fmt.Println("ready")
	bufio.NewScanner(os.Stdin).Scan()
}
