package edge

import (
	"errors"
	"fmt"
	"log/slog"

	"github.com/strata-edge/strata/internal/capacity"
)

// calibratedEgress is the egress to advertise: nicMbps, lowered to the
// profile's knee egress when a profile calibrated on this hardware is
// configured. A profile from other hardware is logged and ignored (its
// figures say nothing about this machine); an unreadable one is a
// configuration error.
func calibratedEgress(path string, nicMbps int64, log *slog.Logger) (int64, error) {
	if path == "" {
		return nicMbps, nil
	}
	p, err := capacity.ReadProfile(path)
	if err != nil {
		return 0, fmt.Errorf("%w: capacity.profile: %w", ErrInvalid, err)
	}
	if err := p.Matches(capacity.ThisHost()); err != nil {
		if !errors.Is(err, capacity.ErrHostMismatch) {
			return 0, err
		}
		log.Warn("capacity profile ignored: the hardware changed since calibration; advertising the configured capacity",
			"profile", path, "err", err, "nic_mbps", nicMbps)
		return nicMbps, nil
	}
	egress := min(nicMbps, p.EgressMbps)
	log.Info("capacity profile loaded", "profile", path, "calibrated", p.Calibrated, "knee_egress_mbps", p.EgressMbps,
		"nic_mbps", nicMbps, "advertised_mbps", egress)
	return egress, nil
}
