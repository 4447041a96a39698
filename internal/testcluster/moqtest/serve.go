// Package moqtest holds MoQ helpers for tests that cannot import
// testcluster (its own dependencies, such as the edge relay's tests).
package moqtest

import (
	"sync"

	"github.com/strata-edge/strata/transport/media"
	"github.com/strata-edge/strata/transport/moq"
	"github.com/strata-edge/strata/transport/moq/wire"
)

// ServeOptions tune ServeTrack.
type ServeOptions struct {
	// Extensions opens subgroups with the Extensions bit, needed when
	// the track's objects carry extension headers (LOC timestamps).
	Extensions bool
	// Accepted, if not nil, gets a value per accepted subscription.
	Accepted chan<- struct{}
}

// ServeTrack answers subscriptions on s to tr's track with tr's groups,
// one subgroup per group, until s ends; other tracks do not exist. Each
// accepted subscription is forwarded on its own goroutine in wg, which
// ends with s or tr.
func ServeTrack(s *moq.Session, tr *media.Track, wg *sync.WaitGroup, opts ServeOptions) {
	for {
		in, err := s.AcceptSubscription(s.Context())
		if err != nil {
			return
		}
		if in.Request.TrackName != tr.Info().Name {
			_ = in.Reject(wire.SubscribeErrTrackDoesNotExist, "no such track")
			continue
		}
		pub, err := in.Accept(wire.GroupOrderAscending, nil)
		if err != nil {
			return
		}
		sub := tr.Subscribe()
		if opts.Accepted != nil {
			opts.Accepted <- struct{}{}
		}
		wg.Go(func() {
			defer sub.Close()
			for {
				gr, err := sub.NextGroup(s.Context())
				if err != nil {
					return
				}
				st, err := pub.OpenSubgroup(s.Context(), wire.SubgroupHeader{GroupID: gr.GroupID(), Extensions: opts.Extensions, EndOfGroup: true})
				if err != nil {
					return
				}
				for {
					o, err := gr.NextObject(s.Context())
					if err != nil {
						break
					}
					if err := st.WriteRaw(o.ID, o.Extensions, o.Payload); err != nil {
						return
					}
				}
				_ = st.Close()
			}
		})
	}
}
