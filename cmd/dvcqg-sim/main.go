// Command dvcqg-sim runs the local simulator of the national portal's LGSP
// integration endpoint (package sim) for the dvcqg-sync function.
//
//	go run ./cmd/dvcqg-sim -addr 127.0.0.1:8095 -user motcua -password dev -unit 000.00.00.H00
//	curl -X POST localhost:8095/_sim/control -d '{"failNext":3}'     # fail the next 3 requests
//	curl -X POST localhost:8095/_sim/control -d '{"failRate":0.3,"slowMs":500}'
//	curl localhost:8095/_sim/received                                # what was accepted
package main

import (
	"flag"
	"fmt"
	"net/http"
	"os"
	"time"

	"motcua/cmd/dvcqg-sim/sim"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8095", "listen address")
	user := flag.String("user", "motcua", "LGSP username accepted")
	pass := flag.String("password", "dev", "LGSP password accepted")
	unit := flag.String("unit", "000.00.00.H00", "unit code (madonvi) accepted")
	failNext := flag.Int("fail-next", 0, "fail the first N integration requests (HTTP 503)")
	failRate := flag.Float64("fail-rate", 0, "fail this share (0..1) of integration requests")
	slow := flag.Duration("slow", 0, "delay every answer")
	flag.Parse()
	s := sim.New(*user, *pass, *unit)
	s.SetControl(sim.Control{FailNext: *failNext, FailRate: *failRate, SlowMs: int(slow.Milliseconds())})
	fmt.Printf("dvcqg-sim on http://%s (auth %s, integration %s, %s, %s)\n", *addr, sim.PathAuth, sim.PathIntegration, sim.PathReceived, sim.PathControl)
	srv := &http.Server{Addr: *addr, Handler: s.Handler(), ReadHeaderTimeout: 10 * time.Second}
	if err := srv.ListenAndServe(); err != nil {
		fmt.Fprintln(os.Stderr, "dvcqg-sim:", err)
		os.Exit(1)
	}
}
