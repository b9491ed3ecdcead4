// Package function is the "reprocess-worker" function: the queue connector
// delivers each reprocess-jobs message (a dispatch or a chunk of items of a
// confirmed job) to it. 200 deletes the message; 5xx leaves it for
// redelivery. It is a separate function from "reprocess" so it scales on
// its own (replicas, com.openfaas.queue.concurrency) with its own timeout,
// and so the admin API's surface stays the API. A message only names items
// of a job an admin confirmed, each applied at most once.
package function

import (
	"net/http"

	"motcua/shared/delivery"
	"motcua/shared/jobs"
	"motcua/shared/jobs/kinds"
	"motcua/shared/platform"
)

// Handle handles one queued delivery.
var Handle = platform.Serve(func(p *platform.Platform) (*jobs.WorkerHTTP, error) {
	svc, err := kinds.Service(p)
	if err != nil {
		return nil, err
	}
	secrets := func() ([][]byte, error) {
		s, err := p.Secrets.Get(delivery.SecretName) // re-read: a rotated secret needs no restart
		return delivery.ParseSecrets(s), err
	}
	return jobs.NewWorkerHTTP(svc, secrets, p.Log), nil
}, http.MethodPost)
