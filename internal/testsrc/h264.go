package testsrc

import (
	"fmt"

	"github.com/strata-edge/strata/transport/msf"
)

// H.264 NAL unit types used for access unit boundary detection.
const (
	nalSlice = 1
	nalIDR   = 5
	nalSEI   = 6
	nalSPS   = 7
	nalPPS   = 8
	nalAUD   = 9
)

// MaxAccessUnits bounds how many access units SplitAccessUnits returns.
const MaxAccessUnits = 1 << 16

// SplitAccessUnits splits a raw Annex B elementary stream into access
// units, each re-serialized with 4-byte start codes (the "avc3" LOC
// payload). Once the current unit holds a slice, a new one starts at an
// access unit delimiter, SPS, PPS or SEI, or at a slice whose
// first_mb_in_slice is 0; so parameter sets stay with the IDR that
// follows them.
func SplitAccessUnits(stream []byte) ([][]byte, error) {
	nals := msf.SplitAnnexB(stream)
	var aus [][]byte
	var cur []byte
	hasSlice := false
	flush := func() error {
		if len(cur) == 0 {
			return nil
		}
		if !hasSlice {
			return fmt.Errorf("%w: access unit %d has no slice", ErrMalformed, len(aus))
		}
		if len(aus) >= MaxAccessUnits {
			return fmt.Errorf("%w: more than %d access units", ErrTooLarge, MaxAccessUnits)
		}
		aus = append(aus, cur)
		cur, hasSlice = nil, false
		return nil
	}
	for _, n := range nals {
		if n[0]&0x80 != 0 {
			return nil, fmt.Errorf("%w: forbidden_zero_bit set in NAL %d", ErrMalformed, len(aus))
		}
		typ := n[0] & 0x1f
		isSlice := typ == nalSlice || typ == nalIDR
		var boundary bool
		switch {
		case typ == nalAUD || typ == nalSPS || typ == nalPPS || typ == nalSEI:
			boundary = hasSlice
		case isSlice:
			boundary = hasSlice && firstMBZero(n)
		}
		if boundary {
			if err := flush(); err != nil {
				return nil, err
			}
		}
		cur = append(cur, 0, 0, 0, 1)
		cur = append(cur, n...)
		hasSlice = hasSlice || isSlice
	}
	if err := flush(); err != nil {
		return nil, err
	}
	return aus, nil
}

// firstMBZero reports whether a slice NAL unit's first_mb_in_slice is 0:
// that field is the first ue(v) of the slice header, and ue(v) 0 is the
// single bit 1. Emulation prevention cannot precede the first payload byte.
func firstMBZero(nal []byte) bool {
	return len(nal) > 1 && nal[1]&0x80 != 0
}
