package book

import (
	"context"
	"errors"

	"motcua/shared/application"
	"motcua/shared/docstore"
	"motcua/shared/queue"
)

// The receipt book's only use of the outbox: stage receipt.issued once the
// receipt is durable, publish it and delete the marker. The markers are
// the ones application.RepairOutbox (motcua outbox repair) sweeps, so a
// crash between staging and publishing is repaired with the others. If the
// outbox moves to its own package, only this file changes.

// stageEvent writes the marker of env (create once; a retry's second write
// is not an error).
func stageEvent(ctx context.Context, store docstore.Store, queueName string, env queue.Envelope) error {
	return application.StageOutbox(ctx, store, queueName, env, "")
}

// flushEvent publishes env if its marker is still staged, then deletes the
// marker; a marker already gone means a previous attempt published it.
// staged says the caller staged the marker itself just before, so it is
// not looked for: at worst a concurrent delivery of the same receipt
// published it too, a duplicate consumers drop by event ID.
func flushEvent(ctx context.Context, store docstore.Store, pub queue.Publisher, queueName string, env queue.Envelope, staged bool) error {
	if !staged {
		if _, err := store.Head(ctx, application.OutboxKey(env.ID)); errors.Is(err, docstore.ErrNotFound) {
			return nil
		} else if err != nil {
			return err
		}
	}
	return application.FlushOutbox(ctx, store, pub, queueName, env)
}
