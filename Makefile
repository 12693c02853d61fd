# otabundle - plain Makefile with knobs (see README.md)
CC ?= cc
PKG_CONFIG ?= pkg-config
PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
LIBDIR ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
MANDIR ?= $(PREFIX)/share/man
DESTDIR ?=
BUILD ?= build

CFLAGS ?= -O2 -g
WARNFLAGS = -std=c17 -Wall -Wextra -Werror -Wformat=2 -Wno-format-nonliteral -Wstrict-prototypes -Wmissing-prototypes
LIB_PKGS = libarchive libcrypto yaml-0.1 libzstd libp11
CLI_PKGS = jansson
# Hardening (a sanitizer build sets HARDEN_CFLAGS= : ASan replaces FORTIFY's checks).
HARDEN_CFLAGS ?= -D_FORTIFY_SOURCE=3 -fstack-protector-strong -fstack-clash-protection \
	$(if $(filter x86_64 i%86,$(shell uname -m)),-fcf-protection)
HARDEN_LDFLAGS ?= -Wl,-z,relro,-z,now -Wl,-z,noexecstack
ALL_CFLAGS = $(WARNFLAGS) -D_FILE_OFFSET_BITS=64 -fPIC -Iinclude -Isrc -MMD -MP $(HARDEN_CFLAGS) \
	$(shell $(PKG_CONFIG) --cflags $(LIB_PKGS) $(CLI_PKGS)) $(CFLAGS)
LIB_LIBS = $(shell $(PKG_CONFIG) --libs $(LIB_PKGS)) -lpthread
CLI_LIBS = $(shell $(PKG_CONFIG) --libs $(CLI_PKGS))
TEST_LIBS = $(shell $(PKG_CONFIG) --libs cmocka)

LIB_SRC = $(wildcard src/*.c)
CLI_SRC = $(wildcard cli/*.c)
UNIT_SRC = $(wildcard tests/unit/test_*.c)
TOOL_SRC = $(filter-out tests/tools/shim_%.c,$(wildcard tests/tools/*.c))
SHIM_SRC = $(wildcard tests/tools/shim_*.c)
LIB_OBJ = $(LIB_SRC:%.c=$(BUILD)/%.o)
CLI_OBJ = $(CLI_SRC:%.c=$(BUILD)/%.o)
UNIT_BIN = $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)
TOOL_BIN = $(TOOL_SRC:tests/tools/%.c=$(BUILD)/tests/%) $(SHIM_SRC:tests/tools/%.c=$(BUILD)/tests/%.so)
HDRS = $(wildcard include/otabundle/*.h) src/internal.h cli/cli.h tests/unit/testlib.h

SANFLAGS = -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
MANPAGES = man/otabundle.1 man/otabundle-manifest.5 man/otabundle-format.5 man/otabundle-json.5

.PHONY: all deps check check-full test unit cli-test sanitize demo install uninstall clean lint-man bench fuzz valgrind
.DEFAULT_GOAL := all

all: $(BUILD)/otabundle $(BUILD)/libotabundle.a $(BUILD)/libotabundle.so

# An object without its .d (never built with -MMD) is rebuilt, so a header
# change can never leave a stale object behind.
$(BUILD)/%.o: %.c $(BUILD)/%.d
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c $< -o $@
$(BUILD)/%.d: ;
.PRECIOUS: $(BUILD)/%.d
-include $(LIB_OBJ:.o=.d) $(CLI_OBJ:.o=.d) $(UNIT_BIN:=.d)

$(BUILD)/libotabundle.a: $(LIB_OBJ)
	rm -f $@
	ar rcs $@ $^

$(BUILD)/libotabundle.so: $(LIB_OBJ)
	$(CC) $(CFLAGS) -shared -Wl,-soname,libotabundle.so.0 $(HARDEN_LDFLAGS) -o $@ $^ $(LIB_LIBS) $(LDFLAGS)

$(BUILD)/otabundle: $(CLI_OBJ) $(BUILD)/libotabundle.a
	$(CC) $(CFLAGS) -pie $(HARDEN_LDFLAGS) -o $@ $(CLI_OBJ) $(BUILD)/libotabundle.a $(CLI_LIBS) $(LIB_LIBS) $(LDFLAGS)

$(BUILD)/tests/%: tests/unit/%.c $(BUILD)/libotabundle.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $< $(BUILD)/libotabundle.a $(TEST_LIBS) $(LIB_LIBS) $(LDFLAGS)

# Test tools are infrastructure, not code under test: built without sanitizers.
$(BUILD)/tests/%: tests/tools/%.c
	@mkdir -p $(dir $@)
	$(CC) $(WARNFLAGS) -O2 -Iinclude $(shell $(PKG_CONFIG) --cflags libarchive) -o $@ $< $(LIB_LIBS)

# LD_PRELOAD shims for the end-to-end tests (events at chosen moments).
$(BUILD)/tests/shim_%.so: tests/tools/shim_%.c
	@mkdir -p $(dir $@)
	$(CC) $(WARNFLAGS) -O2 -fPIC -shared -o $@ $< -ldl

# Install missing Debian packages (apt-get; needs root or sudo).
deps:
	@sh scripts/deps.sh

unit: all $(UNIT_BIN)
	@set -e; for t in $(UNIT_BIN); do echo "== $$t"; OAB_TESTDATA=$(CURDIR)/tests/data $$t; done

cli-test: all $(TOOL_BIN)
	@OTABUNDLE=$(CURDIR)/$(BUILD)/otabundle OAB_TOOLS=$(CURDIR)/$(BUILD)/tests \
		sh tests/cli/run.sh

# One end-to-end script or unit test: make test T=t_sign (or T=test_trust).
test: all $(TOOL_BIN) $(UNIT_BIN)
	@case "$(T)" in \
	t_*) OTABUNDLE=$(CURDIR)/$(BUILD)/otabundle OAB_TOOLS=$(CURDIR)/$(BUILD)/tests \
		OAB_TESTS=$(T:t_%=%) sh tests/cli/run.sh ;; \
	test_*) OAB_TESTDATA=$(CURDIR)/tests/data $(BUILD)/tests/$(T) ;; \
	*) echo "make test T=t_NAME (tests/cli/t_NAME.sh) or T=test_NAME (tests/unit)"; exit 2 ;; \
	esac

# The same suites again, built with AddressSanitizer + UBSan.
# The suppressions cover only leaks inside the third-party pkcs11 engine.
sanitize:
	ASAN_OPTIONS=fast_unwind_on_malloc=0:detect_leaks=1 \
	LSAN_OPTIONS=suppressions=$(CURDIR)/tests/lsan.supp:print_suppressions=0 \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	$(MAKE) BUILD=build/asan CFLAGS="$(SANFLAGS)" HARDEN_CFLAGS= LDFLAGS="-fsanitize=address,undefined" unit cli-test

# libFuzzer targets (clang, ASan+UBSan), each run FUZZ_SECONDS.
FUZZ_SECONDS ?= 60
CHECK_FUZZ_SECONDS ?= 30
FUZZ_CC ?= clang
FUZZ_FLAGS = -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
	-D_FILE_OFFSET_BITS=64 -Iinclude -Isrc $(shell $(PKG_CONFIG) --cflags $(LIB_PKGS))
build/fuzz/fuzz_%: tests/fuzz/fuzz_%.c $(LIB_SRC) $(HDRS)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_FLAGS) -o $@ $< $(LIB_SRC) $(LIB_LIBS)

fuzz: all build/fuzz/fuzz_manifest build/fuzz/fuzz_bundle build/fuzz/fuzz_cms
	@ASAN_OPTIONS=detect_leaks=1:fast_unwind_on_malloc=0 \
	LSAN_OPTIONS=suppressions=$(CURDIR)/tests/lsan.supp:print_suppressions=0 \
	sh tests/fuzz/run.sh $(FUZZ_SECONDS) build/fuzz

# End-to-end tests once under valgrind memcheck (smaller image; the PKCS#11
# engine and fault tests are left to the ASan run).
valgrind: all $(TOOL_BIN)
	@for t in roundtrip hostile sign policy keys extract repro; do \
		OTABUNDLE=$(CURDIR)/tests/cli/valgrind-wrap.sh OAB_REAL=$(CURDIR)/$(BUILD)/otabundle \
		OAB_TOOLS=$(CURDIR)/$(BUILD)/tests OAB_IMAGE_MIB=4 OAB_TESTS=$$t \
		sh tests/cli/run.sh || exit 1; done

lint-man:
	@if command -v mandoc >/dev/null; then mandoc -Tlint -Wwarning $(MANPAGES); \
	else echo "mandoc missing: man pages not linted"; fi

# The inner loop: build, man pages, unit and end-to-end tests (minutes).
check: deps
	$(MAKE) all
	$(MAKE) lint-man
	$(MAKE) unit
	$(MAKE) cli-test
	@echo "make check: all tests passed"

# What CI runs (.ci/run): check, then the same suites under ASan+UBSan and
# valgrind, and every fuzz target.
check-full: check
	$(MAKE) sanitize
	$(MAKE) valgrind
	$(MAKE) fuzz FUZZ_SECONDS=$(CHECK_FUZZ_SECONDS)
	@echo "make check-full: all tests passed"

demo: deps
	$(MAKE) all
	@sh scripts/demo.sh $(CURDIR)/$(BUILD)/otabundle

bench: deps all
	@sh bench/run.sh $(CURDIR)/$(BUILD)/otabundle

install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(LIBDIR) $(DESTDIR)$(INCLUDEDIR)/otabundle \
		$(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man5
	install -m 755 $(BUILD)/otabundle $(DESTDIR)$(BINDIR)/otabundle
	install -m 644 $(BUILD)/libotabundle.a $(DESTDIR)$(LIBDIR)/libotabundle.a
	install -m 755 $(BUILD)/libotabundle.so $(DESTDIR)$(LIBDIR)/libotabundle.so.0
	ln -sf libotabundle.so.0 $(DESTDIR)$(LIBDIR)/libotabundle.so
	install -m 644 include/otabundle/*.h $(DESTDIR)$(INCLUDEDIR)/otabundle/
	install -m 644 man/otabundle.1 $(DESTDIR)$(MANDIR)/man1/
	install -m 644 man/otabundle-manifest.5 man/otabundle-format.5 man/otabundle-json.5 \
		$(DESTDIR)$(MANDIR)/man5/

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/otabundle $(DESTDIR)$(LIBDIR)/libotabundle.a \
		$(DESTDIR)$(LIBDIR)/libotabundle.so $(DESTDIR)$(LIBDIR)/libotabundle.so.0 \
		$(DESTDIR)$(MANDIR)/man1/otabundle.1 $(DESTDIR)$(MANDIR)/man5/otabundle-manifest.5 \
		$(DESTDIR)$(MANDIR)/man5/otabundle-format.5 $(DESTDIR)$(MANDIR)/man5/otabundle-json.5
	rm -rf $(DESTDIR)$(INCLUDEDIR)/otabundle

clean:
	rm -rf build

# Shell completion, generated from the CLI's option tables by `otabundle
# completion bash|zsh` (t_completion.sh checks the committed scripts are
# current). Extra prerequisites of install/uninstall, kept in one block.
BASHCOMPDIR ?= $(PREFIX)/share/bash-completion/completions
ZSHCOMPDIR ?= $(PREFIX)/share/zsh/site-functions
.PHONY: install-completion uninstall-completion
install: install-completion
uninstall: uninstall-completion
install-completion:
	install -d $(DESTDIR)$(BASHCOMPDIR) $(DESTDIR)$(ZSHCOMPDIR)
	install -m 644 completion/otabundle.bash $(DESTDIR)$(BASHCOMPDIR)/otabundle
	install -m 644 completion/_otabundle $(DESTDIR)$(ZSHCOMPDIR)/_otabundle
uninstall-completion:
	rm -f $(DESTDIR)$(BASHCOMPDIR)/otabundle $(DESTDIR)$(ZSHCOMPDIR)/_otabundle
