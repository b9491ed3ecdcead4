// Package application is motcua's application (hồ sơ) domain. It is one
// package in clearly separated files, one layer each:
//
//	model        model.go id.go code.go pin.go seal.go errors.go events.go rules.go apitime.go
//	             the Application and its statuses, typed codes (ParseCode), code
//	             allocation, PIN hashing, events, answer times
//	state machine transitions.go        staff actions and their rules (Apply, AllowedFor)
//	repository   repository.go outbox.go payment.go
//	             one JSON document per application with ETag compare-and-swap; the
//	             outbox tie (shared/outbox); applying a confirmed payment
//	guarded access access.go           code + PIN through shared/citizenguard
//	submit service submit.go submit_input.go applicant.go
//	             filing (one-round validation), complete-uploads, cancel
//	staff processor processor.go       staff actions with audit trail and outbox
//	views        status.go             the citizen's status view
//	HTTP adapters http_submit.go http_status.go http_staff.go
//	             the only files that speak HTTP (decode, call, encode, map errors)
//
// Why files and not sub-packages: the layers share the Application type and
// its invariants (unexported helpers such as hasEvent and mediaType), and
// five teammates' branches import motcua/shared/application by name; moving
// the types into sub-packages would break every one of them at merge for no
// gain in isolation the file split does not already give. Only the outbox,
// which payments and receipts use as well, moved out (shared/outbox).
//
// Storage layout (data bucket):
//
//	applications/<code>.json                 one Application (create once, then CAS)
//	counters/applications/<agency>/<yyMMdd>.json  per-agency daily code counter
//	audit/applications/<code>/<eventId>.json staff step records
//	outbox/<eventId>.json                    event not yet confirmed published
//	guard/…                                  citizen guard counters (hashed keys)
//
// Uploaded files live in the uploads bucket under
// applications/<code>/documents/<docCode>/<file>.
package application
