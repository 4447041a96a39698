package webrtc

import (
	"sync"
	"testing"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

func TestNACKHistory(t *testing.T) {
	var h nackHistory
	start := uint16(65000) // the window crosses the wrap
	for i := range 600 {
		seq := start + uint16(i)
		h.add(sentPacket{payload: []byte{byte(i)}, ts: uint32(i), seq: seq, marker: i%5 == 4})
	}
	last := start + 599
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
			var got []uint16
			n := h.resend(&rtcp.TransportLayerNack{Nacks: rtcp.NackPairsFromSequenceNumbers(tc.seqs)}, func(p *rtp.Packet) error {
				if want := uint32(p.SequenceNumber - start); p.Payload[0] != byte(want) || p.Timestamp != want {
					t.Errorf("seq %d: payload %d ts %d, want %d", p.SequenceNumber, p.Payload[0], p.Timestamp, want)
				}
				got = append(got, p.SequenceNumber)
				return nil
			})
			if n != len(tc.want) || len(got) != len(tc.want) {
				t.Fatalf("resent %v (n=%d), want %v", got, n, tc.want)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Fatalf("resent %v, want %v", got, tc.want)
				}
			}
		})
	}
	// One NACK cannot ask for more than maxResendPerNACK packets.
	all := make([]uint16, 0, historySize)
	for i := range historySize {
		all = append(all, last-uint16(historySize-1-i))
	}
	n := h.resend(&rtcp.TransportLayerNack{Nacks: rtcp.NackPairsFromSequenceNumbers(all)}, func(*rtp.Packet) error { return nil })
	if n != maxResendPerNACK {
		t.Errorf("resent %d for a huge NACK, want %d", n, maxResendPerNACK)
	}
}

// TestNACKAnswered: a viewer's NACK for a packet it had is answered with
// a retransmission from its history.
func TestNACKAnswered(t *testing.T) {
	e := newEnv(t, nil)
	pub := e.publish("n", "")
	pub.run(30, 30, 3000)
	eventually(t, "published video", func() bool {
		b, ok := e.hub.Broadcast(nsOf("n"))
		if !ok {
			return false
		}
		tr, ok := b.Track("video")
		return ok && tr.Stats().Objects > 0
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
	eventually(t, "video packets", func() bool { mu.Lock(); defer mu.Unlock(); return len(seqs) >= 16 })
	mu.Lock()
	nack := &rtcp.TransportLayerNack{MediaSSRC: ssrc, Nacks: rtcp.NackPairsFromSequenceNumbers(seqs[8:12])}
	mu.Unlock()
	before := counterValue(e.srv.m.resent)
	if err := pc.WriteRTCP([]rtcp.Packet{nack}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "retransmissions", func() bool { return counterValue(e.srv.m.resent)-before >= 4 })
}
