package api

import "strings"

// BearerToken returns the token of an Authorization header value in the
// Bearer scheme. The scheme's name is matched in any case ("bearer",
// "BEARER"), as RFC 7235 section 2.1 requires; the token is trimmed. ok
// is false for another scheme or an empty token.
func BearerToken(header string) (token string, ok bool) {
	scheme, rest, _ := strings.Cut(strings.TrimSpace(header), " ")
	if !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	token = strings.TrimSpace(rest)
	return token, token != ""
}
