// Package payment groups motcua's payment-protocol building blocks, each a
// standalone, network-free library in its own subpackage:
//
//   - vnpay: VNPAY payment gateway 2.1.0 (payment URL, IPN, querydr);
//   - vietqr: VietQR (EMVCo merchant-presented) transfer payloads;
//   - webhook: the generic signed partner-bank webhook (X-Motcua-Signature).
//
// The pay-fee and payment-callback functions wire them to storage and queues.
package payment
