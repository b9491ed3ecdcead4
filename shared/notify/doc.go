// Package notify tells citizens (and senders of feedback) what happened to
// their application, payment, receipt or feedback, by SMS and e-mail, with
// Vietnamese templates. It is the domain of the "notify" function, which the
// queue connector calls with every event of the notify-events queue (the
// fan-out copy of application-, payment-, receipt- and feedback-events).
//
// Flow of one event (Service.Handle):
//
//  1. plan: the event type selects a template kind (Kinds); the contact
//     details come from the stored document the event names (the
//     application's applicant phone/e-mail, the feedback item's contact),
//     never from the event, which carries no personal data; details the
//     template needs (what is missing, the tracking number, the reason) come
//     from the step's audit record. Event types without a template are
//     acknowledged and ignored. An event must match durable state: an
//     application event's id must be in the application's timeline (the
//     outbox writes it there before publishing), a payment.confirmed must be
//     the stored paid payment's ConfirmEvent, a receipt.issued must name a
//     stored receipt of that application; anything else is refused
//     (ErrBadEvent), so a stray or forged envelope notifies nobody.
//  2. render: text/template files embedded in the binary (templates/), one
//     per kind with an "sms", a "subject" and a "body" part; the output is
//     NFC with diacritics intact.
//  3. send once per channel: a marker per event and channel
//     (notifications/sent/<event id>/<channel>.json) is created "sending"
//     with If-None-Match before the provider is called and turned "sent"
//     after. A duplicate delivery finds "sent" and sends nothing; one that
//     finds a fresh "sending" (another delivery in flight) answers "retry
//     later"; a "failed" or stale "sending" marker is retried. A crash
//     between the provider's acceptance and the "sent" write may therefore
//     send again once the lease expired: at least once, never lost. The
//     window is covered where the provider allows: the SMS request carries
//     the marker's request id (eSMS RequestId, de-duplicated by the
//     provider) and the e-mail a Message-ID derived from it.
//
// Transient failures (network, 4xx SMTP replies, provider 5xx) make Handle
// fail, the function answers 5xx and the connector redelivers until the
// queue dead-letters the event; permanent refusals (5xx SMTP replies, an
// invalid recipient) are recorded on the marker and not retried. Phone
// numbers and e-mail addresses are masked in logs (shared/logx) and in the
// stored markers.
package notify
