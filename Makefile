# SPDX-License-Identifier: Apache-2.0
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
, := ,

CFLAGS ?= -O2 -g
WARNFLAGS = -std=c17 -Wall -Wextra -Werror -Wformat=2 -Wno-format-nonliteral -Wstrict-prototypes -Wmissing-prototypes
# The verify side (an updater on a device) needs neither libp11, libcurl nor
# jansson; `make VERIFY_ONLY=1` builds and installs only that library.
VERIFY_ONLY ?=
VERIFY_PKGS = libarchive libcrypto yaml-0.1 libzstd
# The full library also audits and exports RAUC (squashfs) and SWUpdate
# (libconfig) bundles, and Mender artifacts (jansson for their JSON headers,
# zlib for a parallel gzip)
# (otabundle-export(5)).
LIB_PKGS = $(VERIFY_PKGS) $(if $(VERIFY_ONLY),,libp11 libcurl libsquashfs1 libconfig jansson zlib liblzma)
CLI_PKGS = $(if $(VERIFY_ONLY),,jansson)
# Hardening (a sanitizer build sets HARDEN_CFLAGS= : ASan replaces FORTIFY's checks).
HARDEN_CFLAGS ?= -D_FORTIFY_SOURCE=3 -fstack-protector-strong -fstack-clash-protection \
	$(if $(filter x86_64 i%86,$(shell uname -m)),-fcf-protection)
HARDEN_LDFLAGS ?= -Wl,-z,relro,-z,now -Wl,-z,noexecstack
ALL_CFLAGS = $(WARNFLAGS) -D_FILE_OFFSET_BITS=64 -fPIC -Iinclude -Isrc -MMD -MP $(HARDEN_CFLAGS) \
	$(shell $(PKG_CONFIG) --cflags $(LIB_PKGS) $(CLI_PKGS)) $(CFLAGS)
LIB_LIBS = $(shell $(PKG_CONFIG) --libs $(LIB_PKGS)) -lpthread
VERIFY_LIBS = $(shell $(PKG_CONFIG) --libs $(VERIFY_PKGS)) -lpthread
CLI_LIBS = $(shell $(PKG_CONFIG) --libs $(CLI_PKGS))
TEST_LIBS = $(shell $(PKG_CONFIG) --libs cmocka)

LIB_SRC = $(wildcard src/*.c)
# The audit of peer formats (RAUC, SWUpdate, Mender): the full library
# only; libotabundle-verify gets a stub that refuses them.
PEER_SRC = $(wildcard src/peer_*.c)
# The build side: writing, packing, signing, loading keys (libp11), the
# YAML emitter, the zstd compressor. Every other file of src/ is the
# verify side, which libotabundle-verify holds alone; it links with
# --no-undefined, so a verify-side call into this list fails the build.
BUILD_SIDE_SRC = src/writer.c src/pack.c src/keys.c src/pkcs11.c src/sign.c src/source.c \
	src/manifest_emit.c src/cms_sign.c src/tsa.c src/export.c $(wildcard src/export_*.c) \
	src/delta_build.c
VERIFY_SRC = $(filter-out $(BUILD_SIDE_SRC) $(PEER_SRC),$(LIB_SRC)) src/verify-only/peer_stub.c
VERIFY_OBJ = $(VERIFY_SRC:%.c=$(BUILD)/%.o)
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
MANPAGES = man/otabundle.1 man/otabundle-manifest.5 man/otabundle-format.5 man/otabundle-json.5 \
	man/otabundle-export.5

.PHONY: FORCE all verify-lib analyze deps check check-full test unit cli-test sanitize demo install uninstall clean lint-man bench fuzz valgrind examples
.DEFAULT_GOAL := all

ifeq ($(VERIFY_ONLY),)
all: $(BUILD)/otabundle $(BUILD)/libotabundle.a $(BUILD)/libotabundle.so verify-lib
else
all: verify-lib
endif
verify-lib: $(BUILD)/libotabundle-verify.a $(BUILD)/libotabundle-verify.so

# An object without its .d (never built with -MMD) is rebuilt, so a header
# change can never leave a stale object behind.
$(BUILD)/%.o: %.c $(BUILD)/%.d $(BUILD)/cflags.txt
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c $< -o $@
# The library's objects export only what OAB_API marks (export.h).
$(BUILD)/src/%.o: src/%.c $(BUILD)/src/%.d $(BUILD)/cflags.txt
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -fvisibility=hidden -c $< -o $@
# Objects are rebuilt when the compiler or its flags change.
$(BUILD)/cflags.txt: FORCE
	@mkdir -p $(BUILD)
	@echo '$(CC) $(ALL_CFLAGS)' | cmp -s - $@ || echo '$(CC) $(ALL_CFLAGS)' > $@
FORCE:
$(BUILD)/%.d: ;
.PRECIOUS: $(BUILD)/%.d
-include $(LIB_OBJ:.o=.d) $(VERIFY_OBJ:.o=.d) $(CLI_OBJ:.o=.d) $(UNIT_BIN:=.d)

$(BUILD)/libotabundle.a: $(LIB_OBJ)
	rm -f $@
	ar rcs $@ $^

# Both shared libraries: the exported oab_* names versioned OTABUNDLE_0.1
# (libotabundle.map), no undefined symbol left to the program.
SO_LDFLAGS = -shared -Wl,--version-script=libotabundle.map -Wl,--no-undefined $(HARDEN_LDFLAGS)

$(BUILD)/libotabundle.so: $(LIB_OBJ) libotabundle.map
	$(CC) $(CFLAGS) $(SO_LDFLAGS) -Wl,-soname,libotabundle.so.0 -o $@ $(LIB_OBJ) $(LIB_LIBS) $(LDFLAGS)

$(BUILD)/libotabundle-verify.a: $(VERIFY_OBJ)
	rm -f $@
	ar rcs $@ $^

$(BUILD)/libotabundle-verify.so: $(VERIFY_OBJ) libotabundle.map
	$(CC) $(CFLAGS) $(SO_LDFLAGS) -Wl,-soname,libotabundle-verify.so.0 -o $@ $(VERIFY_OBJ) \
		$(VERIFY_LIBS) $(LDFLAGS)

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

# examples/: built against the in-tree headers and the verify-only library
# (no libp11, no YAML emitter, no zstd compressor), through the public API
# only (tests/cli/t_example.sh runs them).
EXAMPLE_BIN = $(BUILD)/examples/updater
examples: $(EXAMPLE_BIN)
$(BUILD)/examples/%: examples/%.c $(BUILD)/libotabundle-verify.a $(wildcard include/otabundle/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(WARNFLAGS) $(HARDEN_CFLAGS) $(CFLAGS) -Iinclude -pie $(HARDEN_LDFLAGS) -o $@ $< \
		$(BUILD)/libotabundle-verify.a $(VERIFY_LIBS) $(LDFLAGS)

# Install missing Debian packages (apt-get; needs root or sudo).
deps:
	@sh scripts/deps.sh

unit: all $(UNIT_BIN)
	@set -e; for t in $(UNIT_BIN); do echo "== $$t"; OAB_TESTDATA=$(CURDIR)/tests/data $$t; done

cli-test: all $(TOOL_BIN) $(EXAMPLE_BIN)
	@OTABUNDLE=$(CURDIR)/$(BUILD)/otabundle OAB_TOOLS=$(CURDIR)/$(BUILD)/tests \
		sh tests/cli/run.sh

# One end-to-end script or unit test: make test T=t_sign (or T=test_trust).
test: all $(TOOL_BIN) $(UNIT_BIN) $(EXAMPLE_BIN)
	@case "$(T)" in \
	t_*) OTABUNDLE=$(CURDIR)/$(BUILD)/otabundle OAB_TOOLS=$(CURDIR)/$(BUILD)/tests \
		OAB_TESTS=$(T:t_%=%) sh tests/cli/run.sh ;; \
	test_*) OAB_TESTDATA=$(CURDIR)/tests/data $(BUILD)/tests/$(T) ;; \
	*) echo "make test T=t_NAME (tests/cli/t_NAME.sh) or T=test_NAME (tests/unit)"; exit 2 ;; \
	esac

# The same suites again, built with AddressSanitizer + UBSan.
# The suppressions cover only leaks inside the third-party pkcs11 engine.
# SAN_SUITES picks the suites (make check runs only unit).
SAN_SUITES ?= unit cli-test
sanitize:
	ASAN_OPTIONS=fast_unwind_on_malloc=0:detect_leaks=1 \
	LSAN_OPTIONS=suppressions=$(CURDIR)/tests/lsan.supp:print_suppressions=0 \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	$(MAKE) BUILD=build/asan CFLAGS="$(SANFLAGS)" HARDEN_CFLAGS= LDFLAGS="-fsanitize=address,undefined" $(SAN_SUITES)

# libFuzzer targets (clang, ASan+UBSan), each run FUZZ_SECONDS.
FUZZ_SECONDS ?= 60
CHECK_FUZZ_SECONDS ?= 30
FUZZ_CC ?= clang
FUZZ_FLAGS = -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
	-D_FILE_OFFSET_BITS=64 -Iinclude -Isrc $(shell $(PKG_CONFIG) --cflags $(LIB_PKGS))
build/fuzz/fuzz_%: tests/fuzz/fuzz_%.c $(LIB_SRC) $(HDRS)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_FLAGS) -o $@ $< $(LIB_SRC) $(LIB_LIBS)

fuzz: all build/fuzz/fuzz_manifest build/fuzz/fuzz_bundle build/fuzz/fuzz_cms build/fuzz/fuzz_delta build/fuzz/fuzz_raucm
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

# gcc's static analyzer on src/ and cli/, its findings errors (-Werror):
# a clean build of its own in build/analyze, so every file is analyzed.
analyze:
	rm -rf build/analyze
	$(MAKE) BUILD=build/analyze CFLAGS="-O2 -g -fanalyzer" build/analyze/otabundle
	@echo "make analyze: no findings"

lint-man:
	@if command -v mandoc >/dev/null; then mandoc -Tlint -Wwarning $(MANPAGES); \
	else echo "mandoc missing: man pages not linted"; fi

# The inner loop (5 minutes or less on 2 cores from a fresh clone): build,
# man pages, unit and end-to-end tests, then the unit tests (which call
# oab_build, oab_verify, oab_extract and oab_sign directly) once more under
# ASan+UBSan: the one sanitizer pass. The end-to-end tests under the
# sanitizers are in check-full.
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
check: deps
	$(MAKE) -j$(JOBS) all $(TOOL_BIN) $(UNIT_BIN)
	$(MAKE) lint-man
	$(MAKE) unit
	$(MAKE) cli-test
	$(MAKE) -j$(JOBS) sanitize SAN_SUITES=unit
	@echo "make check: all tests passed"

# What CI runs (.ci/run): check, then the same suites under ASan+UBSan and
# valgrind, every fuzz target, and the static analyzer.
check-full: check
	$(MAKE) analyze
	$(MAKE) sanitize
	$(MAKE) valgrind
	$(MAKE) fuzz FUZZ_SECONDS=$(CHECK_FUZZ_SECONDS)
	@echo "make check-full: all tests passed"

demo: deps
	$(MAKE) all
	@sh scripts/demo.sh $(CURDIR)/$(BUILD)/otabundle

bench: deps all
	@sh bench/run.sh $(CURDIR)/$(BUILD)/otabundle

# pkg-config files of what make install puts in place:
# $(call pcfile,NAME,LIBRARY,PACKAGES,DESCRIPTION) prints one.
VERSION := $(shell sed -n 's/^\#define OAB_VERSION "\(.*\)"/\1/p' include/otabundle/*.h)
define pcfile
printf '%s\n' 'prefix=$(PREFIX)' 'libdir=$(LIBDIR)' 'includedir=$(INCLUDEDIR)' '' \
	'Name: $(1)' 'Description: $(4)' 'Version: $(VERSION)' \
	'Requires.private: $(3)' 'Libs: -L$${libdir} -l$(2)' 'Libs.private: -lpthread' \
	'Cflags: -I$${includedir}'
endef

install: all
	install -d $(DESTDIR)$(LIBDIR)/pkgconfig $(DESTDIR)$(INCLUDEDIR)/otabundle
	install -m 644 $(BUILD)/libotabundle-verify.a $(DESTDIR)$(LIBDIR)/libotabundle-verify.a
	install -m 755 $(BUILD)/libotabundle-verify.so $(DESTDIR)$(LIBDIR)/libotabundle-verify.so.0
	ln -sf libotabundle-verify.so.0 $(DESTDIR)$(LIBDIR)/libotabundle-verify.so
	install -m 644 include/otabundle/export.h include/otabundle/error.h \
		include/otabundle/verify.h $(DESTDIR)$(INCLUDEDIR)/otabundle/
	$(call pcfile,otabundle-verify,otabundle-verify,$(VERIFY_PKGS),Verify and extract otabundle update bundles) \
		> $(DESTDIR)$(LIBDIR)/pkgconfig/otabundle-verify.pc
ifeq ($(VERIFY_ONLY),)
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man5
	install -m 755 $(BUILD)/otabundle $(DESTDIR)$(BINDIR)/otabundle
	install -m 644 include/otabundle/build.h include/otabundle/otabundle.h \
		$(DESTDIR)$(INCLUDEDIR)/otabundle/
	install -m 644 $(BUILD)/libotabundle.a $(DESTDIR)$(LIBDIR)/libotabundle.a
	install -m 755 $(BUILD)/libotabundle.so $(DESTDIR)$(LIBDIR)/libotabundle.so.0
	ln -sf libotabundle.so.0 $(DESTDIR)$(LIBDIR)/libotabundle.so
	$(call pcfile,otabundle,otabundle,$(LIB_PKGS),Build$(,) sign and verify otabundle update bundles) \
		> $(DESTDIR)$(LIBDIR)/pkgconfig/otabundle.pc
	install -m 644 man/otabundle.1 $(DESTDIR)$(MANDIR)/man1/
	install -m 644 man/otabundle-manifest.5 man/otabundle-format.5 man/otabundle-json.5 man/otabundle-export.5 \
		$(DESTDIR)$(MANDIR)/man5/
endif

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/otabundle $(DESTDIR)$(LIBDIR)/libotabundle.a \
		$(DESTDIR)$(LIBDIR)/libotabundle.so $(DESTDIR)$(LIBDIR)/libotabundle.so.0 \
		$(DESTDIR)$(LIBDIR)/libotabundle-verify.a $(DESTDIR)$(LIBDIR)/libotabundle-verify.so \
		$(DESTDIR)$(LIBDIR)/libotabundle-verify.so.0 \
		$(DESTDIR)$(LIBDIR)/pkgconfig/otabundle.pc $(DESTDIR)$(LIBDIR)/pkgconfig/otabundle-verify.pc \
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
ifeq ($(VERIFY_ONLY),)
install: install-completion
endif
uninstall: uninstall-completion
install-completion:
	install -d $(DESTDIR)$(BASHCOMPDIR) $(DESTDIR)$(ZSHCOMPDIR)
	install -m 644 completion/otabundle.bash $(DESTDIR)$(BASHCOMPDIR)/otabundle
	install -m 644 completion/_otabundle $(DESTDIR)$(ZSHCOMPDIR)/_otabundle
uninstall-completion:
	rm -f $(DESTDIR)$(BASHCOMPDIR)/otabundle $(DESTDIR)$(ZSHCOMPDIR)/_otabundle
