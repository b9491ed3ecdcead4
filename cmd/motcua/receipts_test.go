package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"motcua/shared/application"
	"motcua/shared/docstore"
	"motcua/shared/payment"
	"motcua/shared/queue"
	"motcua/shared/receipt/book"
	"motcua/shared/receipt/offlineqr"
	"motcua/shared/receipt/receipttest"
	"motcua/shared/receipt/signing"
)

func TestReceipts_pending_and_repair(t *testing.T) {
	ctx := context.Background()
	store := docstore.NewMemStore("motcua-data")
	key, cert, err := signing.GenerateDevPair("cli test", time.Now().Add(-time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	signer, _ := signing.NewLocal(key, cert)
	sec, _ := offlineqr.GenerateDevSecret("CLI1")
	qr, _ := offlineqr.ParseSecret(sec)
	clock := time.Now()
	b, err := book.New(book.Deps{Store: store, Publisher: queue.NewMemQueue(book.DefaultEventsQueue),
		Documents: book.StandardDocuments(signer, qr, "A5", ""), Now: func() time.Time { return clock }}, book.Config{Unit: receipttest.Unit()})
	if err != nil {
		t.Fatal(err)
	}
	old := openBook
	openBook = func(context.Context, []string) (*book.Book, error) { return b, nil }
	t.Cleanup(func() { openBook = old })

	// A paid payment whose number was allocated and whose issuing then
	// stopped (the number is in flight).
	now := clock.UTC()
	app := application.Application{Code: "STP-261203-0001", ProcedureCode: "T.TP.001", ProcedureName: "Cấp Phiếu lý lịch tư pháp",
		Agency:    application.Agency{Code: "STP", Name: "Sở Tư pháp"},
		Applicant: application.Applicant{Kind: application.ApplicantPerson, Name: "Nguyễn Văn An", IDNumber: receipttest.PayerCCCD, Phone: "+84912345678", Address: "Đà Lạt"},
		Status:    application.StatusProcessing, SubmittedAt: now, DueAt: now.Add(time.Hour), Fee: application.Fee{AmountVND: 100000, Kind: "fee", PaymentState: "paid"}}
	if _, err := application.NewRepository(store).Create(ctx, &app); err != nil {
		t.Fatal(err)
	}
	ref, _ := payment.NewRef()
	p := payment.Payment{Ref: ref, ApplicationCode: app.Code, AmountVND: 100000, Method: payment.MethodVNPay, State: payment.StatePaid, CreatedAt: now, ExpiresAt: now, PaidAt: &now}
	if err := payment.NewRepository(store).Create(ctx, &p); err != nil {
		t.Fatal(err)
	}
	series := receipttest.Unit().SeriesAt(now)
	if _, err := b.Numbering().Allocate(ctx, series, ref, now, time.Time{}, nil); err != nil {
		t.Fatal(err)
	}

	code, out, errOut := runCLI(t, store, "receipts", "pending")
	if code != 0 || !strings.Contains(out, series+": last 1, 1 in flight") || !strings.Contains(out, ref) {
		t.Fatalf("pending: %d %q %q", code, out, errOut)
	}
	clock = clock.Add(5 * time.Minute)
	code, out, errOut = runCLI(t, store, "receipts", "repair", "--older-than", "2m")
	if code != 0 || !strings.Contains(out, "1 completed") {
		t.Fatalf("repair: %d %q %q", code, out, errOut)
	}
	if rec, err := b.ByPayment(ctx, ref); err != nil || rec.Receipt.Number != 1 {
		t.Fatalf("receipt of the repaired payment: %+v %v", rec.ID(), err)
	}
	if code, _, _ := runCLI(t, store, "receipts", "nope"); code != 2 {
		t.Fatalf("unknown command exit %d", code)
	}
}
