module memprof/examples/cgo_threads

go 1.19
