package book_test

import (
	"context"
	"fmt"
	"runtime"
	"sync/atomic"
	"testing"

	"motcua/infra/embedded"
	"motcua/shared/awsx"
	"motcua/shared/docstore"
	"motcua/shared/queue"
	"motcua/shared/receipt/book"
	"motcua/shared/receipt/receipttest"
)

// BenchmarkDocuments splits the per-receipt CPU work: XML signing (RSA
// 2048), the offline QR (Ed25519) and the PDF (embedded font, QR image).
func BenchmarkDocuments(b *testing.B) {
	fixtures(b)
	docs := book.StandardDocuments(signer, qr, "A5", "")
	r := receipttest.Sample()
	payload, _ := docs.QR(r)
	b.Run("sign_xml", func(b *testing.B) {
		for b.Loop() {
			if _, err := docs.SignXML(context.Background(), r, r.IssuedAt); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("qr", func(b *testing.B) {
		for b.Loop() {
			if _, err := docs.QR(r); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("pdf", func(b *testing.B) {
		for b.Loop() {
			if _, err := docs.PDF(r, payload); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkIssue issues receipts end to end (HandleEvent: claim, number,
// sign, QR, PDF, documents, marker, link, event) on the embedded S3 with
// fsync, through the real SDK, with 4 and 16 issuers on one series: the
// CPU profile of a whole delivery's in-process work, storage server
// included (go test -run '^$' -bench BenchmarkIssue -cpuprofile cpu.out
// ./shared/receipt/book).
func BenchmarkIssue(b *testing.B) {
	for _, issuers := range []int{4, 16} {
		b.Run(fmt.Sprintf("issuers_%d", issuers), func(b *testing.B) {
			stack := embedded.StartDurableForTest(b)
			cfg, err := stack.AWSConfig(context.Background())
			if err != nil {
				b.Fatal(err)
			}
			e := newEnv(b, docstore.NewS3Store(awsx.S3(cfg), nil, "motcua-data"))
			evs := make([]queue.Envelope, b.N)
			for i := range evs {
				evs[i] = e.paid(b, i+1)
			}
			var next atomic.Int64
			b.SetParallelism(max(issuers/runtime.GOMAXPROCS(0), 1))
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, _, err := e.book.HandleEvent(context.Background(), evs[next.Add(1)-1]); err != nil {
						b.Error(err)
					}
				}
			})
		})
	}
}
