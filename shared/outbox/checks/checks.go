// Package checks is the one registry of outbox tie checks: which record
// kinds markers may be tied to (shared/outbox Tie.Kind) and how to tell
// whether a left-behind marker's state change was written. Both sweeps of
// the outbox use it — `motcua outbox repair` (cmd/motcua) and the
// republish-outbox job kind (shared/jobs/kinds) — so a new tied kind is
// registered here, once, and both learn it.
//
// Untied markers (the zero Tie: receipts' receipt.issued, payments'
// events, whose change is durable before the marker is staged) need no
// check: outbox.Repair always publishes them.
package checks

import (
	"motcua/shared/application"
	"motcua/shared/docstore"
	"motcua/shared/feedback"
	"motcua/shared/outbox"
)

// Written returns the check of every tied outbox kind motcua writes,
// reading the records from store: outbox.Repair's written map.
func Written(store docstore.Store) map[string]outbox.Written {
	return map[string]outbox.Written{
		application.OutboxKind: application.OutboxWritten(store),
		feedback.OutboxKind:    feedback.EventWritten(store),
	}
}
