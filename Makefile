# SPDX-License-Identifier: AGPL-3.0-or-later
# weir: one non-recursive Makefile. Sources are found by their place in the
# tree, so a new file needs no edit here:
#   user/<stage>/*.c, user/weir_config.c  -> build/libweir.a (and a sanitized copy)
#   user/main.c, user/cli_*.c             -> build/weir
#   bpf/<name>.bpf.c                      -> build/bpf/<name>.skel.h (bpftool skeleton)
#   proto/<name>.proto                    -> build/proto/<name>.pb-c.[ch]
#   tests/unit/<stage>/test_*.c           -> build/tests/unit/<stage>/test_* (ASan+UBSan)
#   tests/integration/test_*.c            -> build/tests/integration/test_*
#   tests/fuzz/fuzz_*.c                   -> build/fuzz/fuzz_* (libFuzzer)
#   tests/tools/*.c                       -> build/tests/tools/* (programs the tests run)
#   tests/harness/*.c                     -> linked into every test program

CC := clang
BPF_CC := clang
BUILD := build
V ?= 0
Q := $(if $(filter 1,$(V)),,@)

# The libraries the code includes today; a stage that starts using one adds it here.
PKGS := libbpf libxdp rdkafka yaml-0.1 libcurl libprotobuf-c libpcap libh2o-evloop libmaxminddb libpcre2-8 netsnmp
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS = $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lpthread -lm

WARN := -Wall -Wextra -Werror -Wno-unused-parameter -Wno-missing-field-initializers
COMMON_CFLAGS := -std=c11 -D_GNU_SOURCE -g $(WARN) -Iuser -I$(BUILD) -I$(BUILD)/proto \
	-DWEIR_VERSION='"$(shell git describe --always --dirty 2>/dev/null || echo dev)"'
CFLAGS := -O2 $(COMMON_CFLAGS)
# Test programs (unit, integration, fuzz, tools) also see the harness.
TEST_INC := -Itests/harness
SAN_FLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
ASAN_CFLAGS := -O1 $(COMMON_CFLAGS) $(SAN_FLAGS)
FUZZ_CFLAGS := -O1 $(COMMON_CFLAGS) -fsanitize=fuzzer-no-link,address,undefined \
	-fno-sanitize-recover=undefined -DWEIR_FUZZING

# ---- sources ----
LIB_SRCS := $(sort $(wildcard user/*/*.c) user/weir_config.c)
BIN_SRCS := user/main.c $(sort $(wildcard user/cli_*.c))
BPF_SRCS := $(sort $(wildcard bpf/*.bpf.c))
PROTO_SRCS := $(sort $(wildcard proto/*.proto))
UNIT_SRCS := $(sort $(wildcard tests/unit/*/test_*.c))
INTEG_SRCS := $(sort $(wildcard tests/integration/test_*.c))
FUZZ_SRCS := $(sort $(wildcard tests/fuzz/fuzz_*.c))
HARNESS_SRCS := $(sort $(wildcard tests/harness/*.c))
TOOL_SRCS := $(sort $(wildcard tests/tools/*.c))

BPF_SKELS := $(patsubst bpf/%.bpf.c,$(BUILD)/bpf/%.skel.h,$(BPF_SRCS))
PROTO_C := $(patsubst proto/%.proto,$(BUILD)/proto/%.pb-c.c,$(PROTO_SRCS))
GEN_SRCS := $(PROTO_C)
GENERATED := $(BPF_SKELS) $(PROTO_C) $(PROTO_C:.c=.h)

LIB_OBJS := $(patsubst %.c,$(BUILD)/obj/%.o,$(LIB_SRCS) $(GEN_SRCS))
ASAN_LIB_OBJS := $(patsubst %.c,$(BUILD)/asan/%.o,$(LIB_SRCS) $(GEN_SRCS))
FUZZ_LIB_OBJS := $(patsubst %.c,$(BUILD)/fuzzobj/%.o,$(LIB_SRCS) $(GEN_SRCS))
BIN_OBJS := $(patsubst %.c,$(BUILD)/obj/%.o,$(BIN_SRCS))
UNIT_BINS := $(patsubst tests/unit/%.c,$(BUILD)/tests/unit/%,$(UNIT_SRCS))
INTEG_BINS := $(patsubst tests/integration/%.c,$(BUILD)/tests/integration/%,$(INTEG_SRCS))
FUZZ_BINS := $(patsubst tests/fuzz/%.c,$(BUILD)/fuzz/%,$(FUZZ_SRCS))
TOOL_BINS := $(patsubst tests/tools/%.c,$(BUILD)/tests/tools/%,$(TOOL_SRCS))

.PHONY: all deps check test tests bench fuzz fuzz-build demo install format clean web-size
.DEFAULT_GOAL := all
.SECONDARY:

# The console's web pages (web/dist) are part of `all` once web/ has a
# package.json; npm's packages come from `make deps` (never fetched here).
WEB_DIST := $(if $(wildcard web/package.json),web/dist/index.html)
WEB_SRCS := $(shell find web/src -type f 2>/dev/null) $(wildcard web/index.html web/vite.config.ts \
	web/tsconfig.json web/package.json web/package-lock.json docs/*.md)

# The demo's GeoIP files (mk/demo-mmdb.pl) when libmaxmind-db-writer-perl
# is there (`make deps` installs it; `make demo` needs them).
DEMO_MMDB := $(BUILD)/demo/asn.mmdb
DEMO_DATA := $(if $(shell perl -MMaxMind::DB::Writer::Tree -e1 2>/dev/null && echo y),$(DEMO_MMDB))

all: $(BUILD)/weir $(WEB_DIST) $(DEMO_DATA)

deps:
	$(Q)mk/deps.sh

# ---- web: the console's pages (Vue + Vite) into web/dist ----
web/dist/index.html: $(WEB_SRCS)
	@if [ ! -d web/node_modules ]; then \
		echo "web/node_modules is missing: run 'make deps' (npm ci in web/) first" >&2; exit 1; fi
	@echo "  WEB     web/dist"
	$(Q)cd web && npm run --silent build >/dev/null
	$(Q)touch $@

web-size: $(WEB_DIST)
	$(Q)node web/dev/size.mjs

# ---- BPF: vmlinux.h from the running kernel, objects, skeletons ----
$(BUILD)/vmlinux.h:
	@mkdir -p $(@D)
	$(Q)bpftool btf dump file /sys/kernel/btf/vmlinux format c > $@.tmp && mv $@.tmp $@

BPF_CFLAGS := -g -O2 -target bpf -D__TARGET_ARCH_x86 -I$(BUILD) -Ibpf -Wall -Werror

$(BUILD)/bpf/%.bpf.o: bpf/%.bpf.c $(BUILD)/vmlinux.h $(wildcard bpf/*.h)
	@mkdir -p $(@D)
	@echo "  BPF     $<"
	$(Q)$(BPF_CC) $(BPF_CFLAGS) -c $< -o $@

# 32-bit atomics (the probe's flow value keeps to 40 bytes).
$(BUILD)/bpf/probe.bpf.o: BPF_CFLAGS += -mcpu=v3

$(BUILD)/bpf/%.skel.h: $(BUILD)/bpf/%.bpf.o
	$(Q)bpftool gen skeleton $< name $(subst -,_,$*)_bpf > $@.tmp && mv $@.tmp $@

# ---- Protobuf ----
$(BUILD)/proto/%.pb-c.c $(BUILD)/proto/%.pb-c.h: proto/%.proto
	@mkdir -p $(@D)
	@echo "  PROTO   $<"
	$(Q)protoc-c --proto_path=proto --c_out=$(BUILD)/proto $<

# ---- C objects (three flavours) ----
$(BUILD)/obj/%.o: %.c | $(GENERATED)
	@mkdir -p $(@D)
	@echo "  CC      $<"
	$(Q)$(CC) $(CFLAGS) $(PKG_CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/asan/%.o: %.c | $(GENERATED)
	@mkdir -p $(@D)
	@echo "  CC-SAN  $<"
	$(Q)$(CC) $(ASAN_CFLAGS) $(PKG_CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/fuzzobj/%.o: %.c | $(GENERATED)
	@mkdir -p $(@D)
	@echo "  CC-FUZZ $<"
	$(Q)$(CC) $(FUZZ_CFLAGS) $(PKG_CFLAGS) -MMD -MP -c $< -o $@

# names.c takes the shipped names (config/names/*.csv) in with .incbin.
$(foreach d,obj asan fuzzobj,$(BUILD)/$(d)/user/orchestrator/names.o): $(wildcard config/names/*.csv)
# world.c takes the demo's world table (config/demo/world.csv) the same way.
$(foreach d,obj asan fuzzobj,$(BUILD)/$(d)/user/demo/world.o): config/demo/world.csv

$(BUILD)/libweir.a: $(LIB_OBJS)
	$(Q)rm -f $@ && ar rcs $@ $^

$(BUILD)/asan/libweir.a: $(ASAN_LIB_OBJS)
	$(Q)rm -f $@ && ar rcs $@ $^

$(BUILD)/fuzzobj/libweir.a: $(FUZZ_LIB_OBJS)
	$(Q)rm -f $@ && ar rcs $@ $^

$(BUILD)/weir: $(BIN_OBJS) $(BUILD)/libweir.a
	@echo "  LD      $@"
	$(Q)$(CC) $(CFLAGS) -o $@ $(BIN_OBJS) $(BUILD)/libweir.a $(PKG_LIBS)

# ---- tests ----
$(BUILD)/tests/unit/%: tests/unit/%.c $(HARNESS_SRCS) $(BUILD)/asan/libweir.a
	@mkdir -p $(@D)
	@echo "  TEST    $@"
	$(Q)$(CC) $(ASAN_CFLAGS) $(TEST_INC) $(PKG_CFLAGS) -o $@ $< $(HARNESS_SRCS) $(BUILD)/asan/libweir.a $(PKG_LIBS)

$(BUILD)/tests/integration/%: tests/integration/%.c $(HARNESS_SRCS) $(BUILD)/libweir.a
	@mkdir -p $(@D)
	@echo "  TEST    $@"
	$(Q)$(CC) $(CFLAGS) $(TEST_INC) $(PKG_CFLAGS) -o $@ $< $(HARNESS_SRCS) $(BUILD)/libweir.a $(PKG_LIBS)

$(BUILD)/fuzz/%: tests/fuzz/%.c $(BUILD)/fuzzobj/libweir.a
	@mkdir -p $(@D)
	@echo "  FUZZ    $@"
	$(Q)$(CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer $(TEST_INC) $(PKG_CFLAGS) -o $@ $< $(BUILD)/fuzzobj/libweir.a $(PKG_LIBS)

# Helper programs the tests run (a Kafka mock cluster, traffic senders...).
$(BUILD)/tests/tools/%: tests/tools/%.c $(BUILD)/libweir.a
	@mkdir -p $(@D)
	@echo "  TOOL    $@"
	$(Q)$(CC) $(CFLAGS) $(TEST_INC) $(PKG_CFLAGS) -o $@ $< $(BUILD)/libweir.a $(PKG_LIBS)

tests: $(UNIT_BINS) $(INTEG_BINS) $(FUZZ_BINS) $(TOOL_BINS)

# make check: deps, build, every suite; the last line is "N passed, N failed".
check: deps
	$(Q)$(MAKE) --no-print-directory -j$(shell nproc) all tests
	$(Q)tests/run.sh

test: all tests
	$(Q)tests/run.sh $(SUITES)

fuzz-build: $(FUZZ_BINS) $(BUILD)/weir

# make fuzz: each target for FUZZ_SECONDS (default 300 s).
fuzz: fuzz-build
	$(Q)FUZZ_SECONDS=$${FUZZ_SECONDS:-300} tests/run.sh fuzz

bench: all
	$(Q)$(BUILD)/weir bench all

# asn.mmdb stands for the three files the generator writes.
$(DEMO_MMDB): config/demo/world.csv mk/demo-mmdb.pl
	@echo "  MMDB    $(@D)"
	$(Q)perl mk/demo-mmdb.pl config/demo/world.csv $(@D)

demo: deps all $(DEMO_MMDB)
	$(Q)BUILD=$(BUILD) mk/demo.sh

install: all
	install -D -m 0755 $(BUILD)/weir $(DESTDIR)/usr/local/bin/weir
	install -D -m 0644 config/weir.yaml $(DESTDIR)/etc/weir/weir.yaml
	@# the embedded ClickHouse (the default clickhouse.url), found beside bin/
	@if [ -f third_party/chdb/libchdb.so ]; then \
		install -D -m 0755 third_party/chdb/libchdb.so $(DESTDIR)/usr/local/lib/weir/libchdb.so; \
	else echo "install: no third_party/chdb/libchdb.so (make deps): embedded:// URLs will not work"; fi

format:
	clang-format -i $$(git ls-files '*.c' '*.h' | grep -v '^$(BUILD)/')

clean:
	rm -rf $(BUILD)

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
