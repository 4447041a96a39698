package internal

import (
	_ "github.com/anishathalye/porcupine"
	_ "github.com/fasthttp/router"
	_ "github.com/getkin/kin-openapi/openapi3"
	_ "github.com/hashicorp/memberlist"
	_ "github.com/hashicorp/raft"
	_ "github.com/hashicorp/raft-boltdb/v2"
	_ "github.com/hashicorp/raft-wal"
	_ "github.com/hashicorp/serf/coordinate"
	_ "github.com/prometheus/client_golang/prometheus"
	_ "github.com/quic-go/quic-go"
	_ "github.com/quic-go/webtransport-go"
	_ "github.com/valyala/fasthttp"
	_ "go.uber.org/goleak"
	_ "gopkg.in/yaml.v3"
)
