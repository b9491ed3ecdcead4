package connector

import (
	"net/http"
	"testing"
	"time"

	"motcua/shared/delivery"
)

// TestDelivery_signed_with_delivery_secret: with DeliverySecrets set, each
// delivery carries a signature the function can verify (and that fails
// with another secret).
func TestDelivery_signed_with_delivery_secret(t *testing.T) {
	h := newHarness(t)
	qurl := h.queueURL("payment-events")
	var rec recorder
	h.gw.handle("issuer", func(w http.ResponseWriter, r *http.Request) {
		rec.add(r)
		w.WriteHeader(http.StatusOK)
	})
	h.gw.setFunctions(topicFn("issuer", "payment-events"))
	secret := []byte("e2e-delivery-secret-0123456789")
	h.start(func(o *Options) {
		o.DeliverySecrets = func() ([][]byte, error) { return [][]byte{secret}, nil }
	})
	body := `{"id":"e-9","type":"payment.confirmed","payload":{}}`
	h.send(qurl, body, nil)
	waitFor(t, "message deleted", func() bool { return h.deletes.n.Load() == 1 })
	reqs := rec.all()
	if len(reqs) != 1 {
		t.Fatalf("function called %d times", len(reqs))
	}
	if err := delivery.Verify(reqs[0].header, reqs[0].body, [][]byte{secret}, time.Now()); err != nil {
		t.Fatalf("delivery signature does not verify: %v (header %q)", err, reqs[0].header.Get(delivery.Header))
	}
	if err := delivery.Verify(reqs[0].header, reqs[0].body, [][]byte{[]byte("another-secret")}, time.Now()); err == nil {
		t.Fatal("signature verified with another secret")
	}
}
