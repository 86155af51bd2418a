module memprof/tests/symbolize/go_target

go 1.19
