package msf

import (
	"encoding/base64"
	"fmt"
	"reflect"
	"slices"
	"strings"
)

// trackFields are the member names MSF defines for track objects; members
// outside it are custom and ignored.
var trackFields = func() map[string]bool {
	m := map[string]bool{}
	rt := reflect.TypeFor[Track]()
	for i := range rt.NumField() {
		name, _, _ := strings.Cut(rt.Field(i).Tag.Get("json"), ",")
		m[name] = true
	}
	return m
}()

var packagings = []string{PackagingLOC, PackagingMediaTimeline, PackagingEventTimeline, PackagingMoQLog, PackagingMoQMetrics, PackagingCatalog}

var initTypes = []string{InitInline, InitTrackProperty, InitObjectProperty}

// Validate checks c against the MSF rules a parser or producer can check
// on one catalog object. Errors are *FieldError values naming the field.
func (c *Catalog) Validate() error {
	if c.GeneratedAt < 0 {
		return fieldErr(fGeneratedAt, ErrInvalidField, "negative")
	}
	if c.IsDelta() {
		if c.Version != "" || c.IsComplete || c.Tracks != nil || c.PublishTracks != nil || c.InitDataList != nil {
			return fieldErr(fDeltaUpdate, ErrInvalidField, "a delta update carries only generatedAt and deltaUpdate")
		}
		if c.GeneratedAt == 0 {
			return fieldErr(fGeneratedAt, ErrMissingField, "required in a delta update")
		}
		return c.validateOps()
	}
	if c.Version == "" {
		return fieldErr(fVersion, ErrMissingField, "")
	}
	if !slices.Contains(SupportedVersions, c.Version) {
		return fieldErr(fVersion, ErrUnsupportedVersion, fmt.Sprintf("%.64q", c.Version))
	}
	if err := c.validateInitData(); err != nil {
		return err
	}
	for _, list := range []struct {
		field   string
		tracks  []Track
		publish bool
	}{{fTracks, c.Tracks, false}, {fPublishTracks, c.PublishTracks, true}} {
		if len(list.tracks) > MaxTracks {
			return fieldErr(list.field, ErrTooLarge, fmt.Sprintf("%d tracks, limit %d", len(list.tracks), MaxTracks))
		}
		seen := make(map[[2]string]bool, len(list.tracks))
		for i := range list.tracks {
			t := &list.tracks[i]
			path := fmt.Sprintf("%s[%d]", list.field, i)
			if err := t.validate(path, modeFull, list.publish); err != nil {
				return err
			}
			if t.InitRef != "" && !slices.ContainsFunc(c.InitDataList, func(d InitData) bool { return d.ID == t.InitRef }) {
				return fieldErr(path+".initRef", ErrInvalidField, fmt.Sprintf("no initDataList entry %.64q", t.InitRef))
			}
			key := [2]string{t.Namespace, t.Name}
			if seen[key] {
				return fieldErr(path+".name", ErrDuplicateTrack, fmt.Sprintf("%.64q", t.Name))
			}
			seen[key] = true
		}
	}
	return nil
}

func (c *Catalog) validateInitData() error {
	ids := make(map[string]bool, len(c.InitDataList))
	for i, d := range c.InitDataList {
		path := fmt.Sprintf("%s[%d]", fInitDataList, i)
		switch {
		case d.ID == "":
			return fieldErr(path+".id", ErrMissingField, "")
		case ids[d.ID]:
			return fieldErr(path+".id", ErrInvalidField, "not unique")
		case !slices.Contains(initTypes, d.Type):
			return fieldErr(path+".type", ErrInvalidField, fmt.Sprintf("%.64q", d.Type))
		case d.Data == "":
			return fieldErr(path+".data", ErrMissingField, "")
		}
		if d.Type == InitInline {
			if _, err := base64.StdEncoding.DecodeString(d.Data); err != nil {
				return fieldErr(path+".data", ErrInvalidField, "not base64")
			}
		}
		ids[d.ID] = true
	}
	return nil
}

func (c *Catalog) validateOps() error {
	if len(c.DeltaUpdate) > MaxDeltaOps {
		return fieldErr(fDeltaUpdate, ErrTooLarge, fmt.Sprintf("%d operations, limit %d", len(c.DeltaUpdate), MaxDeltaOps))
	}
	for i := range c.DeltaUpdate {
		op := &c.DeltaUpdate[i]
		path := fmt.Sprintf("%s[%d]", fDeltaUpdate, i)
		var mode trackMode
		switch op.Op {
		case OpAdd:
			mode = modeFull
		case OpRemove:
			mode = modeRemove
		case OpClone:
			mode = modeClone
		case OpUpdate:
			mode = modeUpdate
		case "":
			return fieldErr(path+".op", ErrMissingField, "")
		default:
			return fieldErr(path+".op", ErrInvalidField, fmt.Sprintf("%.64q", op.Op))
		}
		if len(op.Tracks) == 0 {
			return fieldErr(path+".tracks", ErrMissingField, "at least one track")
		}
		if len(op.Tracks) > MaxTracks {
			return fieldErr(path+".tracks", ErrTooLarge, fmt.Sprintf("%d tracks, limit %d", len(op.Tracks), MaxTracks))
		}
		for j := range op.Tracks {
			tp := fmt.Sprintf("%s.tracks[%d]", path, j)
			if mode == modeRemove && op.raw != nil {
				for k := range op.raw[j] {
					if k != "name" && k != "namespace" && trackFields[k] {
						return fieldErr(tp+"."+k, ErrInvalidField, "a remove operation carries only name and namespace")
					}
				}
			}
			if err := op.Tracks[j].validate(tp, mode, false); err != nil {
				return err
			}
		}
	}
	return nil
}

type trackMode uint8

const (
	modeFull   trackMode = iota // a track in tracks, or an add operation
	modeRemove                  // name (and namespace) only
	modeClone                   // parentName and name required; other fields override
	modeUpdate                  // parentName (or name) identifies; other fields override
)

// validate checks one track object. Publish tracks may omit isLive (the
// draft's own publish track examples do).
func (t *Track) validate(path string, mode trackMode, publish bool) error {
	if err := t.validateLengths(path); err != nil {
		return err
	}
	switch mode {
	case modeRemove:
		if t.Name == "" {
			return fieldErr(path+".name", ErrMissingField, "")
		}
		if !t.identityOnly() {
			return fieldErr(path, ErrInvalidField, "a remove operation carries only name and namespace")
		}
		return nil
	case modeClone:
		if t.ParentName == "" {
			return fieldErr(path+".parentName", ErrMissingField, "")
		}
		if t.Name == "" {
			return fieldErr(path+".name", ErrMissingField, "")
		}
	case modeUpdate:
		if t.ParentName == "" && t.Name == "" {
			return fieldErr(path+".parentName", ErrMissingField, "")
		}
	case modeFull:
		if t.ParentName != "" {
			return fieldErr(path+".parentName", ErrInvalidField, "only allowed in clone and update operations")
		}
		if t.ParentNamespace != "" {
			return fieldErr(path+".parentNamespace", ErrInvalidField, "only allowed in clone and update operations")
		}
		if err := t.validateRequired(path, publish); err != nil {
			return err
		}
	}
	return t.validateValues(path)
}

// validateRequired checks the presence rules of a complete track object.
func (t *Track) validateRequired(path string, publish bool) error {
	switch {
	case t.Name == "":
		return fieldErr(path+".name", ErrMissingField, "")
	case t.Packaging == "":
		return fieldErr(path+".packaging", ErrMissingField, "")
	case t.IsLive == nil && !publish:
		return fieldErr(path+".isLive", ErrMissingField, "")
	case t.Packaging == PackagingEventTimeline && t.EventType == "":
		return fieldErr(path+".eventType", ErrMissingField, "required for eventtimeline packaging")
	}
	media := t.Packaging == PackagingLOC && (t.Role == RoleVideo || t.Role == RoleAudio)
	switch {
	case media && t.Codec == "":
		return fieldErr(path+".codec", ErrMissingField, "required for audio and video tracks")
	case media && t.Bitrate == 0:
		return fieldErr(path+".bitrate", ErrMissingField, "required for audio and video tracks")
	case media && t.Role == RoleAudio && t.SampleRate == 0:
		return fieldErr(path+".samplerate", ErrMissingField, "required for audio tracks")
	case media && t.Role == RoleAudio && t.ChannelConfig == "":
		return fieldErr(path+".channelConfig", ErrMissingField, "required for audio tracks")
	}
	return nil
}

// validateValues checks the value rules that hold in any mode.
func (t *Track) validateValues(path string) error {
	if t.Packaging != "" && !slices.Contains(packagings, t.Packaging) {
		return fieldErr(path+".packaging", ErrInvalidField, fmt.Sprintf("%.64q", t.Packaging))
	}
	if t.EventType != "" && t.Packaging != "" && t.Packaging != PackagingEventTimeline {
		return fieldErr(path+".eventType", ErrInvalidField, "only allowed with eventtimeline packaging")
	}
	if t.TargetLatency != nil && t.Buffers != nil {
		return fieldErr(path+".buffers", ErrInvalidField, "not allowed together with targetLatency")
	}
	if t.TrackDuration != nil && t.IsLive != nil && *t.IsLive {
		return fieldErr(path+".trackDuration", ErrInvalidField, "not allowed on a live track")
	}
	if t.EncryptionScheme != "" {
		if t.CipherSuite == "" {
			return fieldErr(path+".cipherSuite", ErrMissingField, "required with encryptionScheme")
		}
		if t.EncryptionScheme == EncryptionSecureObjects {
			if t.KeyID == "" {
				return fieldErr(path+".keyId", ErrMissingField, "required by moq-secure-objects")
			}
			if t.TrackBaseKey == "" {
				return fieldErr(path+".trackBaseKey", ErrMissingField, "required by moq-secure-objects")
			}
		}
	}
	if t.TrackBaseKey != "" {
		if _, err := base64.StdEncoding.DecodeString(t.TrackBaseKey); err != nil {
			return fieldErr(path+".trackBaseKey", ErrInvalidField, "not base64")
		}
	}
	if t.Framerate < 0 {
		return fieldErr(path+".framerate", ErrInvalidField, "negative")
	}
	for _, n := range []struct {
		name string
		v    *int64
	}{
		{"targetLatency", t.TargetLatency}, {"renderGroup", t.RenderGroup}, {"altGroup", t.AltGroup},
		{"temporalId", t.TemporalID}, {"spatialId", t.SpatialID}, {"trackDuration", t.TrackDuration},
		{"timescale", &t.Timescale}, {"bitrate", &t.Bitrate}, {"avgBitrate", &t.AvgBitrate},
		{"maxGopDuration", &t.MaxGopDuration}, {"maxGroupDuration", &t.MaxGroupDuration},
		{"width", &t.Width}, {"height", &t.Height}, {"samplerate", &t.SampleRate},
		{"displayWidth", &t.DisplayWidth}, {"displayHeight", &t.DisplayHeight},
	} {
		if n.v != nil && *n.v < 0 {
			return fieldErr(path+"."+n.name, ErrInvalidField, "negative")
		}
	}
	if b := t.Buffers; b != nil {
		for _, n := range []struct {
			name string
			v    *int64
		}{{"target", b.Target}, {"min", b.Min}, {"max", b.Max}} {
			if n.v != nil && *n.v < 0 {
				return fieldErr(path+".buffers."+n.name, ErrInvalidField, "negative")
			}
		}
	}
	for i, a := range t.Accessibility {
		if a.Scheme == "" {
			return fieldErr(fmt.Sprintf("%s.accessibility[%d].scheme", path, i), ErrMissingField, "")
		}
		if a.Value == "" {
			return fieldErr(fmt.Sprintf("%s.accessibility[%d].value", path, i), ErrMissingField, "")
		}
	}
	return nil
}

func (t *Track) validateLengths(path string) error {
	for _, s := range []struct{ name, v string }{
		{"namespace", t.Namespace}, {"name", t.Name}, {"packaging", t.Packaging}, {"eventType", t.EventType},
		{"role", t.Role}, {"label", t.Label}, {"initRef", t.InitRef}, {"codec", t.Codec},
		{"mimeType", t.MimeType}, {"channelConfig", t.ChannelConfig}, {"lang", t.Lang},
		{"parentName", t.ParentName}, {"parentNamespace", t.ParentNamespace},
		{"connectionUri", t.ConnectionURI}, {"token", t.Token}, {"encryptionScheme", t.EncryptionScheme},
		{"cipherSuite", t.CipherSuite}, {"keyId", t.KeyID}, {"trackBaseKey", t.TrackBaseKey},
	} {
		if len(s.v) > MaxStringLen {
			return fieldErr(path+"."+s.name, ErrTooLarge, fmt.Sprintf("%d bytes, limit %d", len(s.v), MaxStringLen))
		}
	}
	if len(t.Depends) > MaxTracks {
		return fieldErr(path+".depends", ErrTooLarge, fmt.Sprintf("%d entries, limit %d", len(t.Depends), MaxTracks))
	}
	for i, d := range t.Depends {
		if d == "" || len(d) > MaxStringLen {
			return fieldErr(fmt.Sprintf("%s.depends[%d]", path, i), ErrInvalidField, "empty or too long")
		}
	}
	return nil
}

// identityOnly reports whether only name and namespace are set.
func (t *Track) identityOnly() bool {
	m, err := t.members()
	if err != nil {
		return false
	}
	for k := range m {
		if k != "name" && k != "namespace" {
			return false
		}
	}
	return true
}
