package registry

import (
	"fmt"
)

// A Command is one typed change to the registry, replicated through the Raft
// log. Wire form: type byte, version byte, then the command's own fields.
//
// Adding a command: define a struct with encode, decode and apply, give it a
// type code below and a constructor in commandTable.
type Command interface {
	commandType() cmdType
	encode(e *encoder)
	decode(d *decoder, version uint8)
	// apply changes s at Raft index idx and returns the result for the
	// proposer. It must be deterministic: no clocks, no randomness, no
	// dependence on map order. The caller holds s.mu.
	apply(s *State, idx uint64) (any, error)
}

// A checker is a command whose refusals can be read off the state alone.
// apply runs check first, and Registry.Apply runs it on the leader's state
// before proposing, so a refused command commits no log entry; the FSM's
// own check stays the authority when two writes race.
type checker interface {
	check(s *State) error
}

// Check reports whether c would be refused if applied to the state as it
// is now: nil when c has no checks or passes them.
func (s *State) Check(c Command) error {
	ch, ok := c.(checker)
	if !ok {
		return nil
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	return ch.check(s)
}

var (
	_ checker = (*UpdateTenant)(nil)
	_ checker = (*DeleteTenant)(nil)
	_ checker = (*CreateKey)(nil)
	_ checker = (*DeleteKey)(nil)
	_ checker = (*CreateApp)(nil)
	_ checker = (*DeleteApp)(nil)
	_ checker = (*SetSessionState)(nil)
	_ checker = (*SetNodeState)(nil)
	_ checker = (*RemoveNode)(nil)
	_ checker = (*RetireSigningKey)(nil)
	_ checker = (*SetClusterCA)(nil)
	_ checker = (*UseJoinToken)(nil)
	_ checker = (*DeleteJoinToken)(nil)
	_ checker = (*RecordScaleDecision)(nil)
	_ checker = (*SetScaleDecisionStatus)(nil)
)

type cmdType uint8

// Command type codes are part of the log format: never reuse or renumber.
const (
	cmdCreateTenant cmdType = iota + 1
	cmdUpdateTenant
	cmdDeleteTenant
	cmdCreateKey
	cmdDeleteKey
	cmdCreateApp
	cmdDeleteApp
	cmdCreateSession
	cmdSetSessionState
	cmdPlaceSession
	cmdUpsertNode
	cmdSetNodeState
	cmdRemoveNode
	cmdAddSigningKey
	cmdRetireSigningKey
	cmdNotePending
	cmdCreatePlacedSession
	cmdSetClusterCA
	cmdCreateJoinToken
	cmdUseJoinToken
	cmdDeleteJoinToken
	cmdSetSessionSource
	cmdRecordScaleDecision
	cmdSetScaleDecisionStatus
)

// commandVersion is written with every command; decoders branch on it when
// a command's fields change. Version 2: sessions carry their source.
// Version 3: SetSessionState carries RetryAt.
const commandVersion = 3

var commandTable = map[cmdType]func() Command{
	cmdCreateTenant:           func() Command { return &CreateTenant{} },
	cmdUpdateTenant:           func() Command { return &UpdateTenant{} },
	cmdDeleteTenant:           func() Command { return &DeleteTenant{} },
	cmdCreateKey:              func() Command { return &CreateKey{} },
	cmdDeleteKey:              func() Command { return &DeleteKey{} },
	cmdCreateApp:              func() Command { return &CreateApp{} },
	cmdDeleteApp:              func() Command { return &DeleteApp{} },
	cmdCreateSession:          func() Command { return &CreateSession{} },
	cmdSetSessionState:        func() Command { return &SetSessionState{} },
	cmdPlaceSession:           func() Command { return &PlaceSession{} },
	cmdUpsertNode:             func() Command { return &UpsertNode{} },
	cmdSetNodeState:           func() Command { return &SetNodeState{} },
	cmdRemoveNode:             func() Command { return &RemoveNode{} },
	cmdAddSigningKey:          func() Command { return &AddSigningKey{} },
	cmdRetireSigningKey:       func() Command { return &RetireSigningKey{} },
	cmdNotePending:            func() Command { return &NotePending{} },
	cmdCreatePlacedSession:    func() Command { return &CreatePlacedSession{} },
	cmdSetClusterCA:           func() Command { return &SetClusterCA{} },
	cmdCreateJoinToken:        func() Command { return &CreateJoinToken{} },
	cmdUseJoinToken:           func() Command { return &UseJoinToken{} },
	cmdDeleteJoinToken:        func() Command { return &DeleteJoinToken{} },
	cmdSetSessionSource:       func() Command { return &SetSessionSource{} },
	cmdRecordScaleDecision:    func() Command { return &RecordScaleDecision{} },
	cmdSetScaleDecisionStatus: func() Command { return &SetScaleDecisionStatus{} },
}

// EncodeCommand returns the log entry bytes for c.
func EncodeCommand(c Command) []byte {
	e := encoder{b: make([]byte, 0, 128)}
	e.byte(byte(c.commandType()))
	e.byte(commandVersion)
	c.encode(&e)
	return e.b
}

// DecodeCommand parses a log entry.
func DecodeCommand(b []byte) (Command, error) {
	if len(b) < 2 {
		return nil, fmt.Errorf("%w: command too short", ErrCorrupt)
	}
	mk, ok := commandTable[cmdType(b[0])]
	if !ok {
		return nil, fmt.Errorf("%w: type %d", ErrUnknownCommand, b[0])
	}
	if b[1] == 0 || b[1] > commandVersion {
		return nil, fmt.Errorf("%w: command type %d version %d", ErrUnknownCommand, b[0], b[1])
	}
	c := mk()
	d := decoder{b: b[2:]}
	c.decode(&d, b[1])
	if err := d.finish(); err != nil {
		return nil, err
	}
	return c, nil
}
