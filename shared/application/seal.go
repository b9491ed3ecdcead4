package application

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
)

// pinSealInfo separates the PIN-sealing key from any other use of the
// Idempotency-Key.
const pinSealInfo = "motcua/submit-application/pin/v1"

// SealPIN encrypts pin (AES-256-GCM) under a key derived with HKDF-SHA256
// from the request's Idempotency-Key and the application code. The
// idempotency record stores only this sealed form (the keeper stores the
// key itself only as a SHA-256 digest), so a retry carrying the same key
// can be given the PIN again while the bucket never holds it in clear.
// Clients should use random keys (e.g. UUIDs): a guessable key makes the
// sealed PIN guessable too.
func SealPIN(idempotencyKey, code, pin string) (string, error) {
	aead, err := pinAEAD(idempotencyKey, code)
	if err != nil {
		return "", err
	}
	nonce := make([]byte, aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return "", fmt.Errorf("seal pin: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(aead.Seal(nonce, nonce, []byte(pin), []byte(code))), nil
}

// UnsealPIN reverses SealPIN; it fails when the key or code differ.
func UnsealPIN(idempotencyKey, code, sealed string) (string, error) {
	aead, err := pinAEAD(idempotencyKey, code)
	if err != nil {
		return "", err
	}
	raw, err := base64.RawURLEncoding.DecodeString(sealed)
	if err != nil || len(raw) < aead.NonceSize() {
		return "", errors.New("unseal pin: malformed")
	}
	pt, err := aead.Open(nil, raw[:aead.NonceSize()], raw[aead.NonceSize():], []byte(code))
	if err != nil {
		return "", fmt.Errorf("unseal pin: %w", err)
	}
	return string(pt), nil
}

func pinAEAD(idempotencyKey, code string) (cipher.AEAD, error) {
	if idempotencyKey == "" {
		return nil, errors.New("seal pin: empty idempotency key")
	}
	key, err := hkdf.Key(sha256.New, []byte(idempotencyKey), []byte(code), pinSealInfo, 32)
	if err != nil {
		return nil, fmt.Errorf("seal pin: derive key: %w", err)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("seal pin: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("seal pin: %w", err)
	}
	return aead, nil
}
