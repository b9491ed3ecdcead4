// Package function is a scheduled reprocess job (OpenFaaS cron-connector
// convention: topic cron-function, schedule annotation). stack.yml deploys
// this one handler several times (reprocess-cron-outbox, -pending,
// -settlement), each with its MOTCUA_CRON_* environment naming the kind,
// scope and schedule. Each call runs the schedule's current slot at most
// once (a create-once lock per slot), as an audited job like any other.
package function

import (
	"net/http"
	"os"

	"motcua/shared/jobs"
	"motcua/shared/jobs/kinds"
	"motcua/shared/platform"
)

// Handle runs the schedule's due slot.
var Handle = platform.Serve(func(p *platform.Platform) (*jobs.CronHTTP, error) {
	sc, err := kinds.Schedule(os.Environ())
	if err != nil {
		return nil, err
	}
	svc, err := kinds.Service(p)
	if err != nil {
		return nil, err
	}
	return jobs.NewCronHTTP(svc, sc, p.Log)
}, http.MethodPost)
