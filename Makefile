# udpkit: one GNU Makefile. `make` builds build/udpkit; `make check` runs
# every test; `make demo`, `make bench`, `make install`, `make deps`.
# Sources are found by wildcard: lib/*.c is the core, cmd/<name>/main.c is
# the front-end of `udpkit <name>`, tests/unit/test_*.c are unit tests,
# tests/fuzz/fuzz_*.c are libFuzzer targets.

PREFIX ?= /usr/local
DESTDIR ?=
CC ?= cc
CLANG ?= clang
PYTHON ?= python3
BUILD ?= build

WARN := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wformat=2
# -MMD -MP: the compiler writes each object's header dependencies (.d files,
# included at the end), so editing a header rebuilds exactly what uses it.
# Where the message catalogues are installed (udpkit/i18n.h).
LOCALEDIR ?= $(PREFIX)/share/locale
# The catalogues: po/LANG.po compiled to $(BUILD)/locale (see translations).
LINGUAS := $(patsubst po/%.po,%,$(wildcard po/*.po))
MO_FILES := $(patsubst %,$(BUILD)/locale/%/LC_MESSAGES/udpkit.mo,$(LINGUAS))
BASE_CFLAGS := -std=c11 -D_GNU_SOURCE -Iinclude -Icmd -I$(BUILD)/gen $(WARN) -MMD -MP
# Only the file that binds the catalogue needs it (every build variant).
%/cmd/i18n.o: CPPFLAGS += -DUK_LOCALEDIR='"$(LOCALEDIR)"'
CFLAGS ?= -O2 -g
NCURSES_CFLAGS := $(shell pkg-config --cflags ncursesw 2>/dev/null)
NCURSES_LIBS := $(shell pkg-config --libs ncursesw 2>/dev/null || echo -lncursesw)
# OpenSSL's libcrypto (SHA-256, lib/sha256.c) and libsystemd (lib/activate.c)
# are loaded with dlopen when first needed, not linked: linked, they made
# every process about 2.8 MB larger in resident memory (bench/README.md).
LDLIBS := -lm -pthread -luring $(NCURSES_LIBS) -lreadline -lsodium

LIB_SRC := $(sort $(wildcard lib/*.c))
CMD_DIRS := $(sort $(patsubst cmd/%/main.c,%,$(wildcard cmd/*/main.c)))
CMD_SRC := $(wildcard cmd/*.c) $(foreach c,$(CMD_DIRS),$(wildcard cmd/$(c)/*.c))
UNIT_SRC := $(sort $(wildcard tests/unit/test_*.c))
FUZZ_SRC := $(sort $(wildcard tests/fuzz/fuzz_*.c))
MANS := $(sort $(wildcard cmd/*/udpkit-*.1)) man/udpkit.1
# Translated pages: man/LANG/NAME.1, installed as share/man/LANG/man1/NAME.1.
MANS_L10N := $(sort $(wildcard man/*_*/*.1))
# Each command's option table is data, cmd/<name>/options.tsv; cmd/options.awk
# makes it the C array that cmd/<name>/main.c includes.
OPTION_HDRS := $(patsubst cmd/%/options.tsv,$(BUILD)/gen/%_options.h,$(wildcard cmd/*/options.tsv))
HDRS := $(wildcard include/udpkit/*.h) $(wildcard cmd/*/*.h) $(BUILD)/gen/commands.h $(OPTION_HDRS)

# The shipped binary is hardened: checked string and memory calls
# (_FORTIFY_SOURCE=3: gcc 12 and clang 14 both have the dynamic object sizes
# it needs), stack canaries, stack clash probes, CET (endbr64 and shadow
# stack marks), a position-independent executable, and a GOT made read-only
# after relocation, all at load (relro + now). tests/hardening.py checks the
# built binary with readelf. -U first: a distribution's own
# _FORTIFY_SOURCE (dpkg-buildflags gives 2) would clash with ours.
HARDEN_CFLAGS := -U_FORTIFY_SOURCE -D_FORTIFY_SOURCE=3 -fstack-protector-strong \
	-fstack-clash-protection -fcf-protection=full -fPIE
HARDEN_LDFLAGS := -pie -Wl,-z,relro,-z,now -Wl,-z,noexecstack

# The sanitizer builds use clang: its UBSan has checks gcc's lacks, among
# them pointer-overflow, which found lib/guard.c forming p + (len - n)
# before checking len < n. Besides ASan and the undefined group: implicit
# integer conversions that change a value, bounds of local arrays, nullability
# and float division by zero. Not unsigned-integer-overflow: hashes, random
# number generators and sequence arithmetic wrap on purpose.
SAN_CC := $(CLANG)
SAN_FLAGS := -fsanitize=address,undefined,implicit-conversion,local-bounds,nullability,float-divide-by-zero \
	-fno-sanitize-recover=all
# How the sanitizer builds run in the tests: any report stops the program.
SAN_ENV := ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1

# Variant builds: plain (hardened), ASan+UBSan (clang), TSan.
define variant
$(1)_DIR := $(BUILD)/$(2)
$(1)_OBJ := $$(patsubst %.c,$(BUILD)/$(2)/%.o,$$(LIB_SRC) $$(CMD_SRC))
$(1)_LIBOBJ := $$(patsubst %.c,$(BUILD)/$(2)/%.o,$$(LIB_SRC))
$(BUILD)/$(2)/%.o: %.c $$(HDRS)
	@mkdir -p $$(dir $$@)
	$(4) $$(BASE_CFLAGS) $$(CPPFLAGS) $$(NCURSES_CFLAGS) $(3) -c $$< -o $$@
endef
$(eval $(call variant,PLAIN,obj,$$(CFLAGS) $$(HARDEN_CFLAGS),$$(CC)))
$(eval $(call variant,ASAN,asan,-O1 -g $$(SAN_FLAGS) -fno-omit-frame-pointer,$$(SAN_CC)))
$(eval $(call variant,TSAN,tsan,-O1 -g -fsanitize=thread,$$(CC)))

.PHONY: pot po-check locales all check demo bench install uninstall deps deps-check clean unit unit-asan \
	deb deb-check integration integration-asan integration-tsan coverage fuzz fuzz-build fuzz-long \
	lint-man man-render lint-sh lint-format lint-tidy lint-cppcheck lint-scan format help-sync deps-build \
	clang-build tsan-build asan-build gcc-werror check-beside

# Shell completions, written by the program from its option tables (the
# same tables --help prints), so they cannot drift from the options.
COMPLETIONS := $(BUILD)/completion/udpkit.bash $(BUILD)/completion/_udpkit
all: $(BUILD)/udpkit $(COMPLETIONS) $(MO_FILES)
$(BUILD)/completion/udpkit.bash: $(BUILD)/udpkit
	@mkdir -p $(dir $@)
	$(BUILD)/udpkit --completion bash > $@
$(BUILD)/completion/_udpkit: $(BUILD)/udpkit
	@mkdir -p $(dir $@)
	$(BUILD)/udpkit --completion zsh > $@

# Regenerated on every run, replaced only when the command list changed, so
# a command that appears or disappears (e.g. on a branch switch) is seen.
# The temporary file is this shell's own: make check runs several makes at
# once, each regenerating this header.
$(BUILD)/gen/commands.h: FORCE
	@mkdir -p $(dir $@)
	@t=$@.tmp.$$$$; { echo '/* generated by the Makefile from cmd/<name>/main.c */'; \
	   for c in $(CMD_DIRS); do echo "UK_COMMAND($$c)"; done; } > $$t; \
	if cmp -s $$t $@; then rm -f $$t; else mv $$t $@; fi
FORCE:

$(BUILD)/gen/%_options.h: cmd/%/options.tsv cmd/options.awk
	@mkdir -p $(dir $@)
	awk -f cmd/options.awk $< > $@.tmp.$$$$ && mv $@.tmp.$$$$ $@

# ---- translations (gettext; docs/i18n.md) ----------------------------------
# po/udpkit.pot is the template `make pot` regenerates from the sources and
# the generated option tables (their help texts are N_() literals); each
# po/LANG.po is compiled to $(BUILD)/locale/LANG/LC_MESSAGES/udpkit.mo, the
# layout of LOCALEDIR, so tests point UDPKIT_LOCALEDIR at $(BUILD)/locale.
XGETTEXT_FLAGS := --language=C --from-code=UTF-8 --keyword=_ --keyword=N_ \
	--keyword=uk_cli_plural:2,3 --add-comments=TRANSLATORS: --package-name=udpkit \
	--package-version=$(shell sed -n 's/^\#define UK_VERSION "\(.*\)"/\1/p' cmd/cli.h) \
	--msgid-bugs-address=udpkit@lists.debian.net --sort-by-file --add-location=file
POT_SRC = $(LIB_SRC) $(CMD_SRC) $(OPTION_HDRS)
$(BUILD)/locale/%/LC_MESSAGES/udpkit.mo: po/%.po
	@mkdir -p $(dir $@)
	msgfmt --check -o $@ $<
pot: $(OPTION_HDRS)
	xgettext $(XGETTEXT_FLAGS) -o po/udpkit.pot $(POT_SRC)
	@sed -i 's|$(BUILD)/gen/|build/gen/|' po/udpkit.pot
# The catalogues are complete and current: every message of the sources is
# in each .po (msgcmp against a fresh template), none untranslated or
# fuzzy, formats checked (msgfmt --check): tests/po_check.py.
po-check: $(OPTION_HDRS)
	@$(PYTHON) tests/po_check.py --xgettext "xgettext $(XGETTEXT_FLAGS)" $(POT_SRC) -- $(wildcard po/*.po)
# A zh_CN.UTF-8 locale of our own (localedef into $(BUILD)/locales, used
# with LOCPATH), so the tests in Chinese need no change to the system.
LOCALES_DIR := $(BUILD)/locales
$(LOCALES_DIR)/zh_CN.UTF-8/LC_CTYPE:
	@mkdir -p $(LOCALES_DIR)
	localedef -i zh_CN -f UTF-8 $(LOCALES_DIR)/zh_CN.UTF-8 || [ -f $@ ]
# de_DE: a locale whose decimal separator is a comma, for the test that
# figures and JSON stay in "C" whatever the locale.
$(LOCALES_DIR)/de_DE.UTF-8/LC_CTYPE:
	@mkdir -p $(LOCALES_DIR)
	localedef -i de_DE -f UTF-8 $(LOCALES_DIR)/de_DE.UTF-8 || [ -f $@ ]
locales: $(LOCALES_DIR)/zh_CN.UTF-8/LC_CTYPE $(LOCALES_DIR)/de_DE.UTF-8/LC_CTYPE
export UDPKIT_LOCALEDIR := $(abspath $(BUILD)/locale)
export UDPKIT_LOCPATH := $(abspath $(LOCALES_DIR))

$(BUILD)/udpkit: $(PLAIN_OBJ)
	$(CC) $(CFLAGS) $(LDFLAGS) $(HARDEN_LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/asan/udpkit: $(ASAN_OBJ)
	$(SAN_CC) $(SAN_FLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/tsan/udpkit: $(TSAN_OBJ)
	$(CC) -fsanitize=thread -o $@ $^ $(LDLIBS)

asan-build: $(BUILD)/asan/udpkit
tsan-build: $(BUILD)/tsan/udpkit

# ---- unit tests (cmocka) --------------------------------------------------
UNIT_BIN := $(patsubst tests/unit/%.c,$(BUILD)/unit/%,$(UNIT_SRC))
UNIT_ASAN_BIN := $(patsubst tests/unit/%.c,$(BUILD)/unit-asan/%,$(UNIT_SRC))
$(BUILD)/unit/%: tests/unit/%.c $(PLAIN_LIBOBJ) $(HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(BASE_CFLAGS) $(CFLAGS) -Itests/lib -o $@ $< $(PLAIN_LIBOBJ) -lcmocka $(LDLIBS)
$(BUILD)/unit-asan/%: tests/unit/%.c $(ASAN_LIBOBJ) $(HDRS)
	@mkdir -p $(dir $@)
	$(SAN_CC) $(BASE_CFLAGS) -O1 -g $(SAN_FLAGS) -Itests/lib -o $@ $< $(ASAN_LIBOBJ) -lcmocka $(LDLIBS)

unit: deps-check $(UNIT_BIN)
	@$(PYTHON) tests/run_unit.py $(UNIT_BIN)
unit-asan: deps-check $(UNIT_ASAN_BIN)
	@$(PYTHON) tests/run_unit.py $(UNIT_ASAN_BIN)

# ---- integration tests (real binary, real sockets) ------------------------
# Test-only programs (tests/tools/): a history writer to kill -9, a
# driver for the chat's terminal UI under tmux, and an LD_PRELOAD shim
# whose fdatasync() fails on demand.
TOOLS := $(BUILD)/tools/hist_writer $(BUILD)/tools/tui_driver $(BUILD)/tools/fail_sync.so
# The shim is not instrumented, also beside the ASan tools: preloaded into
# the ASan binary it only has to replace fdatasync().
$(BUILD)/tools/fail_sync.so $(BUILD)/tools-asan/fail_sync.so: tests/tools/fail_sync.c
	@mkdir -p $(dir $@)
	$(CC) $(BASE_CFLAGS) -O2 -fPIC -shared -o $@ $< -ldl
$(BUILD)/tools/hist_writer: tests/tools/hist_writer.c $(PLAIN_LIBOBJ) $(HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(BASE_CFLAGS) $(CFLAGS) -o $@ $< $(PLAIN_LIBOBJ) $(LDLIBS)
$(BUILD)/tools/tui_driver: tests/tools/tui_driver.c cmd/chat/tui.c $(PLAIN_LIBOBJ) $(HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(BASE_CFLAGS) $(NCURSES_CFLAGS) $(CFLAGS) -o $@ $< cmd/chat/tui.c $(PLAIN_LIBOBJ) $(LDLIBS)
ASAN_TOOLS := $(BUILD)/tools-asan/hist_writer $(BUILD)/tools-asan/tui_driver $(BUILD)/tools-asan/fail_sync.so
$(BUILD)/tools-asan/%: $(ASAN_LIBOBJ) $(HDRS) tests/tools/%.c cmd/chat/tui.c
	@mkdir -p $(dir $@)
	$(SAN_CC) $(BASE_CFLAGS) $(NCURSES_CFLAGS) -O1 -g $(SAN_FLAGS) -o $@ tests/tools/$*.c \
		$(if $(filter tui_driver,$*),cmd/chat/tui.c) $(ASAN_LIBOBJ) $(LDLIBS)
export UDPKIT_TOOLS := $(abspath $(BUILD)/tools)

# The suite mostly waits for events (a line printed, a datagram seen), so
# its test classes run INTEGRATION_JOBS at a time; those that hold something
# shared (network labs, tmux, UDP port 2425, 5 GiB of disk) one at a time
# (tests/run_integration.py).
INTEGRATION_JOBS ?= 3
integration: deps-check $(BUILD)/udpkit $(TOOLS) $(MO_FILES) locales
	@UDPKIT_BIN=$(abspath $(BUILD)/udpkit) $(PYTHON) tests/run_integration.py --jobs $(INTEGRATION_JOBS)
integration-asan: deps-check $(BUILD)/asan/udpkit $(ASAN_TOOLS) $(MO_FILES) locales
	@UDPKIT_BIN=$(abspath $(BUILD)/asan/udpkit) UDPKIT_VARIANT=asan \
		UDPKIT_TOOLS=$(abspath $(BUILD)/tools-asan) \
		$(SAN_ENV) $(PYTHON) tests/run_integration.py --jobs $(INTEGRATION_JOBS)
# The threaded parts: the echo server's workers, and the chat's receiving
# file transfers (SHA-256 on a worker thread, lib/hashpipe.c; the chat's
# other tests run here anyway).
# The shipped -O2 binary: the hardening tests skip on the coverage build,
# so they run here on the binary that is installed and packaged.
integration-hardened: deps-check $(BUILD)/udpkit
	@UDPKIT_BIN=$(abspath $(BUILD)/udpkit) $(PYTHON) tests/run_integration.py -k test_hardening,test_chat_tui_flood,test_sparse_5gib

integration-tsan: deps-check $(BUILD)/tsan/udpkit
	@UDPKIT_BIN=$(abspath $(BUILD)/tsan/udpkit) UDPKIT_VARIANT=tsan TSAN_OPTIONS=halt_on_error=1 \
		$(PYTHON) tests/run_integration.py -k threads,test_chat.,test_chat_files.,test_chat_files_sha.

# ---- coverage (clang source-based coverage, llvm-cov) -------------------------
# One build that is both instrumented for coverage and the ASan+UBSan build
# (clang, every check of SAN_FLAGS, at -O0 so that lines map to code), in
# $(BUILD)/cov; the unit tests and the whole integration suite run on it
# (at the same time: the suite mostly waits),
# then tests/coverage.py merges the profiles (llvm-profdata), prints lines
# and branches per lib/ file (llvm-cov export), names those below the floor,
# and fails when lib/ as a whole is below COV_LINES / COV_BRANCHES. Source-based
# coverage, not gcov: gcov's branches are those of the compiled code, and
# the sanitizers' checks doubled them (52% of 23,836); llvm-cov counts the
# branches of the source (each condition true and false) whatever the
# instrumentation. Counters are updated atomically: the echo workers are
# threads. Each process writes its own profile (%p) into a directory every
# user may write to: servers started as root switch to nobody once bound
# (lib/priv.c). %m (merge mode) makes the runtime create the file when the
# process exits, not when it starts: created by root at the start, the
# file could not be written by nobody at the end, and the servers' counts
# were lost ("LLVM Profile Error: ... Permission denied"). In make check this one run is both the coverage gate and the
# sanitizer run of the suite; every test also runs on TSan for the threaded
# parts, and the hardening tests on the shipped -O2 binary.
COV := $(BUILD)/cov
COV_UNIT := $(patsubst tests/unit/%.c,$(COV)/unit-asan/%,$(UNIT_SRC))
COV_TOOLS := $(COV)/tools-asan/hist_writer $(COV)/tools-asan/tui_driver
COV_PROFILES := $(abspath $(COV))/profiles
# The profile's name is also built in: a program started with a cleared
# environment (systemd-socket-activate passes only what -E names) still
# writes there, not to default.profraw in its working directory.
COV_SAN_FLAGS := $(SAN_FLAGS) -O0 -fprofile-instr-generate=$(COV_PROFILES)/%p-%m.profraw \
	-fcoverage-mapping -fprofile-update=atomic
LLVM_PROFDATA ?= llvm-profdata
LLVM_COV ?= llvm-cov
COV_LINES ?= 90
COV_BRANCHES ?= 75
coverage: deps-check
	@rm -rf $(COV_PROFILES) && mkdir -p $(COV_PROFILES) && chmod 1777 $(COV_PROFILES)
	@$(MAKE) --no-print-directory -j2 BUILD=$(COV) SAN_FLAGS="$(COV_SAN_FLAGS)" \
		$(COV)/asan/udpkit $(COV_UNIT) $(COV_TOOLS) $(COV)/tools-asan/fail_sync.so
	@$(MAKE) --no-print-directory $(MO_FILES) locales
	@rc=0; LLVM_PROFILE_FILE=$(COV_PROFILES)/unit-%p-%m.profraw $(PYTHON) tests/run_unit.py $(COV_UNIT) \
		> $(COV)/unit.log 2>&1 & unit=$$!; \
	LLVM_PROFILE_FILE=$(COV_PROFILES)/%p-%m.profraw UDPKIT_BIN=$(abspath $(COV)/asan/udpkit) \
		UDPKIT_TOOLS=$(abspath $(COV)/tools-asan) UDPKIT_VARIANT=asan $(SAN_ENV) \
		$(PYTHON) tests/run_integration.py --jobs $(INTEGRATION_JOBS) $(INTEGRATION_ARGS) || rc=1; \
	wait $$unit || rc=1; cat $(COV)/unit.log; \
	$(PYTHON) tests/coverage.py --profiles $(COV_PROFILES) --profdata "$(LLVM_PROFDATA)" --llvm-cov "$(LLVM_COV)" \
		--lines $(COV_LINES) --branches $(COV_BRANCHES) --out $(BUILD)/coverage.txt \
		$(COV)/asan/udpkit $(COV_UNIT) $(COV_TOOLS) || rc=1; exit $$rc

# ---- fuzz targets (libFuzzer via clang) -----------------------------------
FUZZ_BIN := $(patsubst tests/fuzz/%.c,$(BUILD)/fuzz/%,$(FUZZ_SRC))
FUZZ_FLAGS := -O1 -g $(SAN_FLAGS)
FUZZ_LIBOBJ := $(patsubst %.c,$(BUILD)/fuzzobj/%.o,$(LIB_SRC))
$(BUILD)/fuzzobj/%.o: %.c $(HDRS)
	@mkdir -p $(dir $@)
	$(CLANG) $(BASE_CFLAGS) $(FUZZ_FLAGS) -fsanitize=fuzzer-no-link -c $< -o $@
# Targets that fuzz front-end code link its files too (fuzz_tui includes
# cmd/chat/tui.c itself, to reach its static layout functions).
FUZZ_EXTRA_fuzz_show := cmd/chat/show.c cmd/chat/history.c cmd/chat/room.c cmd/cli.c cmd/i18n.c
$(BUILD)/fuzz/fuzz_show: $(FUZZ_EXTRA_fuzz_show)
$(BUILD)/fuzz/fuzz_tui: cmd/chat/tui.c
$(BUILD)/fuzz/%: tests/fuzz/%.c $(FUZZ_LIBOBJ) $(HDRS)
	@mkdir -p $(dir $@)
	$(CLANG) $(BASE_CFLAGS) $(NCURSES_CFLAGS) $(FUZZ_FLAGS) -fsanitize=fuzzer -o $@ $< \
		$(FUZZ_EXTRA_$*) $(FUZZ_LIBOBJ) $(LDLIBS)
# The library objects are named here so make keeps them (not intermediate).
fuzz-build: $(FUZZ_LIBOBJ) $(FUZZ_BIN)
# Replays every seed, then fuzzes each target briefly (FUZZ_SECONDS),
# FUZZ_JOBS targets at a time.
FUZZ_SECONDS ?= 10
FUZZ_JOBS ?= 2
fuzz: deps-check $(FUZZ_BIN)
	@$(PYTHON) tests/run_fuzz.py --jobs $(FUZZ_JOBS) --seconds $(FUZZ_SECONDS) $(FUZZ_BIN)
# The campaign (docs/fuzzing.md): FUZZ_RUNS executions per target, or
# FUZZ_LONG_SECONDS where a target is slower; then each corpus is
# minimised (-merge=1) back into tests/fuzz/corpus/ for checking in, and
# the table rows go to $(BUILD)/fuzz-long.md. One core, niced: FUZZ_TARGETS
# picks some of the targets.
FUZZ_RUNS ?= 10000000
FUZZ_LONG_SECONDS ?= 3600
FUZZ_TARGETS ?= $(FUZZ_BIN)
fuzz-long: deps-check $(FUZZ_BIN)
	@nice $(PYTHON) tests/run_fuzz.py --long --runs $(FUZZ_RUNS) --seconds $(FUZZ_LONG_SECONDS) \
		--table $(BUILD)/fuzz-long.md $(FUZZ_TARGETS)

# ---- docs and static checks ----------------------------------------------
lint-man: deps-check
	@fail=0; for m in $(MANS) $(MANS_L10N); do \
		out=$$(mandoc -Tlint -W warning $$m 2>&1); \
		if [ -n "$$out" ]; then echo "$$out"; fail=1; fi; \
	done; if [ $$fail = 0 ]; then echo "man: $(words $(MANS) $(MANS_L10N)) passed, 0 failed"; else exit 1; fi; \
	if [ -n "$$UK_RESULTS" ]; then echo "man $(words $(MANS) $(MANS_L10N)) 0 0" >> "$$UK_RESULTS"; fi
SCRIPTS := $(wildcard tests/*.sh tests/lib/*.sh) .ci/run
lint-sh: deps-check
	@shellcheck $(SCRIPTS) && echo "shellcheck: $(words $(SCRIPTS)) passed, 0 failed" && \
	if [ -n "$$UK_RESULTS" ]; then echo "shellcheck $(words $(SCRIPTS)) 0 0" >> "$$UK_RESULTS"; fi
# Every C file as .clang-format says: whitespace is never a review topic.
# `make format` rewrites them.
C_FILES := $(sort $(wildcard lib/*.c include/udpkit/*.h cmd/*.c cmd/*.h cmd/*/*.c cmd/*/*.h \
	tests/unit/*.c tests/unit/*.h tests/fuzz/*.c tests/tools/*.c tests/lib/*.h bench/*.c \
	bench/probes/*.c))
lint-format:
	@bad=""; for f in $(C_FILES); do clang-format "$$f" | cmp -s - "$$f" || bad="$$bad $$f"; done; \
	if [ -n "$$bad" ]; then echo "clang-format: differs:$$bad (run make format)"; \
		[ -z "$$UK_RESULTS" ] || echo "format $(words $(C_FILES)) 1 0" >> "$$UK_RESULTS"; exit 1; fi; \
	echo "clang-format: $(words $(C_FILES)) passed, 0 failed"; \
	[ -z "$$UK_RESULTS" ] || echo "format $(words $(C_FILES)) 0 0" >> "$$UK_RESULTS"
format:
	clang-format -i $(C_FILES)
# Static analysis, zero findings (each exception names its reason in
# .clang-tidy or .cppcheck-suppressions). clang-tidy: the bug-prone, CERT
# and performance groups over lib/, cmd/ and the fuzz targets, two files at
# a time (the analyzer's security group: lint-scan).
TIDY_SRC := $(LIB_SRC) $(CMD_SRC) $(FUZZ_SRC)
lint-tidy: $(BUILD)/gen/commands.h $(OPTION_HDRS)
	@mkdir -p $(BUILD)/tidy; rm -f $(BUILD)/tidy/*.txt; \
	printf '%s\n' $(TIDY_SRC) | xargs -P2 -I{} sh -c 'clang-tidy --quiet {} -- \
		$(BASE_CFLAGS) $(NCURSES_CFLAGS) > $(BUILD)/tidy/$$(echo {} | tr / _).txt 2>&1 || \
		echo FAIL >> $(BUILD)/tidy/$$(echo {} | tr / _).txt'; \
	bad=$$(grep -l -E "FAIL|error:|warning:" $(BUILD)/tidy/*.txt | wc -l); \
	grep -h -E "error:|warning:" $(BUILD)/tidy/*.txt; \
	echo "clang-tidy: $$(( $(words $(TIDY_SRC)) - bad )) passed, $$bad failed"; \
	[ -z "$$UK_RESULTS" ] || echo "clang-tidy $$(( $(words $(TIDY_SRC)) - bad )) $$bad 0" >> "$$UK_RESULTS"; \
	[ $$bad = 0 ]
CPPCHECK_DIRS := lib cmd tests/unit tests/fuzz tests/tools
lint-cppcheck: $(BUILD)/gen/commands.h $(OPTION_HDRS)
	@if cppcheck -j2 --quiet --enable=warning,style,performance,portability --std=c11 \
		-D_GNU_SOURCE -Iinclude -Icmd -I$(BUILD)/gen --inline-suppr \
		--suppressions-list=.cppcheck-suppressions --error-exitcode=1 \
		--template='{file}:{line}: {severity} [{id}] {message}' $(CPPCHECK_DIRS); then \
		echo "cppcheck: 1 passed, 0 failed"; \
		[ -z "$$UK_RESULTS" ] || echo "cppcheck 1 0 0" >> "$$UK_RESULTS"; \
	else echo "cppcheck: 0 passed, 1 failed"; \
		[ -z "$$UK_RESULTS" ] || echo "cppcheck 0 1 0" >> "$$UK_RESULTS"; exit 1; fi
# The clang static analyzer over a clang build of udpkit, the test tools
# and the fuzz targets' own sources (its own build directory); any report
# fails. Its default checkers, and the security checks that are off by
# default (each security.* checker but DeprecatedOrUnsafeBufferHandling:
# see .clang-tidy, which left them to this one run of the analyzer).
SCAN_CHECKERS := security.FloatLoopCounter security.insecureAPI.bcmp security.insecureAPI.bcopy \
	security.insecureAPI.bzero security.insecureAPI.rand security.insecureAPI.strcpy
# The fuzz targets' sources compiled only (lint-scan analyses them).
$(BUILD)/fuzzsrc/%.o: tests/fuzz/%.c $(HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(BASE_CFLAGS) $(NCURSES_CFLAGS) $(CFLAGS) -c $< -o $@
lint-scan:
	@rm -rf $(BUILD)/scan; \
	if scan-build --status-bugs -o $(BUILD)/scan/report --use-cc=$(CLANG) \
		$(foreach c,$(SCAN_CHECKERS),-enable-checker $(c)) \
		$(MAKE) --no-print-directory -j2 BUILD=$(BUILD)/scan CC=$(CLANG) CFLAGS="-O0 -g" \
		$(BUILD)/scan/udpkit $(BUILD)/scan/tools/hist_writer $(BUILD)/scan/tools/tui_driver \
		$(patsubst tests/fuzz/%.c,$(BUILD)/scan/fuzzsrc/%.o,$(FUZZ_SRC)) \
		> $(BUILD)/scan.log 2>&1; then \
		echo "scan-build: 1 passed, 0 failed"; \
		[ -z "$$UK_RESULTS" ] || echo "scan-build 1 0 0" >> "$$UK_RESULTS"; \
	else grep -E "warning:|error:|bugs? found" $(BUILD)/scan.log; \
		echo "scan-build: 0 passed, 1 failed (reports: $(BUILD)/scan/report)"; \
		[ -z "$$UK_RESULTS" ] || echo "scan-build 0 1 0" >> "$$UK_RESULTS"; exit 1; fi
# Every page rendered by mandoc and by man-db's groff: warnings, dropped
# words, broken quotes and missing docs fail (tests/man_check.py).
man-render: deps-check
	@$(PYTHON) tests/man_check.py $(MANS) $(MANS_L10N)
help-sync: $(BUILD)/udpkit
	@$(PYTHON) tests/help_sync.py $(BUILD)/udpkit $(MANS)
# Both compilers, warnings as errors: the code is warning-free under each,
# the unit tests included.
UNIT_NAMES := $(patsubst tests/unit/%.c,%,$(UNIT_SRC))
clang-build:
	@$(MAKE) --no-print-directory BUILD=$(BUILD)/clang CC=$(CLANG) CFLAGS="-O2 -Werror" $(BUILD)/clang/udpkit \
		$(addprefix $(BUILD)/clang/unit/,$(UNIT_NAMES))
gcc-werror:
	@$(MAKE) --no-print-directory BUILD=$(BUILD)/gcc CC=gcc CFLAGS="-O2 -Werror" $(BUILD)/gcc/udpkit \
		$(addprefix $(BUILD)/gcc/unit/,$(UNIT_NAMES))

# Every runner appends its counts to $(UK_RESULTS); the last line sums them.
# Each step's wall and CPU time go to $(CHECK_TIMES), printed at the end
# (docs/unit-tests.md: "make check: what it runs and how long each step
# takes"). Lanes run at once, each in the background with its output in
# $(BUILD)/check-LANE.log, shown at the end:
# - from the start, the two static analysers that take longest (scan-build,
#   in a build directory of its own; clang-tidy), niced by
#   CHECK_BESIDE_NICE so that the suites' programs come first;
# - in front, the -Werror builds of both compilers, the shipped -O2, TSan
#   and fuzz builds; then, beside what follows, the hardened part of the
#   suite (the shipped binary; the 5 GiB transfer is most of it), the rest
#   of the CPU-bound steps (cppcheck, the package, the unit tests on -O2),
#   and fuzzing (a fixed time per target, so niced to 19: it takes only
#   what the others leave); the quick checks; then the suites on the
#   sanitizer+coverage build (make coverage: unit tests, and the
#   integration suite in INTEGRATION_JOBS workers), then the TSan part.
# The suites are made to pass with both cores busy (docs/unit-tests.md).
CHECK_TIMES := $(abspath $(BUILD))/check-times.txt
CHECK_BESIDE_NICE ?= 3
TIMED := $(PYTHON) tests/timed.py $(CHECK_TIMES) --
CHECK_LANES := scan tidy hardened beside fuzz
check: export UK_RESULTS = $(abspath $(BUILD))/check-results.txt
check: deps
	@mkdir -p $(BUILD) && rm -f $(UK_RESULTS) $(BUILD)/check-*.log && $(PYTHON) tests/timed.py --begin $(CHECK_TIMES)
	@rc=0; pids=""; \
	for lane in scan tidy; do \
		nice -n $(CHECK_BESIDE_NICE) $(TIMED) $(MAKE) --no-print-directory lint-$$lane \
			> $(BUILD)/check-$$lane.log 2>&1 & pids="$$pids $$!"; \
	done; \
	$(TIMED) $(MAKE) --no-print-directory -j2 gcc-werror clang-build && \
	$(TIMED) $(MAKE) --no-print-directory -j2 all tsan-build fuzz-build locales || \
		{ for pid in $$pids; do wait $$pid; done; cat $(BUILD)/check-*.log; exit 1; }; \
	$(TIMED) $(MAKE) --no-print-directory integration-hardened > $(BUILD)/check-hardened.log 2>&1 & \
	pids="$$pids $$!"; \
	nice -n $(CHECK_BESIDE_NICE) $(MAKE) --no-print-directory check-beside > $(BUILD)/check-beside.log 2>&1 & \
	pids="$$pids $$!"; \
	nice -n 19 $(TIMED) $(MAKE) --no-print-directory fuzz > $(BUILD)/check-fuzz.log 2>&1 & \
	pids="$$pids $$!"; \
	$(TIMED) $(MAKE) --no-print-directory lint-format lint-man man-render lint-sh help-sync po-check || rc=1; \
	$(TIMED) $(MAKE) --no-print-directory coverage || rc=1; \
	$(TIMED) $(MAKE) --no-print-directory integration-tsan || rc=1; \
	set -- $$pids; for lane in $(CHECK_LANES); do \
		if wait $$1; then echo "beside the suite, $$lane ($(BUILD)/check-$$lane.log):"; \
			grep -E '^[a-z-]+: [0-9]+ passed' $(BUILD)/check-$$lane.log; \
		else rc=1; echo "beside the suite, $$lane, FAILED:"; cat $(BUILD)/check-$$lane.log; fi; \
		shift; \
	done; \
	$(PYTHON) tests/timed.py --table $(CHECK_TIMES); $(PYTHON) tests/total.py $(UK_RESULTS) || rc=1; exit $$rc

# The CPU-bound steps that need the builds, one after the other.
check-beside:
	@$(TIMED) $(MAKE) --no-print-directory lint-cppcheck
	@$(TIMED) $(MAKE) --no-print-directory deb-check
	@$(TIMED) $(MAKE) --no-print-directory unit

# The demo needs what it runs: a compiler, make and the libraries udpkit
# links (deps-build), not the test suite's peers (iptux, Xvfb, ...).
demo: deps-build $(BUILD)/udpkit
	@sh tests/demo.sh $(BUILD)/udpkit

# Small C benchmarks beside bench/run.py (bench/*.c), linked to the library.
BENCH_BIN := $(patsubst bench/%.c,$(BUILD)/bench/%,$(wildcard bench/*.c))
$(BUILD)/bench/%: bench/%.c $(PLAIN_LIBOBJ) $(HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(BASE_CFLAGS) $(CFLAGS) -o $@ $< $(PLAIN_LIBOBJ) $(LDLIBS)

# The limit probes: minimal echo loops, the ceiling of each I/O design
# (recvmmsg/sendmmsg, io_uring), against which udpkit echo is measured.
PROBE_BIN := $(patsubst bench/probes/%.c,$(BUILD)/bench/%,$(wildcard bench/probes/*.c))
$(BUILD)/bench/probe_%: bench/probes/probe_%.c
	@mkdir -p $(dir $@)
	$(CC) -std=c11 -O2 $(WARN) -o $@ $< -luring

bench: deps $(BUILD)/udpkit $(BENCH_BIN) $(PROBE_BIN)
	@$(PYTHON) bench/run.py --udpkit $(BUILD)/udpkit --probes $(BUILD)/bench --out bench/README.md
	@$(BUILD)/bench/room_cost
	@$(PYTHON) bench/room.py --udpkit $(BUILD)/udpkit
	@$(PYTHON) bench/history.py --udpkit $(BUILD)/udpkit
	@$(PYTHON) bench/files.py --udpkit $(BUILD)/udpkit
	@$(PYTHON) bench/files.py --udpkit $(BUILD)/udpkit --cases file,nohash --socat-block 1048576

# ---- dependencies ------------------------------------------------------------
# Debian 12 packages the build and the tests need. `make deps` installs the
# missing ones with apt-get as root, and otherwise prints the command;
# `make deps-build` only those that building udpkit needs (make demo).
BUILD_PACKAGES := gcc make gettext pkg-config libncurses-dev libreadline-dev libsystemd-dev libsodium-dev libssl-dev liburing-dev
DEB_PACKAGES := $(BUILD_PACKAGES) clang clang-format libclang-rt-14-dev libcmocka-dev debhelper lintian fakeroot busybox-static man-db systemd python3 mandoc shellcheck iproute2 procps sockperf socat tmux iptux xvfb xauth \
	xdotool xclip dbus-x11 dbus libglib2.0-bin locales libc-l10n \
	clang-tidy clang-tools llvm cppcheck netcat-openbsd python3-jsonschema groff-base zsh jq nftables
deps-build: PACKAGES = $(BUILD_PACKAGES)
deps: PACKAGES = $(DEB_PACKAGES)
deps deps-build:
	@missing=""; for p in $(PACKAGES); do \
		dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ]; then \
		echo "make deps: installing$$missing"; \
		apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q $$missing; \
	else \
		echo "make deps: missing Debian packages. Run:"; \
		echo "  sudo apt-get install -y$$missing"; exit 1; \
	fi
deps-check:
	@command -v mandoc >/dev/null && command -v shellcheck >/dev/null && [ -f /usr/include/cmocka.h ] && [ -f /usr/include/sodium.h ] && [ -f /usr/include/openssl/evp.h ] && [ -f /usr/include/liburing.h ] || \
		{ echo "missing packages: run 'make deps' first"; exit 1; }

# systemd units: socket-activated echo (UDP 7) and listen (UDP 8086)
# services; Debian's package puts them in /lib/systemd/system.
SYSTEMD_UNITDIR ?= $(PREFIX)/lib/systemd/system
UNITS := $(sort $(wildcard systemd/*.socket systemd/*.service))
# The man pages name documents as docs/NAME; installed, that is DOCDIR/NAME.
DOCDIR ?= $(PREFIX)/share/doc/udpkit
BASH_COMPDIR ?= $(PREFIX)/share/bash-completion/completions
ZSH_COMPDIR ?= $(PREFIX)/share/zsh/site-functions
DOCS := $(sort $(wildcard docs/*.md))
SCHEMAS := $(sort $(wildcard docs/schema/*.json))
install: $(BUILD)/udpkit $(COMPLETIONS) $(MO_FILES)
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/man/man1 $(DESTDIR)$(SYSTEMD_UNITDIR) \
		$(DESTDIR)$(DOCDIR)/schema $(DESTDIR)$(BASH_COMPDIR) $(DESTDIR)$(ZSH_COMPDIR)
	install -m 0755 $(BUILD)/udpkit $(DESTDIR)$(PREFIX)/bin/udpkit
	for m in $(MANS); do \
		sed 's|^\.Pa docs/|.Pa $(DOCDIR)/|' $$m > $(DESTDIR)$(PREFIX)/share/man/man1/$$(basename $$m) && \
		chmod 0644 $(DESTDIR)$(PREFIX)/share/man/man1/$$(basename $$m) || exit 1; \
	done
	install -m 0644 $(UNITS) $(DESTDIR)$(SYSTEMD_UNITDIR)/
	install -m 0644 $(DOCS) $(DESTDIR)$(DOCDIR)/
	install -m 0644 $(SCHEMAS) $(DESTDIR)$(DOCDIR)/schema/
	install -m 0644 $(BUILD)/completion/udpkit.bash $(DESTDIR)$(BASH_COMPDIR)/udpkit
	install -m 0644 $(BUILD)/completion/_udpkit $(DESTDIR)$(ZSH_COMPDIR)/_udpkit
	for m in $(MANS_L10N); do \
		d=$(DESTDIR)$(PREFIX)/share/man/$$(basename $$(dirname $$m))/man1; \
		install -d $$d && sed 's|^\.Pa docs/|.Pa $(DOCDIR)/|' $$m > $$d/$$(basename $$m) && \
		chmod 0644 $$d/$$(basename $$m) || exit 1; \
	done
	for l in $(LINGUAS); do \
		install -D -m 0644 $(BUILD)/locale/$$l/LC_MESSAGES/udpkit.mo \
			$(DESTDIR)$(LOCALEDIR)/$$l/LC_MESSAGES/udpkit.mo || exit 1; \
	done
uninstall:
	rm -f $(DESTDIR)$(PREFIX)/bin/udpkit $(addprefix $(DESTDIR)$(PREFIX)/share/man/man1/,$(notdir $(MANS)))
	rm -f $(addprefix $(DESTDIR)$(SYSTEMD_UNITDIR)/,$(notdir $(UNITS)))
	rm -f $(addprefix $(DESTDIR)$(DOCDIR)/,$(notdir $(DOCS))) $(addprefix $(DESTDIR)$(DOCDIR)/schema/,$(notdir $(SCHEMAS)))
	rm -f $(DESTDIR)$(BASH_COMPDIR)/udpkit $(DESTDIR)$(ZSH_COMPDIR)/_udpkit
	rm -f $(foreach l,$(LINGUAS),$(DESTDIR)$(LOCALEDIR)/$(l)/LC_MESSAGES/udpkit.mo)
	rm -f $(foreach m,$(MANS_L10N),$(DESTDIR)$(PREFIX)/share/man/$(notdir $(patsubst %/,%,$(dir $(m))))/man1/$(notdir $(m)))

# ---- Debian package ---------------------------------------------------------
# Built from a copy of the tree in $(BUILD)/deb, so the package's build
# leaves nothing in the checkout; the .deb lands in $(BUILD)/deb.
DEB_VERSION := $(shell dpkg-parsechangelog -l debian/changelog -S Version 2>/dev/null)
DEB_ARCH := $(shell dpkg --print-architecture 2>/dev/null)
DEB_FILE := $(BUILD)/deb/udpkit_$(DEB_VERSION)_$(DEB_ARCH).deb
deb: deps
	@rm -rf $(BUILD)/deb && mkdir -p $(BUILD)/deb/src
	@tar --exclude=./$(BUILD) --exclude=./.git -cf - . | tar -xf - -C $(BUILD)/deb/src
	cd $(BUILD)/deb/src && dpkg-buildpackage -us -uc -b -J2
	@echo "make deb: $(DEB_FILE)"
# lintian, a real dpkg -i and -r in a fresh root, the installed binary, man
# pages and units (systemd-analyze verify and security): tests/deb_check.py.
deb-check: deb locales
	@$(PYTHON) tests/deb_check.py $(DEB_FILE) $(MANS) $(MANS_L10N)

clean:
	rm -rf $(BUILD)

# Header dependencies written by -MMD -MP.
-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
