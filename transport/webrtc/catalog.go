package webrtc

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/strata-edge/strata/transport/media"
	"github.com/strata-edge/strata/transport/msf"
)

// catalogWait bounds how long a new feed waits for the broadcast's
// catalog; a broadcast without one is served with the session defaults.
const catalogWait = time.Second

// maxCatalog bounds a catalog object read from the hub.
const maxCatalog = 64 << 10

// catalogCodec reads the codec of a MoQ-published track from the
// broadcast's MSF catalog (its newest full catalog object). It returns
// nil, nil when there is no catalog or it does not name the track, and
// ErrUnsupportedCodec when it names a codec WHEP cannot carry.
func (s *Server) catalogCodec(ctx context.Context, ns media.Namespace, track string) (*codec, error) {
	ctx, cancel := context.WithTimeout(ctx, catalogWait)
	defer cancel()
	sub, err := s.cfg.Hub.Subscribe(ctx, ns, msf.CatalogTrackName)
	if err != nil {
		return nil, nil
	}
	defer sub.Close()
	o, err := sub.Next(ctx)
	if err != nil || len(o.Payload) == 0 || len(o.Payload) > maxCatalog {
		return nil, nil
	}
	c, err := msf.Parse(o.Payload)
	if err != nil || c.IsDelta() {
		// A group starts with a full catalog; anything else is not ours to guess at.
		return nil, nil
	}
	for _, t := range c.Tracks {
		if t.Name != track || (t.Namespace != "" && t.Namespace != ns.String()) {
			continue
		}
		return codecOfCatalog(t.Codec)
	}
	return nil, nil
}

// codecOfCatalog maps a catalog's WebCodecs codec string to the codec
// WHEP serves it as; an empty string is unknown (nil, nil).
func codecOfCatalog(name string) (*codec, error) {
	family, _, _ := strings.Cut(strings.ToLower(strings.TrimSpace(name)), ".")
	var mime string
	switch family {
	case "":
		return nil, nil
	case "avc1", "avc3":
		mime = webrtc.MimeTypeH264
	case "vp8":
		mime = webrtc.MimeTypeVP8
	case "vp09", "vp9":
		mime = webrtc.MimeTypeVP9
	case "av01":
		mime = webrtc.MimeTypeAV1
	case "opus":
		mime = webrtc.MimeTypeOpus
	default:
		return nil, fmt.Errorf("%w: the session's catalog names %q, which WHEP cannot carry", ErrUnsupportedCodec, name)
	}
	return codecFor(mime)
}
