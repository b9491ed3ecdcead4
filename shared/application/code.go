package application

import (
	"context"
	"fmt"
	"strings"
	"time"

	"motcua/shared/docstore"
	"motcua/shared/workdays"
)

// codeRetries bounds the compare-and-swap attempts of AllocateCode; with
// docstore's jittered backoff (capped near 128 ms) this rides out hundreds
// of simultaneous submissions to one agency.
const codeRetries = 400

// counter is the per-agency daily counter document.
type counter struct {
	Last int `json:"last"`
}

// CounterKey returns the key of the counter of agency on day (yyMMdd).
func CounterKey(agency, day string) string {
	return "counters/applications/" + agency + "/" + day + ".json"
}

// AllocateCode returns a new application code {agency}-{yyMMdd}-{NNNN}
// (NNNN widens past 9999), the day taken in Asia/Ho_Chi_Minh at now. The
// number comes from a per-agency daily counter document advanced with
// compare-and-swap, so concurrent callers (in any number of processes)
// never get the same code; numbers taken by a request that later fails
// are simply skipped.
func AllocateCode(ctx context.Context, store docstore.Store, agency string, now time.Time) (string, error) {
	if agency == "" || strings.ContainsAny(agency, "/ ") {
		return "", fmt.Errorf("allocate code: invalid agency code %q", agency)
	}
	day := now.In(workdays.Location).Format("060102")
	var c counter
	err := docstore.Upsert(ctx, store, CounterKey(agency, day), &c, func() error {
		c.Last++
		return nil
	}, codeRetries)
	if err != nil {
		return "", fmt.Errorf("allocate code %s/%s: %w", agency, day, err)
	}
	return fmt.Sprintf("%s-%s-%04d", agency, day, c.Last), nil
}
