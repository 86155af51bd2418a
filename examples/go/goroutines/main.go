// goroutines is a Go program with goroutines in known places: 1000 blocked in
// blockedOnChan on a channel receive, 50 in waitInSelect's select, 10 in sleeper's
// time.Sleep and SPIN (default 2) running spin's busy loop.  It serves net/http/pprof on
// 127.0.0.1 (an ephemeral port) and prints "ready PORT".  A line "leak" on stdin starts
// 100 more goroutines blocked in leakedWorker and prints "leaked N" (the total so far);
// the program idles until stdin closes.
package main

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	_ "net/http/pprof"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

var (
	never   = make(chan int)
	nothing = make(chan int)
	leaks   = make(chan int)
	spins   atomic.Uint64
)

//go:noinline
func blockedOnChan(started *sync.WaitGroup) {
	started.Done()
	<-never
}

//go:noinline
func waitInSelect(started *sync.WaitGroup) {
	started.Done()
	select {
	case <-never:
	case <-nothing:
	}
}

//go:noinline
func sleeper(started *sync.WaitGroup) {
	started.Done()
	time.Sleep(time.Hour)
}

//go:noinline
func spin(started *sync.WaitGroup) {
	started.Done()
	for {
		spins.Add(1)
	}
}

//go:noinline
func leakedWorker(started *sync.WaitGroup) {
	started.Done()
	<-leaks
}

// start runs n goroutines of f and waits until each has started.
func start(n int, f func(*sync.WaitGroup)) {
	var started sync.WaitGroup
	started.Add(n)
	for i := 0; i < n; i++ {
		go f(&started)
	}
	started.Wait()
}

func main() {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	go http.Serve(ln, nil)

	nspin := 2
	if s := os.Getenv("SPIN"); s != "" {
		nspin, _ = strconv.Atoi(s)
	}
	start(1000, blockedOnChan)
	start(50, waitInSelect)
	start(10, sleeper)
	start(nspin, spin)
	fmt.Printf("ready %d\n", ln.Addr().(*net.TCPAddr).Port)

	leaked := 0
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		if in.Text() == "leak" {
			start(100, leakedWorker)
			leaked += 100
			fmt.Printf("leaked %d\n", leaked)
		}
	}
}
