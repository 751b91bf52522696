# pqmgr - top-level Makefile.
#
#   make              build pqmgr, pqctl, pqmigrate (into $(BUILD), default build/)
#   make check        install dependencies, build, run every test
#   make check-asan   the same under AddressSanitizer + UndefinedBehaviorSanitizer
#   make fuzz         build the libFuzzer targets and run each for FUZZ_SECONDS
#   make demo         pqmgr under a real Postfix sandbox, mail flowing
#   make bench        benchmarks against Postfix's qmgr/oqmgr
#   make parity       only the behaviour-parity suite against Postfix's
#                     qmgr/oqmgr (make check runs it too; docs/parity.md)
#   make install      into $(DESTDIR)$(PREFIX)
#   make format       clang-format every C file in place
#
# Sources are found by wildcard: a new .c file in a module directory is built
# without editing this file.  Tests are tests/unit/test_*.c, one Check
# program each.

CC       ?= cc
BUILD    ?= build
PREFIX   ?= /usr/local
DESTDIR  ?=
FUZZ_SECONDS ?= 30

PKGS     := lmdb libpq hiredis libevent
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) check 2>/dev/null)
PKG_LIBS := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
CHECK_LIBS := $(shell pkg-config --libs check 2>/dev/null)

WARN     := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes \
            -Wmissing-prototypes -Wno-unused-parameter
CPPFLAGS += -D_GNU_SOURCE -Icore/lib -Iconf -Ibackends -Icore
CFLAGS   ?= -O2 -g
ALL_CFLAGS = -std=c11 $(WARN) $(CFLAGS) $(PKG_CFLAGS)
LDLIBS   += $(PKG_LIBS) -lm

ASAN_FLAGS := -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer \
              -fno-sanitize-recover=undefined

LIB_SRCS     := $(wildcard core/lib/*.c conf/*.c)
STORE_SRCS   := $(wildcard backends/*.c backends/*/*.c)
DAEMON_SRCS  := $(filter-out core/pqmgr.c,$(wildcard core/*.c))
TEST_SRCS    := $(wildcard tests/unit/test_*.c)
TEST_HELPERS := $(filter-out $(TEST_SRCS),$(wildcard tests/unit/*.c))
FUZZ_SRCS    := $(wildcard tests/fuzz/fuzz_*.c)

obj = $(patsubst %.c,$(BUILD)/obj/%.o,$(1))

LIBPQCORE := $(BUILD)/libpqcore.a
LIBSTORE  := $(BUILD)/libpqstore.a
LIBDAEMON := $(BUILD)/libpqdaemon.a
PROGRAMS  := $(BUILD)/pqmgr $(BUILD)/pqctl $(BUILD)/pqmigrate
TESTS     := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(TEST_SRCS))
TEST_TOOLS := $(patsubst tests/tools/%.c,$(BUILD)/tools/%,$(wildcard tests/tools/*.c))

.PHONY: all check check-asan fuzz demo bench parity install format deps tests clean

all: $(PROGRAMS) $(TEST_TOOLS)

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(ALL_CFLAGS) -MMD -MP -c -o $@ $<

$(LIBPQCORE): $(call obj,$(LIB_SRCS))
	@rm -f $@
	ar rcs $@ $^

$(LIBSTORE): $(call obj,$(STORE_SRCS)) $(BUILD)/obj/.placeholder.o
	@rm -f $@
	ar rcs $@ $^

$(LIBDAEMON): $(call obj,$(DAEMON_SRCS)) $(BUILD)/obj/.placeholder.o
	@rm -f $@
	ar rcs $@ $^

# An empty object keeps "ar" happy while a library has no sources yet.
$(BUILD)/obj/.placeholder.o:
	@mkdir -p $(dir $@)
	echo 'typedef int pq_placeholder;' | $(CC) -x c -c -o $@ -

LINK_LIBS = $(LIBDAEMON) $(LIBSTORE) $(LIBPQCORE)

$(BUILD)/pqmgr: $(call obj,core/pqmgr.c) $(LINK_LIBS)
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/pqctl: $(call obj,$(wildcard admin/*.c)) $(LINK_LIBS)
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/pqmigrate: $(call obj,$(wildcard migrate/*.c)) $(LINK_LIBS)
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/tests/%: $(BUILD)/obj/tests/unit/%.o $(call obj,$(TEST_HELPERS)) $(LINK_LIBS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS) $(CHECK_LIBS)

$(BUILD)/tools/%: $(BUILD)/obj/tests/tools/%.o $(LINK_LIBS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

tests: all $(TESTS)

deps:
	scripts/install-deps

check: deps
	$(MAKE) tests
	BUILD=$(BUILD) tests/run-all

# The parity suite compares the scheduling of the gcc build with Postfix's
# and takes a quarter of an hour; the sanitizer run leaves it out and
# checks pqmgr's memory use through the end-to-end suite instead.
check-asan: deps
	$(MAKE) BUILD=build-asan CFLAGS="$(ASAN_FLAGS)" LDFLAGS="-fsanitize=address,undefined" tests
	BUILD=build-asan CK_TIMEOUT_MULTIPLIER=4 SKIP_TESTS=test_parity \
	  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 tests/run-all

FUZZ_BUILD := build-fuzz
FUZZ_FLAGS := -O1 -g -fsanitize=fuzzer-no-link,address,undefined
FUZZ_BINS  := $(patsubst tests/fuzz/%.c,$(FUZZ_BUILD)/fuzz/%,$(FUZZ_SRCS))

fuzz: deps
	$(MAKE) CC=clang BUILD=$(FUZZ_BUILD) CFLAGS="$(FUZZ_FLAGS)" fuzz-bins
	tests/fuzz/run-all $(FUZZ_SECONDS) $(FUZZ_BUILD)/fuzz

fuzz-bins: $(FUZZ_BINS)

$(FUZZ_BUILD)/fuzz/%: $(FUZZ_BUILD)/obj/tests/fuzz/%.o $(LINK_LIBS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -fsanitize=fuzzer,address,undefined -o $@ $^ $(LDLIBS)

demo: deps all
	scripts/demo

bench: deps all
	bench/run

parity: deps
	$(MAKE) tests
	BUILD=$(BUILD) TESTS=test_parity tests/run-all

install: all
	install -d $(DESTDIR)$(PREFIX)/sbin $(DESTDIR)$(PREFIX)/lib/pqmgr
	install -m 0755 $(BUILD)/pqmgr $(DESTDIR)$(PREFIX)/lib/pqmgr/pqmgr
	install -m 0755 $(BUILD)/pqctl $(BUILD)/pqmigrate $(DESTDIR)$(PREFIX)/sbin/

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf build build-asan build-fuzz build-clang

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
