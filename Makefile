# Strata — build, run and test.
GO      ?= go
BIN     := bin/strata
BENCH   := bin/strata-bench
PKGS    := ./...
FUZZTIME ?= 30s
# staticcheck, pinned; `make tools` installs it (into GOBIN, else GOPATH/bin).
STATICCHECK_VERSION := v0.8.2
STATICCHECK ?= staticcheck

.PHONY: build install run test lint tools bench fuzz clean

# The release binary, and the benches beside it (`strata bench` runs
# strata-bench from the same folder).
# -buildvcs=auto stamps the commit for `strata version` even where the
# environment turns VCS stamping off.
build:
	$(GO) build -buildvcs=auto -o $(BIN) ./cmd/strata
	$(GO) build -buildvcs=auto -o $(BENCH) ./cmd/strata-bench

# strata and strata-bench on PATH: into $(PREFIX)/bin when PREFIX is set
# (make install PREFIX=/usr/local), else where `go install` puts commands
# ($GOBIN, else $(go env GOPATH)/bin). Says where, and how to put that
# folder on PATH when it is not.
install:
ifdef PREFIX
	mkdir -p $(DESTDIR)$(PREFIX)/bin
	$(GO) build -buildvcs=auto -o $(DESTDIR)$(PREFIX)/bin/strata ./cmd/strata
	$(GO) build -buildvcs=auto -o $(DESTDIR)$(PREFIX)/bin/strata-bench ./cmd/strata-bench
	@dir="$(DESTDIR)$(PREFIX)/bin"; echo "installed strata and strata-bench in $$dir"; \
	  case ":$$PATH:" in *":$$dir:"*) ;; *) echo "$$dir is not on PATH: export PATH=\"$$dir:\$$PATH\"" ;; esac
else
	$(GO) install -buildvcs=auto ./cmd/strata ./cmd/strata-bench
	@dir="$$($(GO) env GOBIN)"; [ -n "$$dir" ] || dir="$$($(GO) env GOPATH)/bin"; \
	  echo "installed strata and strata-bench in $$dir"; \
	  case ":$$PATH:" in *":$$dir:"*) ;; *) echo "$$dir is not on PATH: export PATH=\"$$dir:\$$PATH\"" ;; esac
endif

# The whole cluster in one process, with a demo session; ARGS go to
# `strata dev` (make run ARGS='--api-addr 127.0.0.1:8070').
run: build
	./$(BIN) dev $(ARGS)

# Unit and integration tests (real sockets, in-process clusters), with the
# race detector. Long soaks and heavy benchmarks are under `make bench`.
test:
	$(GO) vet $(PKGS)
	# -p 1: one test binary at a time. The cluster tests run many nodes in
	# one process under the race detector; two such packages side by side
	# on a 2-core machine starve each other's gossip and Raft timers.
	$(GO) test -race -p 1 -count=1 -timeout 30m $(PKGS)
	# The load and scale tests skip themselves under -race (the detector's
	# overhead, not Strata, starves Raft and gossip there): run them without.
	$(GO) test -count=1 -timeout 10m -run '^(TestPlacementClusterCapacity|TestClusterAllAlive)$$' ./origin/ ./registry/gossip/

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet $(PKGS)
	@command -v $(STATICCHECK) >/dev/null || { echo "staticcheck not found: run 'make tools' and put \$$(go env GOPATH)/bin on PATH"; exit 1; }
	$(STATICCHECK) $(PKGS)

# Tools lint needs, at the versions CI uses.
tools:
	$(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)

# Go benchmarks, then the capacity benches with their JSON reports.
bench: build
	$(GO) test -run '^$$' -bench . -benchtime 1s $(PKGS)
	./$(BIN) bench registry --origins 3 --duration 10s --json
	./$(BIN) bench placement --nodes 10000 --json

# Run every fuzz target for FUZZTIME each.
fuzz:
	@for pkg in $$($(GO) list $(PKGS)); do \
	  for t in $$($(GO) test -list '^Fuzz' $$pkg 2>/dev/null | grep '^Fuzz'); do \
	    echo "== $$pkg $$t"; \
	    $(GO) test -run '^$$' -fuzz "^$$t$$" -fuzztime $(FUZZTIME) -parallel 1 $$pkg || exit 1; \
	  done; \
	done

clean:
	rm -rf bin
