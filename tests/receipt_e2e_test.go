package e2e

// End-to-end receipts through the real local stack: an application is paid
// with the bank simulator, payment-callback publishes payment.confirmed, the
// queue connector delivers it (signed) to issue-receipt, the receipt shows
// up in application-status, the receipt function serves it as JSON, XML and
// PDF and verifies it (a tampered amount fails), duplicate deliveries give
// no second receipt, and issue-receipt refuses calls that are not the
// connector's.

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"motcua/cmd/bank-sim/sim"
	"motcua/shared/delivery"
	"motcua/shared/docstore"
	"motcua/shared/payment"
	"motcua/shared/queue"
	"motcua/shared/receipt/book"
	"motcua/shared/receipt/numbering"
)

// receiptStatus is the part of application-status the receipt test reads.
type receiptStatus struct {
	Receipt *struct {
		Number string `json:"number"`
		URL    string `json:"url"`
	} `json:"receipt"`
}

func TestReceipts_through_the_gateway_and_connector(t *testing.T) {
	s := startPayStack(t)
	ctx := context.Background()
	bank := sim.New(sim.Config{GatewayURL: s.gw, HashSecret: s.hashSecret, TmnCode: payTmnCode, WebhookSecret: s.whNew})
	store := docstore.NewS3Store(s.a.S3(), nil, "motcua-data")

	code, pin := s.awaitingPayment(t, "Biên Lai")
	pay := s.pay(t, code, pin, payment.MethodVNPay)
	if _, err := bank.PayVNPay(ctx, pay.PayURL, sim.ModeDuplicate); err != nil {
		t.Fatal(err)
	}

	var link string
	t.Run("receipt_appears_in_the_status_lookup", func(t *testing.T) {
		waitFor(t, 60*time.Second, "the receipt link in application-status", func() bool {
			var v receiptStatus
			if c, _ := s.postJSON(t, "application-status", map[string]string{"code": code, "pin": pin}, &v); c != http.StatusOK || v.Receipt == nil {
				return false
			}
			link = v.Receipt.URL
			return strings.HasPrefix(v.Receipt.Number, "BL") && strings.HasSuffix(v.Receipt.Number, "-00000001")
		})
	})
	if link == "" {
		t.FailNow()
	}

	var view book.View
	t.Run("json_xml_and_pdf", func(t *testing.T) {
		c, _, b := do(t, http.MethodGet, s.gw+link, nil)
		if c != http.StatusOK {
			t.Fatalf("GET %s: %d %s", link, c, b)
		}
		if err := json.Unmarshal(b, &view); err != nil {
			t.Fatal(err)
		}
		if view.Number != 1 || view.TotalVND != payFee || view.TotalInWords != "Một trăm nghìn đồng" || view.Payer.Name != "Trần Văn Biên Lai" ||
			view.ApplicationCode != code || view.PaymentMethod != "vnpay" || strings.Contains(string(b), "001190123456") {
			t.Fatalf("view %s", b)
		}
		c, h, x := do(t, http.MethodGet, s.gw+view.Links.XML, nil)
		if c != http.StatusOK || !strings.HasPrefix(h.Get("Content-Type"), "application/xml") || !bytes.Contains(x, []byte("Signature")) {
			t.Fatalf("xml: %d %s", c, x)
		}
		c, h, p := do(t, http.MethodGet, s.gw+link, nil, "Accept", "application/pdf")
		if c != http.StatusOK || h.Get("Content-Type") != "application/pdf" || !bytes.HasPrefix(p, []byte("%PDF-")) {
			t.Fatalf("pdf: %d %q", c, p[:min(16, len(p))])
		}
		c, _, _ = do(t, http.MethodGet, s.gw+"/function/receipt?series="+view.Series+"&number=1&lookup=WRONGCODE234", nil)
		if c != http.StatusNotFound {
			t.Fatalf("wrong lookup code: %d", c)
		}
		c, _, b = do(t, http.MethodGet, s.gw+"/function/receipt/lookup?"+url.Values{"action": {"lookup"}, "code": {code}, "pin": {pin}, "format": {"json"}}.Encode(), nil)
		if c != http.StatusOK || !bytes.Contains(b, []byte(view.LookupCode)) {
			t.Fatalf("by code and PIN: %d %s", c, b)
		}
	})

	t.Run("verify_genuine_and_tampered", func(t *testing.T) {
		_, _, x := do(t, http.MethodGet, s.gw+view.Links.XML, nil)
		var v book.Verification
		c, _, b := do(t, http.MethodPost, s.gw+"/function/receipt", bytes.NewReader(x), "Content-Type", "application/xml")
		if c != http.StatusOK || json.Unmarshal(b, &v) != nil || !v.Valid || !v.IssuedHere {
			t.Fatalf("genuine: %d %s", c, b)
		}
		tampered := bytes.Replace(x, []byte(">100000<"), []byte(">900000<"), 1)
		if bytes.Equal(tampered, x) {
			t.Fatal("amount not found in the XML")
		}
		v = book.Verification{}
		c, _, b = do(t, http.MethodPost, s.gw+"/function/receipt", bytes.NewReader(tampered), "Content-Type", "application/xml")
		if c != http.StatusOK || json.Unmarshal(b, &v) != nil || v.Valid || v.Reason != "content_altered" {
			t.Fatalf("tampered: %d %s", c, b)
		}
	})

	t.Run("duplicate_deliveries_give_one_receipt", func(t *testing.T) {
		var p payment.Payment
		if _, err := docstore.GetJSON(ctx, store, payment.Key(mustRef(t, pay.Ref)), &p); err != nil || p.ConfirmEvent == nil {
			t.Fatalf("payment %+v: %v", p, err)
		}
		pub := queue.NewSQSPublisher(s.a.SQS())
		for range 5 {
			if err := pub.Publish(ctx, payEvents, *p.ConfirmEvent); err != nil {
				t.Fatal(err)
			}
		}
		waitFor(t, 30*time.Second, "payment-events drained by issue-receipt", func() bool {
			n, err := visibleAndInFlight(ctx, s, payEvents)
			return err == nil && n == 0
		})
		c, err := numbering.New(store).Get(ctx, view.Series)
		if err != nil || c.Last != 1 || len(c.InFlight) != 0 {
			t.Fatalf("counter %+v %v: want one receipt", c, err)
		}
	})

	t.Run("issue_receipt_refuses_calls_not_from_the_connector", func(t *testing.T) {
		ev, _ := queue.NewEnvelope("application.submitted", "", map[string]string{"code": code})
		body, _ := json.Marshal(ev)
		c, h, b := do(t, http.MethodPost, s.gw+"/function/issue-receipt", bytes.NewReader(body), "Content-Type", "application/json")
		if c != http.StatusUnauthorized {
			t.Fatalf("unsigned call: %d %s", c, b)
		}
		decodeProblem(t, h, b)
		secret, err := os.ReadFile(filepath.Join(s.secretsDir, delivery.SecretName))
		if err != nil {
			t.Fatal(err)
		}
		hdr := http.Header{}
		delivery.Sign(hdr, delivery.ParseSecrets(string(secret)), time.Now(), body)
		c, _, b = do(t, http.MethodPost, s.gw+"/function/issue-receipt", bytes.NewReader(body), "Content-Type", "application/json", delivery.Header, hdr.Get(delivery.Header))
		if c != http.StatusOK || !bytes.Contains(b, []byte(`"ignored"`)) {
			t.Fatalf("signed call with another event type: %d %s", c, b)
		}
	})
}

// visibleAndInFlight counts a queue's messages, visible and in flight.
func visibleAndInFlight(ctx context.Context, s *payStack, name string) (int, error) {
	u, err := s.a.SQS().GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String(name)})
	if err != nil {
		return 0, err
	}
	out, err := s.a.SQS().GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: u.QueueUrl,
		AttributeNames: []types.QueueAttributeName{types.QueueAttributeNameApproximateNumberOfMessages,
			types.QueueAttributeNameApproximateNumberOfMessagesNotVisible}})
	if err != nil {
		return 0, err
	}
	a, _ := strconv.Atoi(out.Attributes["ApproximateNumberOfMessages"])
	b, _ := strconv.Atoi(out.Attributes["ApproximateNumberOfMessagesNotVisible"])
	return a + b, nil
}

func mustRef(t *testing.T, s string) payment.Ref {
	t.Helper()
	r, err := payment.ParseRef(s)
	if err != nil {
		t.Fatal(err)
	}
	return r
}
