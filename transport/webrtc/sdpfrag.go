package webrtc

import (
	"fmt"
	"slices"
	"strings"

	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"
)

// frag is a parsed trickle-ice-sdpfrag body (RFC 8840): ICE credentials,
// if present, and candidates with the media section they belong to.
type frag struct {
	ufrag, pwd string
	cands      []webrtc.ICECandidateInit
}

func parseFrag(body string) (frag, error) {
	var f frag
	mid := ""
	for line := range strings.Lines(body) {
		line = strings.TrimRight(line, "\r\n")
		switch {
		case line == "":
		case strings.HasPrefix(line, "a=ice-ufrag:"):
			f.ufrag = strings.TrimPrefix(line, "a=ice-ufrag:")
		case strings.HasPrefix(line, "a=ice-pwd:"):
			f.pwd = strings.TrimPrefix(line, "a=ice-pwd:")
		case strings.HasPrefix(line, "a=mid:"):
			mid = strings.TrimPrefix(line, "a=mid:")
		case strings.HasPrefix(line, "a=candidate:"):
			m := mid
			f.cands = append(f.cands, webrtc.ICECandidateInit{Candidate: strings.TrimPrefix(line, "a="), SDPMid: &m})
		case strings.HasPrefix(line, "a="), strings.HasPrefix(line, "m="):
			// ice-options, end-of-candidates, group and m= lines carry
			// nothing we act on.
		default:
			return frag{}, fmt.Errorf("%w: unexpected sdpfrag line %q", ErrBadSDP, line)
		}
	}
	if (f.ufrag == "") != (f.pwd == "") {
		return frag{}, fmt.Errorf("%w: ice-ufrag and ice-pwd must come together", ErrBadSDP)
	}
	return f, nil
}

// parseOffer checks an offer before pion sees it, so malformed input gets a
// precise 400 and WHIP's one-stream rule is enforced.
func parseOffer(offer string, whip bool) (*sdp.SessionDescription, error) {
	var d sdp.SessionDescription
	if err := d.UnmarshalString(offer); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadSDP, err)
	}
	if len(d.MediaDescriptions) == 0 {
		return nil, fmt.Errorf("%w: offer has no media sections", ErrBadSDP)
	}
	kinds := map[string]int{}
	for _, m := range d.MediaDescriptions {
		kinds[m.MediaName.Media]++
	}
	if whip && (kinds["audio"] > 1 || kinds["video"] > 1 || kinds["audio"]+kinds["video"] == 0) {
		return nil, fmt.Errorf("%w: WHIP takes at most one audio and one video track", ErrBadSDP)
	}
	return &d, nil
}

// iceCreds returns the first ufrag and pwd in a description.
func iceCreds(desc string) (ufrag, pwd string) {
	for line := range strings.Lines(desc) {
		line = strings.TrimRight(line, "\r\n")
		if v, ok := strings.CutPrefix(line, "a=ice-ufrag:"); ok && ufrag == "" {
			ufrag = v
		}
		if v, ok := strings.CutPrefix(line, "a=ice-pwd:"); ok && pwd == "" {
			pwd = v
		}
	}
	return ufrag, pwd
}

// restartOffer rewrites a previous remote offer with new ICE credentials and
// without its old candidates: pion restarts ICE when a re-offer's
// credentials change.
func restartOffer(prev string, f frag) string {
	var b strings.Builder
	for line := range strings.Lines(prev) {
		l := strings.TrimRight(line, "\r\n")
		switch {
		case strings.HasPrefix(l, "a=ice-ufrag:"):
			b.WriteString("a=ice-ufrag:" + f.ufrag + "\r\n")
		case strings.HasPrefix(l, "a=ice-pwd:"):
			b.WriteString("a=ice-pwd:" + f.pwd + "\r\n")
		case strings.HasPrefix(l, "a=candidate:"), l == "a=end-of-candidates":
		default:
			b.WriteString(l + "\r\n")
		}
	}
	return b.String()
}

// answerFrag builds the sdpfrag of a local description: credentials and
// candidates of the first media section (everything is bundled).
func answerFrag(desc string) string {
	var b strings.Builder
	ufrag, pwd := iceCreds(desc)
	b.WriteString("a=ice-options:trickle ice2\r\n")
	mid := ""
	var cands []string
	inMedia := false
	for line := range strings.Lines(desc) {
		l := strings.TrimRight(line, "\r\n")
		switch {
		case strings.HasPrefix(l, "m="):
			if inMedia {
				goto done
			}
			inMedia = true
			b.WriteString(l + "\r\n")
		case inMedia && strings.HasPrefix(l, "a=mid:"):
			mid = l
		case inMedia && strings.HasPrefix(l, "a=candidate:"):
			cands = append(cands, l)
		}
	}
done:
	if mid != "" {
		b.WriteString(mid + "\r\n")
	}
	b.WriteString("a=ice-ufrag:" + ufrag + "\r\n")
	b.WriteString("a=ice-pwd:" + pwd + "\r\n")
	for _, c := range cands {
		b.WriteString(c + "\r\n")
	}
	b.WriteString("a=end-of-candidates\r\n")
	return b.String()
}

// offerAccepts reports whether an offer can receive a track of codec c:
// some active media section of the track's kind lists the codec. offered
// is the codec names of those sections (nil when the offer has no
// section of that kind at all, i.e. the viewer does not want the kind).
func offerAccepts(d *sdp.SessionDescription, c *codec) (ok bool, offered []string) {
	kind := "audio"
	if c.video {
		kind = "video"
	}
	_, name, _ := strings.Cut(c.mime, "/")
	for _, m := range d.MediaDescriptions {
		if m.MediaName.Media != kind || rejected(m) {
			continue
		}
		if _, sendonly := m.Attribute("sendonly"); sendonly {
			continue
		}
		if _, inactive := m.Attribute("inactive"); inactive {
			continue
		}
		if offered == nil {
			offered = []string{}
		}
		for _, a := range m.Attributes {
			if a.Key != "rtpmap" {
				continue
			}
			_, enc, _ := strings.Cut(a.Value, " ")
			enc, _, _ = strings.Cut(enc, "/")
			if strings.EqualFold(enc, name) {
				return true, nil
			}
			if !slices.ContainsFunc(offered, func(o string) bool { return strings.EqualFold(o, enc) }) && len(offered) < 16 {
				offered = append(offered, enc)
			}
		}
	}
	return false, offered
}

// offersReceive reports whether the offer has a live section of kind
// ("audio" or "video") that may receive media.
func offersReceive(d *sdp.SessionDescription, kind string) bool {
	for _, m := range d.MediaDescriptions {
		if m.MediaName.Media != kind || rejected(m) {
			continue
		}
		_, sendonly := m.Attribute("sendonly")
		_, inactive := m.Attribute("inactive")
		if !sendonly && !inactive {
			return true
		}
	}
	return false
}

// offersData reports whether an offer has a data channel section (a
// controller may connect for input alone).
func offersData(d *sdp.SessionDescription) bool {
	for _, m := range d.MediaDescriptions {
		if m.MediaName.Media == "application" && !rejected(m) {
			return true
		}
	}
	return false
}

// rejected reports a media section turned off with port 0; a bundle-only
// section also has port 0 but is live (RFC 9143).
func rejected(m *sdp.MediaDescription) bool {
	_, bundleOnly := m.Attribute("bundle-only")
	return m.MediaName.Port.Value == 0 && !bundleOnly
}
