# ktriage — make targets. `make demo` and `make test` work on a fresh machine:
# they fetch what they need (Go modules, staticcheck) themselves.

GO            ?= go
BIN           := bin/ktriage
STATICCHECK_VERSION := v0.8.2
STATICCHECK   := $(CURDIR)/.cache/bin/staticcheck-$(STATICCHECK_VERSION)
export KTRIAGE_SHARED ?= $(abspath ../shared)
# Where tests keep what a person may want to look at afterwards (the
# dashboard test's screenshots).
export KTRIAGE_ARTIFACTS ?= $(CURDIR)/.cache/artifacts

.PHONY: all build demo test unit lint fuzz bench deps testdeps vmcores dbg testdbg clean

all: build

deps:
	$(GO) mod download

# What the tests run for real: ethtool and ip in a network namespace (the
# vmcore generator installs its own packages when it runs); crash(8) and drgn
# (Debian's python3-drgn, with libkdumpfile for kdump-compressed dumps), the
# references the vmcore reader is compared with; readelf for tools/fetch-dbg.sh;
# bzip2 for the streams the tests make (Go has no bzip2 writer); PostgreSQL,
# whose initdb the fleet store's tests run for a throwaway cluster.
testdeps: deps
	command -v ethtool >/dev/null && command -v ip >/dev/null && command -v makedumpfile >/dev/null && command -v crash >/dev/null && command -v drgn >/dev/null && command -v readelf >/dev/null && command -v bzip2 >/dev/null && command -v chromium >/dev/null && ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || (apt-get update -qq && apt-get install -y -qq ethtool iproute2 makedumpfile crash python3-drgn binutils bzip2 postgresql chromium)

build: deps
	$(GO) build -o $(BIN) ./cmd/ktriage

# The main job on an example shipped in the repo: a real kernel panic of a
# Debian 6.1 kernel under QEMU (see examples/README.md).
demo: build
	./$(BIN) analyze examples/qemu-skb-over-panic/console.log
	./$(BIN) analyze examples/ticket-skb-checksum.txt
	./$(BIN) analyze hostfacts/testdata/hosts/rhel6

test: testdeps testdbg lint unit

unit:
	$(GO) test -count=1 ./...
	@# the corpus figures, printed (the test above fails under its floors)
	@$(GO) test -count=1 -run 'TestSyzkallerCorpus$$|TestRenderings$$' -v ./oops | grep -E 'agreement:' || true
	@# the fleet's load test figures (TestLoad above wrote them)
	@cat $(KTRIAGE_ARTIFACTS)/load.txt 2>/dev/null || true

$(STATICCHECK):
	mkdir -p $(CURDIR)/.cache/bin
	GOBIN=$(CURDIR)/.cache/bin $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)
	mv $(CURDIR)/.cache/bin/staticcheck $@

lint: $(STATICCHECK)
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$out" ]; then echo "gofmt would change: $$out"; exit 1; fi
	$(GO) vet ./...
	$(STATICCHECK) ./...

# Short runs of every fuzz target (each parser has one); FUZZTIME=5m for longer.
# Minimizing a new input is capped at FUZZMINIMIZE: the dump fuzzers' inputs are
# large, and uncapped a worker spent its whole run minimizing (3-7 executions).
FUZZTIME ?= 20s
FUZZMINIMIZE ?= 5s
fuzz:
	@for pkg in $$($(GO) list ./...); do \
	  for t in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz'); do \
	    echo "== $$pkg $$t"; $(GO) test -run '^$$' -fuzz "^$$t$$" -fuzztime $(FUZZTIME) -fuzzminimizetime $(FUZZMINIMIZE) $$pkg || exit 1; \
	  done; \
	done

bench: build
	$(GO) run ./internal/bench/logscan -ktriage ./$(BIN)
	@command -v makedumpfile >/dev/null || (apt-get update -qq && apt-get install -y -qq makedumpfile >/dev/null)
	$(GO) run ./internal/bench/dmesg -ktriage ./$(BIN)
	@# ktriage crash/analyze against crash(8) with the debug vmlinux (make dbg fetches it)
	$(MAKE) dbg
	$(GO) run ./internal/bench/crash -ktriage ./$(BIN)
	@# fleet ingest: documents/s and latency percentiles, SQLite and PostgreSQL
	@command -v initdb >/dev/null || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || (apt-get update -qq && apt-get install -y -qq postgresql >/dev/null)
	$(GO) test -run '^$$' -bench IngestHTTP -benchtime 3s ./fleet/server

# Real vmcores for the tests (QEMU TCG, ~1 min warm), cached in .cache/vmcores, and the
# kdump dumps of Debian's 6.12 kernel in .cache/vmcores-6.12 (~40 s); tests that need them
# make them through internal/vmcores when missing. FORCE=1 to remake.
.PHONY: vmcores
vmcores:
	bash tools/gen-vmcores.sh
	KSERIES=6.12 QMP=0 bash tools/gen-vmcores.sh .cache/vmcores-6.12

# The debug vmlinux (DWARF) of each kernel the generated vmcore sets were made by, for
# crash(8), drgn and ktypes' DWARF tests: the exact Debian package version each
# manifest names, checked against a dump's build-id, cached in
# $${KTRIAGE_DBG_CACHE:-$${XDG_CACHE_HOME:-~/.cache}/ktriage/dbg} (~600 MB a kernel;
# the download, ~300 MB, is deleted). Makes the sets first if they are missing.
VMCORES ?= $(or $(KTRIAGE_VMCORES),$(CURDIR)/.cache/vmcores)
VMCORES_612 ?= $(or $(KTRIAGE_VMCORES_6_12),$(VMCORES)-6.12)
dbg: deps
	@test -f $(VMCORES)/manifest.json || bash tools/gen-vmcores.sh $(VMCORES)
	@test -f $(VMCORES_612)/manifest.json || KSERIES=6.12 QMP=0 bash tools/gen-vmcores.sh $(VMCORES_612)
	$(GO) run ./internal/refdebug/fetchdbg $(VMCORES) $(VMCORES_612)

# make dbg for make test: a failure fails CI (CI=true), elsewhere the tests that
# need the debug vmlinux skip, naming it, as those needing the dumps do.
testdbg:
	@$(MAKE) --no-print-directory dbg || { [ "$$CI" != true ] && echo "make dbg failed: tests that need the debug vmlinux will be skipped"; }

clean:
	rm -rf bin
