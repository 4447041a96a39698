package msf

import "encoding/json"

// Version is the MSF catalog version Strata writes. SupportedVersions lists
// what Parse accepts; MSF forbids parsing any other.
const Version = "draft-01"

// SupportedVersions are the catalog versions this package understands.
var SupportedVersions = []string{Version}

// CatalogTrackName is the case-sensitive name of the top-level catalog
// track.
const CatalogTrackName = "catalog"

// Packaging values.
const (
	PackagingLOC           = "loc"
	PackagingMediaTimeline = "mediatimeline"
	PackagingEventTimeline = "eventtimeline"
	PackagingMoQLog        = "moqlog"
	PackagingMoQMetrics    = "moqmetrics"
	PackagingCatalog       = "catalog"
)

// Reserved track roles (custom roles are allowed too).
const (
	RoleAudioDescription = "audiodescription"
	RoleVideo            = "video"
	RoleAudio            = "audio"
	RoleMediaTimeline    = "mediatimeline"
	RoleEventTimeline    = "eventtimeline"
	RoleCaption          = "caption"
	RoleSubtitle         = "subtitle"
	RoleSignLanguage     = "signlanguage"
	RoleLog              = "log"
	RoleMetrics          = "metrics"
	RoleData             = "data"
)

// Delta update operations.
const (
	OpAdd    = "add"
	OpRemove = "remove"
	OpClone  = "clone"
	OpUpdate = "update"
)

// Initialization data types.
const (
	InitInline         = "inline"
	InitTrackProperty  = "track-property"
	InitObjectProperty = "object-property"
)

// EncryptionSecureObjects is the recommended encryption scheme.
const EncryptionSecureObjects = "moq-secure-objects"

// Catalog is an MSF catalog object: either independent (a complete
// description of the broadcast) or, when DeltaUpdate is non-empty, a delta
// update to apply to the previous catalog with Apply.
type Catalog struct {
	Version string
	// GeneratedAt is wall-clock milliseconds since the Unix epoch; 0 means
	// absent.
	GeneratedAt int64
	// IsComplete commits that the broadcast has ended for good.
	IsComplete    bool
	Tracks        []Track
	PublishTracks []Track
	InitDataList  []InitData
	DeltaUpdate   []DeltaOp
}

// IsDelta reports whether the catalog is a delta update.
func (c *Catalog) IsDelta() bool { return len(c.DeltaUpdate) > 0 }

// Track is a track object. Field names follow the MSF draft exactly;
// pointer fields are those where zero is meaningful and absence differs.
type Track struct {
	Namespace        string                     `json:"namespace,omitempty"`
	Name             string                     `json:"name,omitempty"`
	Packaging        string                     `json:"packaging,omitempty"`
	EventType        string                     `json:"eventType,omitempty"`
	IsLive           *bool                      `json:"isLive,omitempty"`
	TargetLatency    *int64                     `json:"targetLatency,omitempty"`
	Buffers          *Buffers                   `json:"buffers,omitempty"`
	Role             string                     `json:"role,omitempty"`
	Label            string                     `json:"label,omitempty"`
	RenderGroup      *int64                     `json:"renderGroup,omitempty"`
	AltGroup         *int64                     `json:"altGroup,omitempty"`
	InitRef          string                     `json:"initRef,omitempty"`
	Depends          []string                   `json:"depends,omitempty"`
	Template         json.RawMessage            `json:"template,omitempty"`
	TemporalID       *int64                     `json:"temporalId,omitempty"`
	SpatialID        *int64                     `json:"spatialId,omitempty"`
	Codec            string                     `json:"codec,omitempty"`
	MimeType         string                     `json:"mimeType,omitempty"`
	Framerate        float64                    `json:"framerate,omitempty"`
	Timescale        int64                      `json:"timescale,omitempty"`
	Bitrate          int64                      `json:"bitrate,omitempty"`
	AvgBitrate       int64                      `json:"avgBitrate,omitempty"`
	MaxGopDuration   int64                      `json:"maxGopDuration,omitempty"`
	MaxGroupDuration int64                      `json:"maxGroupDuration,omitempty"`
	Width            int64                      `json:"width,omitempty"`
	Height           int64                      `json:"height,omitempty"`
	SampleRate       int64                      `json:"samplerate,omitempty"`
	ChannelConfig    string                     `json:"channelConfig,omitempty"`
	DisplayWidth     int64                      `json:"displayWidth,omitempty"`
	DisplayHeight    int64                      `json:"displayHeight,omitempty"`
	Lang             string                     `json:"lang,omitempty"`
	ParentName       string                     `json:"parentName,omitempty"`
	ParentNamespace  string                     `json:"parentNamespace,omitempty"`
	TrackDuration    *int64                     `json:"trackDuration,omitempty"`
	ConnectionURI    string                     `json:"connectionUri,omitempty"`
	Token            string                     `json:"token,omitempty"`
	EncryptionScheme string                     `json:"encryptionScheme,omitempty"`
	CipherSuite      string                     `json:"cipherSuite,omitempty"`
	KeyID            string                     `json:"keyId,omitempty"`
	TrackBaseKey     string                     `json:"trackBaseKey,omitempty"`
	AuthInfo         map[string]json.RawMessage `json:"authInfo,omitempty"`
	Accessibility    []Accessibility            `json:"accessibility,omitempty"`
}

// Buffers is the target buffer object of a track, in milliseconds.
type Buffers struct {
	Target *int64 `json:"target,omitempty"`
	Min    *int64 `json:"min,omitempty"`
	Max    *int64 `json:"max,omitempty"`
}

// Accessibility describes an accessibility feature embedded in a track.
type Accessibility struct {
	Scheme string `json:"scheme"`
	Value  string `json:"value"`
}

// InitData is an entry of the initialization data list.
type InitData struct {
	ID   string `json:"id"`
	Type string `json:"type"`
	Data string `json:"data"`
}

// DeltaOp is one operation of a delta update.
type DeltaOp struct {
	Op     string  `json:"op"`
	Tracks []Track `json:"tracks"`

	// raw keeps each parsed track's JSON members so that clone and update
	// override exactly the fields the producer sent, including zeros.
	raw []map[string]json.RawMessage
}

// Ptr returns a pointer to v, for the optional fields of Track.
func Ptr[T any](v T) *T { return &v }
