package msf

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
)

// Length bounds. A catalog describes a handful of tracks; these limits are
// far above that and keep a hostile catalog from costing much to reject.
const (
	MaxCatalogSize = 1 << 20 // bytes of JSON
	MaxTracks      = 1024    // per array and per operation
	MaxDeltaOps    = 256
	MaxStringLen   = 4096 // any string field, e.g. a track name
)

// root field names.
const (
	fVersion       = "version"
	fGeneratedAt   = "generatedAt"
	fIsComplete    = "isComplete"
	fTracks        = "tracks"
	fPublishTracks = "publishTracks"
	fDeltaUpdate   = "deltaUpdate"
	fInitDataList  = "initDataList"
)

// Parse decodes and validates a catalog object, independent or delta.
// Errors name the offending field (see FieldError). Unknown fields are
// ignored, as MSF requires.
func Parse(b []byte) (*Catalog, error) {
	if len(b) > MaxCatalogSize {
		return nil, fmt.Errorf("%w: catalog is %d bytes, limit %d", ErrTooLarge, len(b), MaxCatalogSize)
	}
	var root map[string]json.RawMessage
	if err := json.Unmarshal(b, &root); err != nil {
		return nil, fmt.Errorf("%w: catalog: %w", ErrMalformed, err)
	}
	if root == nil {
		return nil, fmt.Errorf("%w: catalog is not a JSON object", ErrMalformed)
	}
	c := &Catalog{}
	if raw, ok := root[fGeneratedAt]; ok {
		if err := decodeField(raw, fGeneratedAt, &c.GeneratedAt); err != nil {
			return nil, err
		}
	}
	if raw, ok := root[fDeltaUpdate]; ok {
		for _, k := range []string{fVersion, fIsComplete, fTracks, fPublishTracks, fInitDataList} {
			if _, bad := root[k]; bad {
				return nil, fieldErr(k, ErrInvalidField, "not allowed in a delta update")
			}
		}
		if _, ok := root[fGeneratedAt]; !ok {
			return nil, fieldErr(fGeneratedAt, ErrMissingField, "required in a delta update")
		}
		ops, err := parseOps(raw)
		if err != nil {
			return nil, err
		}
		c.DeltaUpdate = ops
		if err := c.Validate(); err != nil {
			return nil, err
		}
		return c, nil
	}

	raw, ok := root[fVersion]
	if !ok {
		return nil, fieldErr(fVersion, ErrMissingField, "")
	}
	if err := decodeField(raw, fVersion, &c.Version); err != nil {
		return nil, err
	}
	if !slices.Contains(SupportedVersions, c.Version) {
		return nil, fieldErr(fVersion, ErrUnsupportedVersion, fmt.Sprintf("%.64q", c.Version))
	}
	if raw, ok := root[fIsComplete]; ok {
		if err := decodeField(raw, fIsComplete, &c.IsComplete); err != nil {
			return nil, err
		}
		if !c.IsComplete {
			return nil, fieldErr(fIsComplete, ErrInvalidField, "must be omitted when false")
		}
	}
	raw, ok = root[fTracks]
	if !ok {
		return nil, fieldErr(fTracks, ErrMissingField, "")
	}
	var err error
	if c.Tracks, _, err = parseTracks(raw, fTracks); err != nil {
		return nil, err
	}
	if c.Tracks == nil {
		c.Tracks = []Track{}
	}
	if raw, ok := root[fPublishTracks]; ok {
		if c.PublishTracks, _, err = parseTracks(raw, fPublishTracks); err != nil {
			return nil, err
		}
	}
	if raw, ok := root[fInitDataList]; ok {
		if err := decodeField(raw, fInitDataList, &c.InitDataList); err != nil {
			return nil, err
		}
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return c, nil
}

// decodeField decodes one JSON value, naming the field on failure.
func decodeField(raw json.RawMessage, field string, v any) error {
	if bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
		return fieldErr(field, ErrInvalidField, "null")
	}
	if err := json.Unmarshal(raw, v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			name := field
			if te.Field != "" {
				name = field + "." + te.Field
			}
			return fieldErr(name, ErrInvalidField, "want JSON "+te.Type.Kind().String()+", got "+te.Value)
		}
		return fieldErr(field, ErrMalformed, err.Error())
	}
	return nil
}

// parseTracks decodes an array of track objects, keeping each one's raw
// members for delta processing.
func parseTracks(raw json.RawMessage, field string) ([]Track, []map[string]json.RawMessage, error) {
	var items []json.RawMessage
	if err := decodeField(raw, field, &items); err != nil {
		return nil, nil, err
	}
	if len(items) > MaxTracks {
		return nil, nil, fieldErr(field, ErrTooLarge, fmt.Sprintf("%d tracks, limit %d", len(items), MaxTracks))
	}
	tracks := make([]Track, len(items))
	raws := make([]map[string]json.RawMessage, len(items))
	for i, item := range items {
		path := fmt.Sprintf("%s[%d]", field, i)
		if err := decodeField(item, path, &raws[i]); err != nil {
			return nil, nil, err
		}
		for k, v := range raws[i] {
			if bytes.Equal(bytes.TrimSpace(v), []byte("null")) {
				return nil, nil, fieldErr(path+"."+k, ErrInvalidField, "null")
			}
		}
		if err := decodeField(item, path, &tracks[i]); err != nil {
			return nil, nil, err
		}
	}
	return tracks, raws, nil
}

func parseOps(raw json.RawMessage) ([]DeltaOp, error) {
	var items []json.RawMessage
	if err := decodeField(raw, fDeltaUpdate, &items); err != nil {
		return nil, err
	}
	if len(items) == 0 {
		return nil, fieldErr(fDeltaUpdate, ErrMissingField, "at least one operation")
	}
	if len(items) > MaxDeltaOps {
		return nil, fieldErr(fDeltaUpdate, ErrTooLarge, fmt.Sprintf("%d operations, limit %d", len(items), MaxDeltaOps))
	}
	ops := make([]DeltaOp, len(items))
	for i, item := range items {
		path := fmt.Sprintf("%s[%d]", fDeltaUpdate, i)
		var m map[string]json.RawMessage
		if err := decodeField(item, path, &m); err != nil {
			return nil, err
		}
		opRaw, ok := m["op"]
		if !ok {
			return nil, fieldErr(path+".op", ErrMissingField, "")
		}
		if err := decodeField(opRaw, path+".op", &ops[i].Op); err != nil {
			return nil, err
		}
		tr, ok := m["tracks"]
		if !ok {
			return nil, fieldErr(path+".tracks", ErrMissingField, "")
		}
		var err error
		if ops[i].Tracks, ops[i].raw, err = parseTracks(tr, path+".tracks"); err != nil {
			return nil, err
		}
	}
	return ops, nil
}

// catalogJSON and deltaJSON fix the member order on the wire: root fields
// first, tracks before the initialization data list (as MSF asks).
type catalogJSON struct {
	Version       string     `json:"version"`
	GeneratedAt   int64      `json:"generatedAt,omitempty"`
	IsComplete    bool       `json:"isComplete,omitempty"`
	Tracks        []Track    `json:"tracks"`
	PublishTracks []Track    `json:"publishTracks,omitempty"`
	InitDataList  []InitData `json:"initDataList,omitempty"`
}

type deltaJSON struct {
	GeneratedAt int64     `json:"generatedAt"`
	DeltaUpdate []DeltaOp `json:"deltaUpdate"`
}

// Marshal validates c and encodes it as a catalog object.
func (c *Catalog) Marshal() ([]byte, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	var (
		b   []byte
		err error
	)
	if c.IsDelta() {
		b, err = json.Marshal(deltaJSON{GeneratedAt: c.GeneratedAt, DeltaUpdate: c.DeltaUpdate})
	} else {
		tracks := c.Tracks
		if tracks == nil {
			tracks = []Track{}
		}
		b, err = json.Marshal(catalogJSON{
			Version: c.Version, GeneratedAt: c.GeneratedAt, IsComplete: c.IsComplete,
			Tracks: tracks, PublishTracks: c.PublishTracks, InitDataList: c.InitDataList,
		})
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidField, err)
	}
	if len(b) > MaxCatalogSize {
		return nil, fmt.Errorf("%w: catalog is %d bytes, limit %d", ErrTooLarge, len(b), MaxCatalogSize)
	}
	return b, nil
}
