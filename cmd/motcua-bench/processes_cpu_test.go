package main

import (
	"os"
	"testing"
	"time"
)

func TestParseStatCPU(t *testing.T) {
	tests := []struct {
		name, stat string
		want       time.Duration
		wantErr    bool
	}{
		{name: "plain", stat: "4242 (notify) S 1 4242 4242 0 -1 4194560 100 0 0 0 250 75 0 0 20 0 9 0 1000 1 1",
			want: 3250 * time.Millisecond},
		{name: "name_with_spaces_and_parentheses", stat: "7 (a) b (c) R 1 7 7 0 -1 0 0 0 0 0 1 2 0 0 20 0 1 0 5 1 1",
			want: 30 * time.Millisecond},
		{name: "no_name", stat: "7 R 1 7", wantErr: true},
		{name: "too_short", stat: "7 (x) R 1 7 7", wantErr: true},
		{name: "not_a_number", stat: "7 (x) R 1 7 7 0 -1 0 0 0 0 0 x 2 0 0", wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseStatCPU(tc.stat)
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tc.wantErr)
			}
			if got != tc.want {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
		})
	}
}

// The process's own CPU as /proc reads it follows what getrusage says:
// burn 200 ms of CPU, /proc must show at least half of it more (ticks
// are 10 ms; no wall-clock assertion).
func TestProcCPU_follows_the_process(t *testing.T) {
	before, err := procCPU(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	start := selfCPU()
	x := 0
	for selfCPU()-start < 200*time.Millisecond {
		for i := range 100000 {
			x += i
		}
	}
	after, err := procCPU(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if after-before < 100*time.Millisecond {
		t.Fatalf("/proc CPU moved %v after burning 200 ms (x=%d)", after-before, x)
	}
	if b, err := machineBusy(); err != nil || b <= 0 {
		t.Fatalf("machineBusy = %v, %v", b, err)
	}
}
