// Command gen writes shared/queue/routes_gen.go, the publisher's fan-out
// routes, from infra/provision/resources.json (the one definition of queues):
// functions cannot read infra/ at run time (their build context holds shared/
// only), so the routes are generated into shared/queue and a test in
// infra/provision fails when the generated file is stale.
//
//	go generate ./infra/provision
package main

import (
	"flag"
	"fmt"
	"os"

	"motcua/infra/provision"
)

func main() {
	out := flag.String("o", "", "output file (default stdout)")
	flag.Parse()
	res, err := provision.LoadDefault()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	src := provision.RoutesGo(res)
	if *out == "" {
		os.Stdout.Write(src)
		return
	}
	if err := os.WriteFile(*out, src, 0o644); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
