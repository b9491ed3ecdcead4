// Package guardtest gives tests a citizen guard with a pepper key set, as
// the functions have in production (citizenguard.LoadPepper), without a
// secret file.
package guardtest

import (
	"testing"

	"motcua/shared/citizenguard"
	"motcua/shared/docstore"
)

// Pepper returns a fresh random key set with one key, "test1".
func Pepper(t testing.TB) *citizenguard.Pepper {
	t.Helper()
	v, err := citizenguard.GeneratePepper("test1")
	if err != nil {
		t.Fatal(err)
	}
	p, err := citizenguard.ParsePepper(string(v))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// Guard returns citizenguard.New(store, opts...) with a fresh Pepper
// (an option in opts may replace it).
func Guard(t testing.TB, store docstore.Store, opts ...citizenguard.Option) *citizenguard.Guard {
	t.Helper()
	return citizenguard.New(store, append([]citizenguard.Option{citizenguard.WithPepper(Pepper(t))}, opts...)...)
}
