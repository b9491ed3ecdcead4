package qrcode

import (
	"bytes"
	"testing"
)

// The worked 1-M example of the standard's tutorials ("HELLO WORLD" in
// alphanumeric mode): 16 data codewords and their 10 EC codewords.
func TestRSRemainder_known_vector(t *testing.T) {
	data := []byte{32, 91, 11, 120, 209, 114, 220, 77, 67, 64, 236, 17, 236, 17, 236, 17}
	want := []byte{196, 35, 39, 119, 235, 215, 231, 226, 93, 23}
	if got := rsRemainder(data, rsGenerator(10)); !bytes.Equal(got, want) {
		t.Fatalf("ecc %v, want %v", got, want)
	}
}

func TestCapacity_table(t *testing.T) {
	// Byte-mode capacities at level M from the standard's table 7.
	want := map[int]int{1: 14, 2: 26, 3: 42, 4: 62, 5: 84, 6: 106, 7: 122, 8: 152, 9: 180, 10: 213}
	for v, c := range want {
		if got := capacity(v); got != c {
			t.Errorf("capacity(%d) = %d, want %d", v, got, c)
		}
	}
}
