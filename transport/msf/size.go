package msf

import "errors"

// errSPS is internal: the SPS ended or held a value out of range.
var errSPS = errors.New("msf: truncated or invalid SPS")

// H264Size reads the displayed picture size from the first sequence
// parameter set in an Annex B access unit (H.264 7.3.2.1.1, with frame
// cropping), so a catalog can state the resolution of a stream whose
// publisher never declared it. ok is false without a readable SPS.
func H264Size(au []byte) (width, height int64, ok bool) {
	for _, n := range SplitAnnexB(au) {
		if len(n) > 4 && n[0]&0x1f == 7 {
			w, h, err := parseSPSSize(unescapeRBSP(n[1:]))
			return w, h, err == nil && w > 0 && h > 0
		}
	}
	return 0, 0, false
}

// VP8Size reads the picture size from a VP8 key frame's header (RFC 6386
// 9.1); ok is false for inter frames.
func VP8Size(f []byte) (width, height int64, ok bool) {
	if len(f) < 10 || f[0]&1 != 0 || f[3] != 0x9d || f[4] != 0x01 || f[5] != 0x2a {
		return 0, 0, false
	}
	w := int64(f[6]) | int64(f[7]&0x3f)<<8
	h := int64(f[8]) | int64(f[9]&0x3f)<<8
	return w, h, w > 0 && h > 0
}

// unescapeRBSP drops the emulation prevention bytes (00 00 03).
func unescapeRBSP(b []byte) []byte {
	out := make([]byte, 0, len(b))
	zeros := 0
	for _, c := range b {
		if zeros >= 2 && c == 3 {
			zeros = 0
			continue
		}
		if c == 0 {
			zeros++
		} else {
			zeros = 0
		}
		out = append(out, c)
	}
	return out
}

// bitReader reads an RBSP bit by bit; past the end it reports errSPS.
type bitReader struct {
	b   []byte
	pos int
	err error
}

func (r *bitReader) bit() uint64 {
	if r.pos >= len(r.b)*8 {
		r.err = errSPS
		return 0
	}
	v := r.b[r.pos/8] >> (7 - r.pos%8) & 1
	r.pos++
	return uint64(v)
}

func (r *bitReader) bits(n int) uint64 {
	var v uint64
	for range n {
		v = v<<1 | r.bit()
	}
	return v
}

// ue reads an Exp-Golomb unsigned value.
func (r *bitReader) ue() uint64 {
	zeros := 0
	for r.bit() == 0 {
		if zeros++; zeros > 31 || r.err != nil {
			r.err = errSPS
			return 0
		}
	}
	return 1<<zeros - 1 + r.bits(zeros)
}

// se reads an Exp-Golomb signed value.
func (r *bitReader) se() int64 {
	v := r.ue()
	if v&1 == 1 {
		return int64(v+1) / 2
	}
	return -int64(v / 2)
}

// parseSPSSize reads an SPS RBSP (after the NAL header) up to the frame
// cropping fields.
func parseSPSSize(b []byte) (width, height int64, err error) {
	r := &bitReader{b: b}
	profile := r.bits(8)
	r.bits(16) // constraint flags, level_idc
	r.ue()     // seq_parameter_set_id
	chroma := uint64(1)
	separate := false
	switch profile {
	case 100, 110, 122, 244, 44, 83, 86, 118, 128, 138, 139, 134, 135:
		chroma = r.ue()
		if chroma == 3 {
			separate = r.bit() == 1
		}
		r.ue()            // bit_depth_luma_minus8
		r.ue()            // bit_depth_chroma_minus8
		r.bit()           // qpprime_y_zero_transform_bypass_flag
		if r.bit() == 1 { // seq_scaling_matrix_present_flag
			lists := 8
			if chroma == 3 {
				lists = 12
			}
			for i := range lists {
				if r.bit() == 1 {
					size := 16
					if i >= 6 {
						size = 64
					}
					skipScalingList(r, size)
				}
			}
		}
	}
	r.ue()          // log2_max_frame_num_minus4
	switch r.ue() { // pic_order_cnt_type
	case 0:
		r.ue() // log2_max_pic_order_cnt_lsb_minus4
	case 1:
		r.bit() // delta_pic_order_always_zero_flag
		r.se()  // offset_for_non_ref_pic
		r.se()  // offset_for_top_to_bottom_field
		n := r.ue()
		if n > 255 {
			return 0, 0, errSPS
		}
		for range n {
			r.se()
		}
	}
	r.ue()  // max_num_ref_frames
	r.bit() // gaps_in_frame_num_value_allowed_flag
	wMbs := r.ue() + 1
	hMaps := r.ue() + 1
	frameMbsOnly := r.bit()
	if frameMbsOnly == 0 {
		r.bit() // mb_adaptive_frame_field_flag
	}
	r.bit() // direct_8x8_inference_flag
	var cl, cr, ct, cb uint64
	if r.bit() == 1 {
		cl, cr, ct, cb = r.ue(), r.ue(), r.ue(), r.ue()
	}
	if r.err != nil || wMbs > 1<<12 || hMaps > 1<<12 {
		return 0, 0, errSPS
	}
	// Crop units (H.264 equations 7-19 to 7-22).
	cux, cuy := uint64(1), 2-frameMbsOnly
	if !separate && chroma != 0 {
		subW, subH := uint64(2), uint64(2) // 4:2:0
		switch chroma {
		case 2:
			subH = 1
		case 3:
			subW, subH = 1, 1
		}
		cux, cuy = subW, subH*(2-frameMbsOnly)
	}
	w := wMbs*16 - cux*(cl+cr)
	h := (2-frameMbsOnly)*hMaps*16 - cuy*(ct+cb)
	if cux*(cl+cr) >= wMbs*16 || cuy*(ct+cb) >= (2-frameMbsOnly)*hMaps*16 {
		return 0, 0, errSPS
	}
	return int64(w), int64(h), nil
}

// skipScalingList reads past one scaling_list() (H.264 7.3.2.1.1.1).
func skipScalingList(r *bitReader, size int) {
	last, next := int64(8), int64(8)
	for range size {
		if next != 0 {
			next = (last + r.se() + 256) % 256
		}
		if next != 0 {
			last = next
		}
	}
}
