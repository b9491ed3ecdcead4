// Package config reads motcua's configuration from an injectable source
// (environment variables in production, a map in tests) and its secrets from
// files, the way OpenFaaS mounts them.
//
// A Reader collects every missing or malformed key so a function reports all
// of its configuration problems at once, each naming the key; secret values
// never appear in errors.
package config

import "strings"

// Source looks configuration keys up. Implementations are safe for
// concurrent reads.
type Source interface {
	// Lookup returns the value of key and whether it is set.
	Lookup(key string) (string, bool)
}

// MapSource is a Source backed by a map, for tests.
type MapSource map[string]string

// Lookup returns m[key].
func (m MapSource) Lookup(key string) (string, bool) {
	v, ok := m[key]
	return v, ok
}

// FromEnviron returns a Source over environment entries in the "KEY=value"
// form of os.Environ. Later entries win over earlier ones, as with a shell.
func FromEnviron(environ []string) Source {
	m := make(MapSource, len(environ))
	for _, kv := range environ {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			continue
		}
		m[k] = v
	}
	return m
}
