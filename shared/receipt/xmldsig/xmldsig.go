// Package xmldsig signs and verifies the XML Signature profile Vietnamese
// e-invoices and e-receipts use, independent of any receipt format's element
// names:
//
//   - a Signature placed by the caller (outside the signed data element),
//     with RSA-SHA256 over SignedInfo canonicalised with exclusive c14n;
//   - Reference 1: URI "#<Id of the data element>", transforms
//     enveloped-signature + exclusive c14n, SHA-256 digest;
//   - Reference 2: URI "#<Id of an Object>" holding
//     SignatureProperties/SignatureProperty[@Target="#<signature Id>"]/SigningTime
//     (YYYY-MM-DDThh:mm:ss, GMT+7), exclusive c14n, SHA-256 digest;
//   - KeyInfo/X509Data with X509SubjectName and X509Certificate.
//
// goxmldsig (v1.6.1) builds SignedInfo with exactly one Reference and has no
// Object support, so this package assembles the Signature with etree and
// uses goxmldsig only for its exclusive canonicaliser. Verification is
// strict about shape and algorithms: a Signature is accepted only in exactly
// the form Sign produces (modulo whitespace between elements), which is what
// defeats wrapping and algorithm-substitution attacks.
package xmldsig

import (
	"bytes"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"strings"
	"time"

	"github.com/beevik/etree"
	dsig "github.com/russellhaering/goxmldsig"

	"motcua/shared/receipt"
)

// Algorithm and namespace identifiers.
const (
	// Namespace is the XML Signature namespace.
	Namespace = "http://www.w3.org/2000/09/xmldsig#"
	// ExcC14N is exclusive canonicalisation without comments.
	ExcC14N = "http://www.w3.org/2001/10/xml-exc-c14n#"
	// RSASHA256 is the signature method.
	RSASHA256 = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"
	// SHA256 is the digest method.
	SHA256 = "http://www.w3.org/2001/04/xmlenc#sha256"
	// Enveloped is the enveloped-signature transform.
	Enveloped = "http://www.w3.org/2000/09/xmldsig#enveloped-signature"
	// TimeLayout is the layout of SigningTime (GMT+7, no zone suffix).
	TimeLayout = "2006-01-02T15:04:05"
)

// Signer is what Sign needs: a crypto.Signer (RSA) and its certificate.
type Signer interface {
	crypto.Signer
	// Certificate is embedded in KeyInfo.
	Certificate() *x509.Certificate
}

// Sign appends to parent a Signature with Id sigID over data (which must
// carry an Id attribute and must not contain parent) and over a SigningTime
// of at (rendered in receipt.Zone).
func Sign(data, parent *etree.Element, s Signer, sigID string, at time.Time) error {
	dataID := data.SelectAttrValue("Id", "")
	if dataID == "" || sigID == "" {
		return fmt.Errorf("xmldsig: data element and signature need an Id")
	}
	if isAncestor(data, parent) {
		return fmt.Errorf("xmldsig: the signature must not be inside the signed element")
	}
	cert := s.Certificate()
	if cert == nil {
		return fmt.Errorf("xmldsig: signer has no certificate")
	}
	if err := withinValidity(cert, at); err != nil {
		// A signature made outside the certificate's validity is not a
		// valid digital signature: refuse rather than issue it.
		return err
	}
	objID := sigID + "-SigningTime"

	sig := etree.NewElement("Signature")
	sig.CreateAttr("xmlns", Namespace)
	sig.CreateAttr("Id", sigID)
	si := sig.CreateElement("SignedInfo")
	si.CreateElement("CanonicalizationMethod").CreateAttr("Algorithm", ExcC14N)
	si.CreateElement("SignatureMethod").CreateAttr("Algorithm", RSASHA256)
	dataDigest, err := digest(data, "")
	if err != nil {
		return err
	}
	addReference(si, "#"+dataID, dataDigest, Enveloped, ExcC14N)

	obj := etree.NewElement("Object")
	obj.CreateAttr("Id", objID)
	prop := obj.CreateElement("SignatureProperties").CreateElement("SignatureProperty")
	prop.CreateAttr("Target", "#"+sigID)
	prop.CreateElement("SigningTime").SetText(at.In(receipt.Zone).Format(TimeLayout))
	objDigest, err := digest(obj, Namespace)
	if err != nil {
		return err
	}
	addReference(si, "#"+objID, objDigest, ExcC14N)

	siDigest, err := digest(si, Namespace)
	if err != nil {
		return err
	}
	value, err := s.Sign(nil, siDigest, crypto.SHA256)
	if err != nil {
		return fmt.Errorf("xmldsig: sign: %w", err)
	}
	sig.CreateElement("SignatureValue").SetText(base64.StdEncoding.EncodeToString(value))
	x509Data := sig.CreateElement("KeyInfo").CreateElement("X509Data")
	x509Data.CreateElement("X509SubjectName").SetText(cert.Subject.String())
	x509Data.CreateElement("X509Certificate").SetText(base64.StdEncoding.EncodeToString(cert.Raw))
	sig.AddChild(obj)
	parent.AddChild(sig)
	return nil
}

// withinValidity checks that at falls in the certificate's validity period.
func withinValidity(cert *x509.Certificate, at time.Time) error {
	if at.Before(cert.NotBefore) || at.After(cert.NotAfter) {
		return fmt.Errorf("xmldsig: signing time %s is outside the validity of the certificate of %q (%s to %s)",
			at.In(receipt.Zone).Format(TimeLayout), cert.Subject.String(),
			cert.NotBefore.In(receipt.Zone).Format(TimeLayout), cert.NotAfter.In(receipt.Zone).Format(TimeLayout))
	}
	return nil
}

func addReference(si *etree.Element, uri string, d []byte, transforms ...string) {
	ref := si.CreateElement("Reference")
	ref.CreateAttr("URI", uri)
	ts := ref.CreateElement("Transforms")
	for _, t := range transforms {
		ts.CreateElement("Transform").CreateAttr("Algorithm", t)
	}
	ref.CreateElement("DigestMethod").CreateAttr("Algorithm", SHA256)
	ref.CreateElement("DigestValue").SetText(base64.StdEncoding.EncodeToString(d))
}

// Canonical returns the exclusive c14n form of el detached from its
// document; defaultNS is the default namespace in scope at el ("" for
// none), which exclusive c14n declares on el when el uses it.
func Canonical(el *etree.Element, defaultNS string) ([]byte, error) {
	c := el.Copy()
	if defaultNS != "" && c.Space == "" && c.SelectAttr("xmlns") == nil {
		c.CreateAttr("xmlns", defaultNS)
	}
	b, err := dsig.MakeC14N10ExclusiveCanonicalizerWithPrefixList("").Canonicalize(c)
	if err != nil {
		return nil, fmt.Errorf("xmldsig: canonicalise %s: %w", el.Tag, err)
	}
	return b, nil
}

func digest(el *etree.Element, defaultNS string) ([]byte, error) {
	b, err := Canonical(el, defaultNS)
	if err != nil {
		return nil, err
	}
	d := sha256.Sum256(b)
	return d[:], nil
}

func isAncestor(a, el *etree.Element) bool {
	for p := el; p != nil; p = p.Parent() {
		if p == a {
			return true
		}
	}
	return false
}

// Result is what a verified signature vouches for.
type Result struct {
	// Data is the exclusive c14n form of the data element whose digest
	// the signature covers: parse the receipt from these bytes, never from
	// the document, so nothing unsigned can slip in.
	Data []byte
	// Certificate is the signer's certificate from KeyInfo (its trust is
	// the caller's decision).
	Certificate *x509.Certificate
	// SigningTime is the signed SigningTime property.
	SigningTime time.Time
}

func malformed(format string, args ...any) error {
	return receipt.ErrMalformed.WithCause(fmt.Errorf("xmldsig: "+format, args...))
}

// children returns el's child elements, which must be in the signature
// namespace and carry exactly the tags given, in order.
func children(el *etree.Element, tags ...string) ([]*etree.Element, error) {
	kids := el.ChildElements()
	if len(kids) != len(tags) {
		return nil, malformed("%s has %d child elements, want %s", el.Tag, len(kids), strings.Join(tags, ", "))
	}
	for i, k := range kids {
		if k.Tag != tags[i] || k.NamespaceURI() != Namespace {
			return nil, malformed("%s: element %d is %s, want %s in the signature namespace", el.Tag, i+1, k.FullTag(), tags[i])
		}
		for _, t := range k.Child {
			if _, ok := t.(*etree.CharData); !ok {
				if _, ok := t.(*etree.Element); !ok {
					return nil, malformed("%s contains a comment or processing instruction", k.Tag)
				}
			}
		}
	}
	return kids, nil
}

func algorithm(el *etree.Element, want string) error {
	if got := el.SelectAttrValue("Algorithm", ""); got != want {
		return malformed("%s algorithm %q, want %q", el.Tag, got, want)
	}
	if len(el.ChildElements()) != 0 {
		return malformed("%s has unexpected children", el.Tag)
	}
	return nil
}

type reference struct {
	uri    string
	digest []byte
}

func parseReference(ref *etree.Element, transforms ...string) (reference, error) {
	kids, err := children(ref, "Transforms", "DigestMethod", "DigestValue")
	if err != nil {
		return reference{}, err
	}
	ts := kids[0].ChildElements()
	if len(ts) != len(transforms) {
		return reference{}, malformed("reference %s has %d transforms, want %d", ref.SelectAttrValue("URI", ""), len(ts), len(transforms))
	}
	if _, err := children(kids[0], repeat("Transform", len(ts))...); err != nil {
		return reference{}, err
	}
	for i, t := range ts {
		if err := algorithm(t, transforms[i]); err != nil {
			return reference{}, err
		}
	}
	if err := algorithm(kids[1], SHA256); err != nil {
		return reference{}, err
	}
	d, err := base64.StdEncoding.DecodeString(strings.TrimSpace(kids[2].Text()))
	if err != nil || len(d) != sha256.Size {
		return reference{}, malformed("reference digest is not a base64 SHA-256 value")
	}
	return reference{uri: ref.SelectAttrValue("URI", ""), digest: d}, nil
}

func repeat(s string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = s
	}
	return out
}

func decode64(s string) ([]byte, error) {
	// Certificates and signature values may be wrapped over lines.
	return base64.StdEncoding.DecodeString(strings.Join(strings.Fields(s), ""))
}

// Verify checks sig, the Signature over data, as Sign produces it. data
// must not contain sig. It returns receipt.ErrMalformed for a signature of
// another shape or algorithm, receipt.ErrSignatureInvalid when SignatureValue
// does not verify with the embedded certificate, and receipt.ErrContentAltered
// when a signed reference (the data or the signing time) no longer matches
// its digest; a signing time outside the certificate's validity is
// ErrSignatureInvalid; each wraps a cause naming what exactly failed.
func Verify(data, sig *etree.Element) (Result, error) {
	if sig.Tag != "Signature" || sig.NamespaceURI() != Namespace {
		return Result{}, malformed("no Signature element")
	}
	if isAncestor(data, sig) {
		return Result{}, malformed("the signature is inside the signed element")
	}
	kids, err := children(sig, "SignedInfo", "SignatureValue", "KeyInfo", "Object")
	if err != nil {
		return Result{}, err
	}
	si, sv, ki, obj := kids[0], kids[1], kids[2], kids[3]
	siKids, err := children(si, "CanonicalizationMethod", "SignatureMethod", "Reference", "Reference")
	if err != nil {
		return Result{}, err
	}
	if err := algorithm(siKids[0], ExcC14N); err != nil {
		return Result{}, err
	}
	if err := algorithm(siKids[1], RSASHA256); err != nil {
		return Result{}, err
	}
	dataRef, err := parseReference(siKids[2], Enveloped, ExcC14N)
	if err != nil {
		return Result{}, err
	}
	objRef, err := parseReference(siKids[3], ExcC14N)
	if err != nil {
		return Result{}, err
	}
	dataID := data.SelectAttrValue("Id", "")
	if dataID == "" || dataRef.uri != "#"+dataID {
		return Result{}, malformed("first reference %q does not point at the data element (Id %q)", dataRef.uri, dataID)
	}
	sigID := sig.SelectAttrValue("Id", "")
	objID := obj.SelectAttrValue("Id", "")
	if objID == "" || objRef.uri != "#"+objID {
		return Result{}, malformed("second reference %q does not point at the Object (Id %q)", objRef.uri, objID)
	}

	// KeyInfo: the certificate.
	x509Data, err := children(ki, "X509Data")
	if err != nil {
		return Result{}, err
	}
	xd, err := children(x509Data[0], "X509SubjectName", "X509Certificate")
	if err != nil {
		return Result{}, err
	}
	der, err := decode64(xd[1].Text())
	if err != nil {
		return Result{}, malformed("X509Certificate is not base64")
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return Result{}, malformed("X509Certificate: %v", err)
	}
	pub, ok := cert.PublicKey.(*rsa.PublicKey)
	if !ok {
		return Result{}, malformed("certificate key is %T, want RSA", cert.PublicKey)
	}
	if got := strings.TrimSpace(xd[0].Text()); got != cert.Subject.String() {
		return Result{}, malformed("X509SubjectName %q is not the certificate's subject %q", got, cert.Subject.String())
	}

	// SignatureValue over the canonical SignedInfo.
	value, err := decode64(sv.Text())
	if err != nil {
		return Result{}, malformed("SignatureValue is not base64")
	}
	siDigest, err := digest(si, Namespace)
	if err != nil {
		return Result{}, malformed("%v", err)
	}
	if err := rsa.VerifyPKCS1v15(pub, crypto.SHA256, siDigest, value); err != nil {
		return Result{}, receipt.ErrSignatureInvalid.WithCause(fmt.Errorf("xmldsig: SignatureValue does not verify with the certificate of %q: %w", cert.Subject.String(), err))
	}

	// The references: signing time first (small), then the data.
	objDigest, err := digest(obj, Namespace)
	if err != nil {
		return Result{}, malformed("%v", err)
	}
	if subtle.ConstantTimeCompare(objDigest, objRef.digest) != 1 {
		return Result{}, receipt.ErrContentAltered.WithCause(fmt.Errorf("xmldsig: the signing-time Object does not match its signed digest"))
	}
	props, err := children(obj, "SignatureProperties")
	if err != nil {
		return Result{}, err
	}
	prop, err := children(props[0], "SignatureProperty")
	if err != nil {
		return Result{}, err
	}
	if target := prop[0].SelectAttrValue("Target", ""); sigID == "" || target != "#"+sigID {
		return Result{}, malformed("SignatureProperty Target %q is not the signature (Id %q)", target, sigID)
	}
	st, err := children(prop[0], "SigningTime")
	if err != nil {
		return Result{}, err
	}
	at, err := time.ParseInLocation(TimeLayout, strings.TrimSpace(st[0].Text()), receipt.Zone)
	if err != nil {
		return Result{}, malformed("SigningTime %q is not YYYY-MM-DDThh:mm:ss", st[0].Text())
	}

	if err := withinValidity(cert, at); err != nil {
		return Result{}, receipt.ErrSignatureInvalid.WithCause(err)
	}

	canon, err := Canonical(data, "")
	if err != nil {
		return Result{}, malformed("%v", err)
	}
	d := sha256.Sum256(canon)
	if subtle.ConstantTimeCompare(d[:], dataRef.digest) != 1 {
		return Result{}, receipt.ErrContentAltered.WithCause(fmt.Errorf("xmldsig: the data element %q does not match its signed digest", dataID))
	}
	return Result{Data: bytes.Clone(canon), Certificate: cert, SigningTime: at}, nil
}
