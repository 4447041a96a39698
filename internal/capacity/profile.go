package capacity

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"time"
)

// ProfileVersion is the profile file format this build reads and writes.
const ProfileVersion = 1

// Errors of profiles.
var (
	// ErrProfile means a profile file is unreadable or says nothing usable.
	ErrProfile = errors.New("capacity: invalid profile")
	// ErrHostMismatch means a profile was calibrated on other hardware.
	ErrHostMismatch = errors.New("capacity: profile calibrated on other hardware")
)

// Transport is what a calibration sweep found for one viewer transport:
// the knee (the most viewers that met the SLO) and what the node spent
// there.
type Transport struct {
	KneeViewers int     `json:"knee_viewers"`
	EgressMbps  float64 `json:"egress_mbps"` // at the knee
	CPUCores    float64 `json:"cpu_cores"`   // at the knee
	// Broke is false when the sweep ended before breaking the SLO: the
	// knee is then a floor, not the node's limit.
	Broke bool `json:"broke"`
}

// Profile is a node's calibrated capacity, tied to the hardware it was
// measured on.
type Profile struct {
	Version    int                  `json:"version"`
	Host       Host                 `json:"host"`
	Calibrated time.Time            `json:"calibrated"`
	BitrateBps int64                `json:"bitrate_bps"` // the stream the sweeps used
	Transports map[string]Transport `json:"transports"`  // by name: moq, webrtc
	// EgressMbps is the egress the node carries within the SLO whatever
	// the viewers' transport mix: the lowest knee egress of Transports.
	EgressMbps int64 `json:"egress_mbps"`
	// SessionsPerGPU is GPU sessions per GPU, where one was calibrated.
	SessionsPerGPU int `json:"sessions_per_gpu,omitempty"`
}

// NewProfile builds a profile from per-transport sweep results.
func NewProfile(host Host, bitrateBps int64, transports map[string]Transport, now time.Time) (Profile, error) {
	p := Profile{Version: ProfileVersion, Host: host, Calibrated: now.UTC(), BitrateBps: bitrateBps, Transports: transports}
	low := math.Inf(1)
	for name, t := range transports {
		if t.KneeViewers <= 0 || t.EgressMbps <= 0 {
			return Profile{}, fmt.Errorf("%w: transport %s has no knee (the first step already broke the SLO)", ErrProfile, name)
		}
		low = min(low, t.EgressMbps)
	}
	if len(transports) == 0 {
		return Profile{}, fmt.Errorf("%w: no transport calibrated", ErrProfile)
	}
	p.EgressMbps = max(1, int64(low))
	return p, nil
}

// Write stores the profile as indented JSON.
func (p Profile) Write(path string) error {
	raw, err := json.MarshalIndent(p, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(path, append(raw, '\n'), 0o644); err != nil {
		return fmt.Errorf("capacity: write profile: %w", err)
	}
	return nil
}

// ReadProfile loads and checks a profile file.
func ReadProfile(path string) (Profile, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return Profile{}, fmt.Errorf("%w: %w", ErrProfile, err)
	}
	var p Profile
	if err := json.Unmarshal(raw, &p); err != nil {
		return Profile{}, fmt.Errorf("%w: %s: %w", ErrProfile, path, err)
	}
	if p.Version != ProfileVersion {
		return Profile{}, fmt.Errorf("%w: %s: version %d, this build reads %d", ErrProfile, path, p.Version, ProfileVersion)
	}
	if p.EgressMbps <= 0 || p.Host.Fingerprint == "" {
		return Profile{}, fmt.Errorf("%w: %s: no egress or no host fingerprint", ErrProfile, path)
	}
	return p, nil
}

// Matches reports whether the profile was calibrated on hardware like h
// (same fingerprint: cores, CPU model, architecture and GPUs); the error
// says what differs.
func (p Profile) Matches(h Host) error {
	if p.Host.Fingerprint == h.Fingerprint {
		return nil
	}
	return fmt.Errorf("%w: calibrated on %d cores of %q with GPUs %v, running on %d cores of %q with GPUs %v",
		ErrHostMismatch, p.Host.Cores, p.Host.CPUModel, p.Host.GPUs, h.Cores, h.CPUModel, h.GPUs)
}
