// Package api is the REST contract of Strata's origins: the wire types of
// every resource, the stable error codes, typed constants for states and
// policies, the bounds the origins enforce on numeric input, and a typed
// Go client with failover across origins.
//
// It imports nothing of Strata's server code (no Raft, no storage, no
// fasthttp), so the CLI, edges, benches, tests and any future consumer
// link only this leaf. The OpenAPI document served by origins
// (/v1/openapi.yaml) remains the contract on the wire; a test keeps it and
// these types in agreement.
package api
