# bhyve for Linux — GNU make.
#   make          build build/bhyve
#   make check    install what is missing, run every test (unit, fuzz smoke, real KVM)
#   make demo     boot a real Linux guest and show its console
#   make lint     cppcheck and clang-tidy (.clang-tidy) on src/, any finding fails
CC      ?= gcc
BUILD   ?= build
OPT     ?= -O2
CFLAGS  ?= $(OPT) -g
WARN     = -Wall -Wextra -Werror -Wshadow -Wno-unused-parameter -Wstrict-prototypes \
           -Wmissing-prototypes -Wformat=2
ALL_CFLAGS = -std=gnu11 $(WARN) -D_GNU_SOURCE -Isrc -pthread -MMD -MP $(CFLAGS) $(EXTRA_CFLAGS)
LDLIBS  += -pthread
# libseccomp (src/sandbox.c), on every link line: kept out of LDLIBS, which
# `make asan` sets on its command line.
SECCOMP_LIBS := $(shell pkg-config --libs libseccomp 2>/dev/null || echo -lseccomp)
# liburing for the block back end's aio=io_uring (src/block/blockif.c).
URING_LIBS := $(shell pkg-config --libs liburing 2>/dev/null || echo -luring)
SECCOMP_LIBS += $(URING_LIBS)
# libslirp for the slirp network back end (src/net/net_slirp.c), linked the
# same way.  Without it (pkg-config finds no slirp) the runner still builds
# and that back end reports that it is missing.
SLIRP_CFLAGS := $(shell pkg-config --cflags slirp 2>/dev/null)
SLIRP_LIBS   := $(shell pkg-config --libs slirp 2>/dev/null)
ifeq ($(strip $(SLIRP_LIBS)),)
SLIRP_CFLAGS := -DBHYVE_NO_SLIRP
endif

SRCS     := $(shell find src -name '*.c' | LC_ALL=C sort)
LIB_SRCS := $(filter-out src/main.c,$(SRCS))
LIB_OBJS := $(patsubst src/%.c,$(BUILD)/obj/%.o,$(LIB_SRCS))
UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(patsubst tests/unit/%.c,$(BUILD)/unit/%,$(UNIT_SRCS))
GUEST_SRCS := $(wildcard tests/guests/*.S)
GUEST_BINS := $(patsubst tests/guests/%.S,$(BUILD)/guests/%.bin,$(GUEST_SRCS))

.PHONY: all check unit integration demo bench bench-smoke clean deps assets clang asan format format-check lint guests tools fuzz fuzz-smoke fuzz-report

all: $(BUILD)/bhyve

$(BUILD)/obj/%.o: src/%.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c $< -o $@

$(BUILD)/obj/net/net_slirp.o: ALL_CFLAGS += $(SLIRP_CFLAGS)

$(BUILD)/libbhyve.a: $(LIB_OBJS)
	@rm -f $@
	ar rcs $@ $^

# Linked from the objects, not the archive: device emulations register
# themselves in a linker section and nothing else refers to them.
$(BUILD)/bhyve: $(BUILD)/obj/main.o $(LIB_OBJS)
	$(CC) $(ALL_CFLAGS) -o $@ $^ $(SECCOMP_LIBS) $(SLIRP_LIBS) $(LDLIBS)

$(BUILD)/unit/%: tests/unit/%.c $(BUILD)/libbhyve.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Wno-missing-prototypes -o $@ $< $(BUILD)/libbhyve.a -lcmocka \
	      $(SECCOMP_LIBS) $(SLIRP_LIBS) $(LDLIBS)

# Freestanding test guests: minimal bzImage files (see tests/guests/README).
$(BUILD)/guests/%.bin: tests/guests/%.S tests/guests/guest.ld tests/guests/bzhdr.inc
	@mkdir -p $(dir $@)
	$(CC) -m64 -nostdlib -static -ffreestanding -Wl,--build-id=none -Wl,-T,tests/guests/guest.ld \
	      -o $(BUILD)/guests/$*.elf $<
	objcopy -O binary $(BUILD)/guests/$*.elf $@

# Multiboot test guests: 32-bit ELF images with symbols (tests/guests/mb/README).
MB_GUEST_SRCS := $(wildcard tests/guests/mb/*.S)
MB_GUEST_ELFS := $(patsubst tests/guests/mb/%.S,$(BUILD)/guests/mb/%.elf,$(MB_GUEST_SRCS))
$(BUILD)/guests/mb/%.elf: tests/guests/mb/%.S tests/guests/mb/mb.ld tests/guests/mb/mb.inc
	@mkdir -p $(dir $@)
	$(CC) -m32 -nostdlib -static -ffreestanding -Wl,--build-id=none -Wl,-n \
	      -Wl,-T,tests/guests/mb/mb.ld -o $@ $<

# Multiboot test guests written in C (tests/guests/mbc/README), on the
# runtime of the assembly ones.
MBC_GUEST_SRCS := $(wildcard tests/guests/mbc/*.c)
MBC_GUEST_ELFS := $(patsubst tests/guests/mbc/%.c,$(BUILD)/guests/mbc/%.elf,$(MBC_GUEST_SRCS))
MBC_CFLAGS = -m32 -O2 -std=gnu11 -Wall -Wextra -Werror -ffreestanding -fno-pic -fno-stack-protector \
	     -fno-asynchronous-unwind-tables -Itests/guests/mb
$(BUILD)/guests/mbc/%.elf: tests/guests/mbc/%.c tests/guests/mbc/start.S tests/guests/mbc/mbc.h \
			   tests/guests/mb/mb.ld tests/guests/mb/mb.inc
	@mkdir -p $(dir $@)
	$(CC) $(MBC_CFLAGS) -nostdlib -static -Wl,--build-id=none -Wl,-n \
	      -Wl,-T,tests/guests/mb/mb.ld -o $@ tests/guests/mbc/start.S $<

guests: $(GUEST_BINS) $(MB_GUEST_ELFS) $(MBC_GUEST_ELFS)

# Small host programs used by the integration tests.
TOOL_SRCS := $(wildcard tests/tools/*.c)
TOOL_BINS := $(patsubst tests/tools/%.c,$(BUILD)/tools/%,$(TOOL_SRCS))
$(BUILD)/tools/%: tests/tools/%.c $(BUILD)/libbhyve.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Wno-missing-prototypes -o $@ $< $(BUILD)/libbhyve.a $(SECCOMP_LIBS) \
	      $(SLIRP_LIBS) $(LDLIBS)

tools: $(TOOL_BINS)

# libFuzzer targets (clang), see tests/fuzz/README.  The library is compiled
# once with the sanitizers and fuzzer coverage; each target links those
# objects (not an archive: device models register through a linker section).
#   make fuzz [FUZZ_SECONDS=N]   every target on its seed corpus, N s each
#   make fuzz-smoke              the same for FUZZ_SMOKE_SECONDS (20 s each)
FUZZ_SRCS := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BINS := $(patsubst tests/fuzz/%.c,$(BUILD)/fuzz/%,$(FUZZ_SRCS))
FUZZ_OBJS := $(patsubst src/%.c,$(BUILD)/fuzz-obj/%.o,$(LIB_SRCS))
FUZZ_SECONDS ?= 60
FUZZ_SMOKE_SECONDS ?= 20
FUZZ_CFLAGS = -std=gnu11 -D_GNU_SOURCE -Isrc -Itests/unit -g -O1 \
              -fsanitize=fuzzer-no-link,address,undefined -pthread

# Kept: make would delete them as intermediates of the pattern rule below.
.SECONDARY: $(FUZZ_OBJS)

$(BUILD)/fuzz-obj/net/net_slirp.o: FUZZ_CFLAGS += $(SLIRP_CFLAGS)

$(BUILD)/fuzz-obj/%.o: src/%.c
	@mkdir -p $(dir $@)
	clang $(FUZZ_CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/fuzz/%: tests/fuzz/%.c tests/fuzz/fuzz_input.h $(FUZZ_OBJS)
	@mkdir -p $(dir $@)
	clang $(FUZZ_CFLAGS) -fsanitize=fuzzer $< $(FUZZ_OBJS) $(SECCOMP_LIBS) $(SLIRP_LIBS) -pthread -o $@

# $(1): seconds per target.  New inputs go to a scratch corpus under
# $(BUILD)/fuzz (tests/fuzz/corpus keeps the hand-made seeds only); a failing
# target's log and input stay in $(BUILD)/fuzz/<target>.log / artifacts/.
define fuzz_run
	@pass=0; fail=0; \
	for f in $(FUZZ_BINS); do \
	  n=$$(basename $$f); \
	  mkdir -p $(BUILD)/fuzz/corpus/$$n $(BUILD)/fuzz/artifacts/$$n tests/fuzz/corpus/$$n; \
	  if $$f -max_total_time=$(1) -timeout=10 -print_final_stats=0 \
	       -artifact_prefix=$(BUILD)/fuzz/artifacts/$$n/ \
	       $(BUILD)/fuzz/corpus/$$n tests/fuzz/corpus/$$n >$(BUILD)/fuzz/$$n.log 2>&1; then \
	    pass=$$((pass + 1)); echo "fuzz: $$n ok ($(1) s)"; \
	  else \
	    fail=$$((fail + 1)); echo "fuzz: $$n FAILED, see $(BUILD)/fuzz/$$n.log"; \
	    grep -E 'invariant failed|ERROR:|SUMMARY:|Test unit written' \
	      $(BUILD)/fuzz/$$n.log | head -5; \
	  fi; \
	done; \
	echo "fuzz: $$pass passed, $$fail failed"; test $$fail -eq 0
endef

fuzz: $(FUZZ_BINS)
	$(call fuzz_run,$(FUZZ_SECONDS))

fuzz-smoke: $(FUZZ_BINS)
	$(call fuzz_run,$(FUZZ_SMOKE_SECONDS))

# RELIABILITY.md / .json: each target for FUZZ_REPORT_SECONDS (10 min),
# FUZZ_JOBS at a time; FUZZ_TARGETS picks some (default: all).
FUZZ_REPORT_SECONDS ?= 600
FUZZ_JOBS ?= 1
fuzz-report: $(FUZZ_BINS)
	scripts/fuzz-report --seconds $(FUZZ_REPORT_SECONDS) --jobs $(FUZZ_JOBS) --build $(BUILD) \
	  $(FUZZ_TARGETS)

deps:
	@scripts/deps

assets: deps
	@scripts/assets

# The runner under AddressSanitizer and UndefinedBehaviorSanitizer, for the
# integration tests that boot guests with it (tests/integration/test_sanitizers.py).
SAN_FLAGS = -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
asan:
	$(MAKE) --no-print-directory BUILD=$(BUILD)/asan OPT=-O1 EXTRA_CFLAGS="$(SAN_FLAGS)" \
	  LDLIBS="-pthread $(SAN_FLAGS)" $(BUILD)/asan/bhyve

# The same tree must build warning-free with clang too.
clang:
	$(MAKE) --no-print-directory CC=clang BUILD=$(BUILD)/clang $(BUILD)/clang/bhyve

unit: $(UNIT_BINS)
	@scripts/run-unit $(UNIT_BINS)

# The guest tests, in one boot of the test bed (scripts/run-integration:
# when the bed itself crashes or hangs, the tests run again in a new one).
# One vCPU: the 2-vCPU bed (multi-threaded TCG) has crashed and hung on a
# busy host; the 1-vCPU bed has not.
INTEGRATION_CPUS ?= 1
integration: all asan guests tools assets
	scripts/run-integration --cpus $(INTEGRATION_CPUS) --mem 4G --timeout 4500 -- $(PYTEST_ARGS)

# The fuzz smoke and the guest tests run side by side: the 1-vCPU test bed
# keeps one host CPU busy, the fuzzers the other.  (make lint is not part
# of it: even one clang-tidy at a time beside the bed slowed the guest
# tests by 45 s, and make check must stay under 10 minutes.)
check: deps
	$(MAKE) --no-print-directory all
	$(MAKE) --no-print-directory clang
	$(MAKE) --no-print-directory format-check
	$(MAKE) --no-print-directory unit
	$(MAKE) --no-print-directory -j2 --output-sync=target fuzz-smoke integration
	$(MAKE) --no-print-directory bench-smoke

demo: deps all assets
	@scripts/demo

# This runner next to QEMU microvm and pc (bench/README): make bench writes
# BENCHMARKS.md and BENCHMARKS.json (not part of check: about half an hour
# in the test bed); bench-smoke runs each part of the harness once and
# checks only that numbers came out.  BENCH_ARGS: e.g. --runs 7.
bench: deps all guests assets
	/usr/bin/python3 bench/run.py $(BENCH_ARGS)

bench-smoke: deps all guests assets
	/usr/bin/python3 bench/run.py --smoke $(BENCH_ARGS)

format:
	clang-format -i $$(find src tests/unit -name '*.[ch]')

format-check:
	@clang-format --dry-run --Werror $$(find src tests/unit -name '*.[ch]') && \
	  echo "format-check: $$(find src tests/unit -name '*.[ch]' | wc -l) files as .clang-format says"

# Static analysis of src/: cppcheck, then clang-tidy with the checks in
# .clang-tidy (every finding an error), LINT_JOBS files at a time.  A file's
# clang-tidy output is shown only when it has findings.  A false positive is
# suppressed on its line, with the reason: `cppcheck-suppress id` or
# `NOLINT(check)`.
LINT_JOBS ?= $(shell nproc 2>/dev/null || echo 1)
CPPCHECK_FLAGS = --enable=warning,portability,performance --std=c11 -q -D__x86_64__ \
		 -D_GNU_SOURCE -Isrc --inline-suppr --suppress=missingIncludeSystem \
		 --error-exitcode=1
TIDY_CFLAGS = -std=gnu11 -D_GNU_SOURCE -Isrc $(SLIRP_CFLAGS)
lint:
	@cppcheck $(CPPCHECK_FLAGS) -j $(LINT_JOBS) src
	@printf '%s\n' $(SRCS) | xargs -P $(LINT_JOBS) -n 1 sh -c \
	  'out=$$(clang-tidy --quiet "$$0" -- $(TIDY_CFLAGS) 2>&1) || { printf "%s\n" "$$out"; exit 1; }'
	@echo "lint: cppcheck and clang-tidy clean ($(words $(SRCS)) files)"

clean:
	rm -rf $(BUILD)

-include $(shell find $(BUILD) -type f -name '*.d' 2>/dev/null)
