// Package signing is the port through which receipts are signed, with two
// adapters: Local (an RSA key and its certificate from OpenFaaS secrets) and
// KMS (remote signing, ký số từ xa: the private key stays in AWS KMS, or any
// KMS-compatible hardware module; only the certificate is a secret).
//
// Both adapters are crypto.Signer values, so an XMLDSig library signs
// through either without knowing which. FromConfig selects one with
// MOTCUA_RECEIPT_SIGNER.
package signing

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"

	"motcua/shared/config"
)

// Signer signs receipts: a crypto.Signer whose public key is the one in
// Certificate. Implementations are safe for concurrent use. Sign receives a
// SHA-256 digest (opts.HashFunc() == crypto.SHA256) and returns a PKCS #1
// v1.5 RSA signature; it ignores its rand argument when the key is remote.
type Signer interface {
	crypto.Signer
	// Certificate is the X.509 certificate embedded in signed receipts.
	Certificate() *x509.Certificate
}

// Secret names (files under the OpenFaaS secrets directory).
const (
	// SecretKey holds the PEM private key (PKCS #1 or PKCS #8, RSA) of the
	// local adapter.
	SecretKey = "receipt-signing-key"
	// SecretCert holds the PEM certificate of the signing key (both
	// adapters).
	SecretCert = "receipt-signing-cert"
)

// Configuration keys.
const (
	// KeySigner selects the adapter: "local" (default) or "kms".
	KeySigner = "MOTCUA_RECEIPT_SIGNER"
	// KeyKMSKeyID is the KMS key id, ARN or alias of the kms adapter.
	KeyKMSKeyID = "MOTCUA_RECEIPT_KMS_KEY_ID"
	// KeyKMSTimeout bounds one remote signature (default 10s).
	KeyKMSTimeout = "MOTCUA_RECEIPT_KMS_TIMEOUT"
)

// DevNotBefore is the start of validity of GenerateDevPair's certificates.
var DevNotBefore = time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)

// MinRSABits is the smallest RSA modulus accepted.
const MinRSABits = 2048

// ErrKeyMismatch means the certificate does not certify the signing key.
var ErrKeyMismatch = errors.New("signing: certificate public key does not match the signing key")

// ParseCertificate reads the first CERTIFICATE block of a PEM document and
// checks it holds an RSA key of at least MinRSABits.
func ParseCertificate(certPEM []byte) (*x509.Certificate, error) {
	for rest := certPEM; ; {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			return nil, errors.New("signing: no PEM CERTIFICATE block")
		}
		if b.Type != "CERTIFICATE" {
			continue
		}
		cert, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return nil, fmt.Errorf("signing: parse certificate: %w", err)
		}
		pub, ok := cert.PublicKey.(*rsa.PublicKey)
		if !ok {
			return nil, fmt.Errorf("signing: certificate key is %T, want RSA", cert.PublicKey)
		}
		if pub.N.BitLen() < MinRSABits {
			return nil, fmt.Errorf("signing: RSA key of %d bits, want at least %d", pub.N.BitLen(), MinRSABits)
		}
		return cert, nil
	}
}

// ParsePrivateKey reads an RSA private key from PEM (PKCS #1 "RSA PRIVATE
// KEY" or PKCS #8 "PRIVATE KEY"). Errors never include key material.
func ParsePrivateKey(keyPEM []byte) (*rsa.PrivateKey, error) {
	b, _ := pem.Decode(keyPEM)
	if b == nil {
		return nil, errors.New("signing: no PEM block in the private key")
	}
	switch b.Type {
	case "RSA PRIVATE KEY":
		k, err := x509.ParsePKCS1PrivateKey(b.Bytes)
		if err != nil {
			return nil, errors.New("signing: malformed PKCS #1 private key")
		}
		return k, nil
	case "PRIVATE KEY":
		k, err := x509.ParsePKCS8PrivateKey(b.Bytes)
		if err != nil {
			return nil, errors.New("signing: malformed PKCS #8 private key")
		}
		rk, ok := k.(*rsa.PrivateKey)
		if !ok {
			return nil, fmt.Errorf("signing: private key is %T, want RSA", k)
		}
		return rk, nil
	default:
		return nil, fmt.Errorf("signing: PEM block %q is not a private key", b.Type)
	}
}

func samePublicKey(a crypto.PublicKey, cert *x509.Certificate) bool {
	ka, ok := a.(*rsa.PublicKey)
	if !ok {
		return false
	}
	kb, ok := cert.PublicKey.(*rsa.PublicKey)
	return ok && ka.Equal(kb)
}

// Local signs with an RSA private key held in the process.
type Local struct {
	key  *rsa.PrivateKey
	cert *x509.Certificate
}

var _ Signer = (*Local)(nil)

// NewLocal returns a Local signer from a PEM private key and its PEM
// certificate, refusing a certificate that does not certify the key.
func NewLocal(keyPEM, certPEM []byte) (*Local, error) {
	key, err := ParsePrivateKey(keyPEM)
	if err != nil {
		return nil, err
	}
	cert, err := ParseCertificate(certPEM)
	if err != nil {
		return nil, err
	}
	if !samePublicKey(&key.PublicKey, cert) {
		return nil, ErrKeyMismatch
	}
	return &Local{key: key, cert: cert}, nil
}

// Public returns the RSA public key.
func (l *Local) Public() crypto.PublicKey { return &l.key.PublicKey }

// Sign signs a digest with RSASSA-PKCS1-v1_5.
func (l *Local) Sign(r io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	if err := checkDigest(digest, opts); err != nil {
		return nil, err
	}
	return rsa.SignPKCS1v15(r, l.key, crypto.SHA256, digest)
}

// Certificate returns the certificate.
func (l *Local) Certificate() *x509.Certificate { return l.cert }

func checkDigest(digest []byte, opts crypto.SignerOpts) error {
	if opts == nil || opts.HashFunc() != crypto.SHA256 {
		return errors.New("signing: only SHA-256 digests are signed")
	}
	if _, pss := opts.(*rsa.PSSOptions); pss {
		return errors.New("signing: RSA-PSS is not supported, PKCS #1 v1.5 only")
	}
	if len(digest) != crypto.SHA256.Size() {
		return fmt.Errorf("signing: digest of %d bytes, want %d", len(digest), crypto.SHA256.Size())
	}
	return nil
}

// KMSAPI is the part of the AWS KMS client the KMS adapter uses.
type KMSAPI interface {
	// Sign signs a message or digest with an asymmetric KMS key.
	Sign(ctx context.Context, in *kms.SignInput, optFns ...func(*kms.Options)) (*kms.SignOutput, error)
	// GetPublicKey returns the public key of an asymmetric KMS key.
	GetPublicKey(ctx context.Context, in *kms.GetPublicKeyInput, optFns ...func(*kms.Options)) (*kms.GetPublicKeyOutput, error)
}

var _ KMSAPI = (*kms.Client)(nil)

// KMS signs remotely with an RSA key in AWS KMS (SigningAlgorithm
// RSASSA_PKCS1_V1_5_SHA_256, MessageType DIGEST): the private key never
// leaves the key service.
type KMS struct {
	client  KMSAPI
	keyID   string
	cert    *x509.Certificate
	timeout time.Duration
}

var _ Signer = (*KMS)(nil)

// NewKMS returns a KMS signer for keyID. It fetches the key's public key
// once and refuses a certificate that does not certify it, so a wrong key id
// or certificate fails at start, not on the first receipt. timeout bounds
// each Sign call (crypto.Signer carries no context); 0 means 10 seconds.
func NewKMS(ctx context.Context, client KMSAPI, keyID string, certPEM []byte, timeout time.Duration) (*KMS, error) {
	if keyID == "" {
		return nil, errors.New("signing: empty KMS key id")
	}
	cert, err := ParseCertificate(certPEM)
	if err != nil {
		return nil, err
	}
	out, err := client.GetPublicKey(ctx, &kms.GetPublicKeyInput{KeyId: aws.String(keyID)})
	if err != nil {
		return nil, fmt.Errorf("signing: KMS GetPublicKey %s: %w", keyID, err)
	}
	pub, err := x509.ParsePKIXPublicKey(out.PublicKey)
	if err != nil {
		return nil, fmt.Errorf("signing: KMS public key of %s: %w", keyID, err)
	}
	if !samePublicKey(pub, cert) {
		return nil, ErrKeyMismatch
	}
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	return &KMS{client: client, keyID: keyID, cert: cert, timeout: timeout}, nil
}

// Public returns the certificate's public key (checked against KMS by
// NewKMS).
func (k *KMS) Public() crypto.PublicKey { return k.cert.PublicKey }

// Certificate returns the certificate.
func (k *KMS) Certificate() *x509.Certificate { return k.cert }

// Sign asks KMS to sign a SHA-256 digest; rand is ignored.
func (k *KMS) Sign(_ io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	if err := checkDigest(digest, opts); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), k.timeout)
	defer cancel()
	out, err := k.client.Sign(ctx, &kms.SignInput{
		KeyId:            aws.String(k.keyID),
		Message:          digest,
		MessageType:      types.MessageTypeDigest,
		SigningAlgorithm: types.SigningAlgorithmSpecRsassaPkcs1V15Sha256,
	})
	if err != nil {
		return nil, fmt.Errorf("signing: KMS Sign with %s: %w", k.keyID, err)
	}
	// A remote signer is checked before its signature is used: a wrong
	// key or a faulty module must not produce receipts nobody can verify.
	if err := rsa.VerifyPKCS1v15(k.cert.PublicKey.(*rsa.PublicKey), crypto.SHA256, digest, out.Signature); err != nil {
		return nil, fmt.Errorf("signing: KMS signature of %s does not verify with the certificate: %w", k.keyID, err)
	}
	return out.Signature, nil
}

// FromConfig builds the signer selected by MOTCUA_RECEIPT_SIGNER: "local"
// reads the key and certificate secrets; "kms" reads the certificate secret
// and signs with MOTCUA_RECEIPT_KMS_KEY_ID through a KMS client made from
// awsCfg (endpoint from AWS_ENDPOINT_URL / AWS_ENDPOINT_URL_KMS, as for S3
// and SQS).
func FromConfig(ctx context.Context, src config.Source, secrets config.Secrets, awsCfg aws.Config) (Signer, error) {
	r := config.NewReader(src)
	mode := r.String(KeySigner, config.Default("local"), config.OneOf("local", "kms"))
	keyID := ""
	if mode == "kms" {
		keyID = r.String(KeyKMSKeyID, config.Required())
	}
	timeout := r.Duration(KeyKMSTimeout, config.Default(10*time.Second), config.Min(100*time.Millisecond))
	if err := r.Err(); err != nil {
		return nil, err
	}
	certPEM, err := secrets.Get(SecretCert)
	if err != nil {
		return nil, err
	}
	var s Signer
	if mode == "kms" {
		s, err = NewKMS(ctx, kms.NewFromConfig(awsCfg), keyID, []byte(certPEM), timeout)
	} else {
		var keyPEM string
		if keyPEM, err = secrets.Get(SecretKey); err == nil {
			s, err = NewLocal([]byte(keyPEM), []byte(certPEM))
		}
	}
	if err != nil {
		return nil, err
	}
	// An expired (or not yet valid) certificate cannot sign receipts: fail
	// at start, where the operator sees it, not on every payment.
	if now := time.Now(); now.Before(s.Certificate().NotBefore) || now.After(s.Certificate().NotAfter) {
		return nil, fmt.Errorf("signing: certificate of %q is valid from %s to %s, not now",
			s.Certificate().Subject.String(), s.Certificate().NotBefore.Format(time.RFC3339), s.Certificate().NotAfter.Format(time.RFC3339))
	}
	return s, nil
}

// GenerateDevPair returns a new 2048-bit RSA key (PKCS #8 PEM) and a
// self-signed certificate for it (PEM), with commonName as subject; for the
// local stack's receipt-signing-key / receipt-signing-cert secrets and for
// tests. Never for production. Receipts can only be signed within the
// certificate's validity, so the dev certificate is valid from DevNotBefore
// (tests with fixed clocks keep working on any date) to ten years after now.
func GenerateDevPair(commonName string, now time.Time) (keyPEM, certPEM []byte, err error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, nil, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 120))
	if err != nil {
		return nil, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject: pkix.Name{
			CommonName:   commonName,
			Organization: []string{"motcua local stack (not for production)"},
			Country:      []string{"VN"},
		},
		NotBefore:             DevNotBefore,
		NotAfter:              now.AddDate(10, 0, 0),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageContentCommitment | x509.KeyUsageCertSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, err
	}
	pk, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pk}),
		pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), nil
}
