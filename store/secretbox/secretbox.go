// Package secretbox seals connection secrets (access tokens, API keys) for
// storage with AES-256-GCM, under a key derived from CROSSDOCK_SECRET_KEY.
package secretbox

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
)

// Box seals and opens secrets.
type Box struct {
	aead cipher.AEAD
}

// version prefixes every sealed value so the scheme can change later.
const version byte = 1

// ErrOpen is returned when a sealed value cannot be opened: wrong key (the
// secret key changed) or damaged data.
var ErrOpen = errors.New("stored secret cannot be decrypted: was CROSSDOCK_SECRET_KEY changed? Enter the credentials again")

// New derives the encryption key from the secret key with HKDF-SHA256.
func New(secretKey []byte) (*Box, error) {
	if len(secretKey) < 32 {
		return nil, errors.New("secretbox: the secret key must be at least 32 bytes")
	}
	key, err := hkdf.Key(sha256.New, secretKey, nil, "crossdock/connection-secrets/v1", 32)
	if err != nil {
		return nil, fmt.Errorf("secretbox: derive key: %w", err)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("secretbox: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("secretbox: %w", err)
	}
	return &Box{aead: aead}, nil
}

// Seal encrypts plaintext. context binds the value to its owner (e.g.
// "connection:7"), so a sealed value copied onto another row does not open.
func (b *Box) Seal(plaintext []byte, context string) []byte {
	nonce := make([]byte, b.aead.NonceSize())
	rand.Read(nonce)
	out := append([]byte{version}, nonce...)
	return b.aead.Seal(out, nonce, plaintext, []byte(context))
}

// Open decrypts a value Seal produced with the same context.
func (b *Box) Open(sealed []byte, context string) ([]byte, error) {
	ns := b.aead.NonceSize()
	if len(sealed) < 1+ns || sealed[0] != version {
		return nil, ErrOpen
	}
	pt, err := b.aead.Open(nil, sealed[1:1+ns], sealed[1+ns:], []byte(context))
	if err != nil {
		return nil, ErrOpen
	}
	return pt, nil
}
