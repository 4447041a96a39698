package webrtc

import (
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"github.com/strata-edge/strata/internal/poll"
)

// filledHistory has 600 packets sent at now, their sequence numbers
// crossing the wrap; it returns the last one's.
func filledHistory(start uint16, now time.Time) (*nackHistory, uint16) {
	h := &nackHistory{}
	for i := range 600 {
		seq := start + uint16(i)
		h.add(sentPacket{payload: []byte{byte(i)}, at: now.UnixNano(), ts: uint32(i), seq: seq, marker: i%5 == 4})
	}
	return h, start + 599
}

func resendSeqs(t *testing.T, h *nackHistory, start uint16, now time.Time, seqs []uint16) []uint16 {
	t.Helper()
	var got []uint16
	n := h.resend(&rtcp.TransportLayerNack{Nacks: rtcp.NackPairsFromSequenceNumbers(seqs)}, now, func(p *rtp.Packet) error {
		if want := uint32(p.SequenceNumber - start); p.Payload[0] != byte(want) || p.Timestamp != want {
			t.Errorf("seq %d: payload %d ts %d, want %d", p.SequenceNumber, p.Payload[0], p.Timestamp, want)
		}
		got = append(got, p.SequenceNumber)
		return nil
	})
	if n != len(got) {
		t.Errorf("resend returned %d for %d writes", n, len(got))
	}
	return got
}

func TestNACKHistory(t *testing.T) {
	const start = uint16(65000) // the window crosses the wrap
	now := time.Now()
	_, last := filledHistory(start, now)
	tests := []struct {
		name string
		seqs []uint16
		want []uint16
	}{
		{"recent", []uint16{last - 3, last}, []uint16{last - 3, last}},
		{"across the wrap", []uint16{65535, 0, 1}, []uint16{65535, 0, 1}},
		{"evicted", []uint16{start, start + 50}, nil},
		{"never sent", []uint16{last + 1}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h, _ := filledHistory(start, now)
			if got := resendSeqs(t, h, start, now, tc.seqs); !slices.Equal(got, tc.want) {
				t.Fatalf("resent %v, want %v", got, tc.want)
			}
		})
	}

	t.Run("limits", func(t *testing.T) {
		h, _ := filledHistory(start, now)
		all := make([]uint16, 0, historySize)
		for i := range historySize {
			all = append(all, last-uint16(historySize-1-i))
		}
		if got := resendSeqs(t, h, start, now, all); len(got) != maxResendPerNACK {
			t.Errorf("resent %d for a huge NACK, want %d", len(got), maxResendPerNACK)
		}
		h, _ = filledHistory(start, now)
		for i := range maxResends {
			if got := resendSeqs(t, h, start, now, []uint16{last}); len(got) != 1 {
				t.Fatalf("resend %d of a packet: %v", i+1, got)
			}
		}
		if got := resendSeqs(t, h, start, now, []uint16{last}); got != nil {
			t.Errorf("packet resent more than %d times", maxResends)
		}
		if got := resendSeqs(t, h, start, now.Add(maxResendAge+time.Millisecond), []uint16{last - 1}); got != nil {
			t.Errorf("stale packet resent")
		}
		// Credit: a quarter of what was sent.
		h = &nackHistory{}
		for i := range 40 {
			h.add(sentPacket{payload: []byte{byte(i)}, at: now.UnixNano(), ts: uint32(i), seq: start + uint16(i)})
		}
		seqs := make([]uint16, 40)
		for i := range seqs {
			seqs[i] = start + uint16(i)
		}
		if got := resendSeqs(t, h, start, now, seqs); len(got) != 40/resendCost {
			t.Errorf("resent %d of 40 sent, want %d", len(got), 40/resendCost)
		}
	})
}

// TestNACKAnswered: a viewer's NACK for a packet it had is answered with
// a retransmission from its history.
func TestNACKAnswered(t *testing.T) {
	e := newEnv(t, nil)
	pub := e.publish("n", "")
	pub.run(30, 30, 3000)
	poll.For(t, 20*time.Second, 5*time.Millisecond, func() error {
		b, ok := e.hub.Broadcast(nsOf("n"))
		if !ok {
			return errors.New("waiting for published video")
		}
		tr, ok := b.Track("video")
		if ok && tr.Stats().Objects > 0 {
			return nil
		}
		return errors.New("waiting for published video")
	})
	pc, err := clientAPI(t).NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pc.AddTransceiverFromKind(webrtc.RTPCodecTypeVideo, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly}); err != nil {
		t.Fatal(err)
	}
	var (
		mu   sync.Mutex
		ssrc uint32
		seqs []uint16
		wg   sync.WaitGroup
	)
	defer func() { _ = pc.Close(); wg.Wait() }()
	pc.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		wg.Go(func() {
			for {
				p, _, err := tr.ReadRTP()
				if err != nil {
					return
				}
				mu.Lock()
				ssrc = p.SSRC
				if len(seqs) < 16 {
					seqs = append(seqs, p.SequenceNumber)
				}
				mu.Unlock()
			}
		})
	})
	e.postOffer(pc, e.url("whep", "n"), "")
	poll.For(t, 20*time.Second, 5*time.Millisecond, func() error {
		mu.Lock()
		defer mu.Unlock()
		if len(seqs) >= 16 {
			return nil
		}
		return errors.New("waiting for video packets")
	})
	mu.Lock()
	nack := &rtcp.TransportLayerNack{MediaSSRC: ssrc, Nacks: rtcp.NackPairsFromSequenceNumbers(seqs[8:12])}
	mu.Unlock()
	before := counterValue(e.srv.m.resent)
	if err := pc.WriteRTCP([]rtcp.Packet{nack}); err != nil {
		t.Fatal(err)
	}
	poll.For(t, 20*time.Second, 5*time.Millisecond, func() error {
		if counterValue(e.srv.m.resent)-before >= 4 {
			return nil
		}
		return errors.New("waiting for retransmissions")
	})
}
