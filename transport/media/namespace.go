package media

import (
	"fmt"
	"strings"
)

// namespacePrefix is the first namespace element of every Strata broadcast.
const namespacePrefix = "strata"

// maxNamespaceField bounds tenant and session IDs.
const maxNamespaceField = 128

// Namespace names a broadcast: strata/{tenant}/{session}.
type Namespace struct {
	Tenant  string
	Session string
}

// String returns the slash-joined form, "strata/{tenant}/{session}".
func (n Namespace) String() string {
	return namespacePrefix + "/" + n.Tenant + "/" + n.Session
}

// Tuple returns the namespace as MoQ track namespace fields.
func (n Namespace) Tuple() []string {
	return []string{namespacePrefix, n.Tenant, n.Session}
}

// Validate checks that both fields are present and cannot be confused with
// a separator.
func (n Namespace) Validate() error {
	for _, f := range [...]struct{ name, v string }{{"tenant", n.Tenant}, {"session", n.Session}} {
		switch {
		case f.v == "":
			return fmt.Errorf("%w: %s is empty", ErrInvalidNamespace, f.name)
		case len(f.v) > maxNamespaceField:
			return fmt.Errorf("%w: %s longer than %d bytes", ErrInvalidNamespace, f.name, maxNamespaceField)
		case strings.ContainsAny(f.v, "/\x00"):
			return fmt.Errorf("%w: %s contains a separator", ErrInvalidNamespace, f.name)
		}
	}
	return nil
}

// ParseNamespace parses "strata/{tenant}/{session}".
func ParseNamespace(s string) (Namespace, error) {
	parts := strings.Split(s, "/")
	if len(parts) != 3 || parts[0] != namespacePrefix {
		return Namespace{}, fmt.Errorf("%w: %q is not strata/{tenant}/{session}", ErrInvalidNamespace, s)
	}
	return NamespaceFromTuple(parts)
}

// NamespaceFromTuple converts MoQ namespace fields into a Namespace.
func NamespaceFromTuple(fields []string) (Namespace, error) {
	if len(fields) != 3 || fields[0] != namespacePrefix {
		return Namespace{}, fmt.Errorf("%w: want 3 fields starting with %q", ErrInvalidNamespace, namespacePrefix)
	}
	n := Namespace{Tenant: fields[1], Session: fields[2]}
	if err := n.Validate(); err != nil {
		return Namespace{}, err
	}
	return n, nil
}
