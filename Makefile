# Ferry's build: gcc for the C library and its tests, Maven (with a JDK >= 22 found automatically) for Java.
#
#   make          build libferry.so, the example engine and the Java modules
#   make demo     build everything and run Ferry's main job
#   make test     C tests (plain, ASan+UBSan, TSan) and the JUnit 5 tests
#   make stress   the long stress runs (not part of make test)
#   make fuzz     libFuzzer (clang, ASan+UBSan) on the decoders callers reach, FUZZ_SECONDS each (60)
#   make bench    JMH benchmarks (bench/), writes bench/RESULTS.md;  make bench-quick: a short subset;
#                 make bench-sqlite: SQLite against sqlite-jdbc (bench/SQLITE.md)

SHELL := /bin/bash
.SUFFIXES:
.DELETE_ON_ERROR:

BUILD     := build
NATIVE    := native
ifeq ($(origin CC),default)
CC        := gcc
endif
ARCH_DIR  := linux-x86_64
CSTD      := -std=c11 -D_GNU_SOURCE
WARN      := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wno-unused-parameter
CFLAGS_LIB := $(CSTD) -O2 -g -fPIC -fvisibility=hidden $(WARN) -I$(NATIVE)/include
LDFLAGS_LIB := -shared -Wl,-soname,libferry.so -Wl,-z,defs -Wl,--version-script=$(NATIVE)/ferry.map -lffi -lpthread -ldl

LIB_SRCS  := $(wildcard $(NATIVE)/src/*.c)
LIB_HDRS  := $(wildcard $(NATIVE)/include/*.h $(NATIVE)/src/*.h)
LIB       := $(BUILD)/native/libferry.so
EXAMPLE   := $(BUILD)/native/libferry_example.so
SQLITE_LIB := $(BUILD)/native/libferry_sqlite.so
SQLITE_SRCS := $(wildcard $(NATIVE)/sqlite/*.c)
SQLITE_HDRS := $(wildcard $(NATIVE)/sqlite/*.h)
# The test and benchmark ops (noop, add, ..., order, spin): a plug-in of their own, never in libferry.so.
TESTOPS_SRC := $(NATIVE)/testops/ferry_testops.c
TESTOPS   := $(BUILD)/native/libferry_testops.so
C_TESTS   := $(patsubst $(NATIVE)/test/%.c,%,$(wildcard $(NATIVE)/test/test_*.c))

# ---- JDK and Maven --------------------------------------------------------------------------------
# $JAVA_HOME if it is a JDK >= 22, else the newest JDK >= 22 under /usr/lib/jvm.
FERRY_JDK := $(shell \
  ok() { [ -x "$$1/bin/javac" ] && v=$$("$$1/bin/java" -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = \([0-9]*\).*/\1/p') && [ -n "$$v" ] && [ "$$v" -ge 22 ]; }; \
  if [ -n "$$JAVA_HOME" ] && ok "$$JAVA_HOME"; then echo "$$JAVA_HOME"; exit; fi; \
  for d in $$(ls -d /usr/lib/jvm/*/ 2>/dev/null | sed 's:/$$::' | sort -V -r); do ok "$$d" && { echo "$$d"; exit; }; done)
# Maven itself calls sun.misc.Unsafe, which JDK 24+ warns about on every run; silence that (JDK 23+ flag).
FERRY_JDK_FEATURE := $(shell [ -n "$(FERRY_JDK)" ] && "$(FERRY_JDK)/bin/java" -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = \([0-9]*\).*/\1/p')
MAVEN_QUIET_OPTS := $(shell [ -n "$(FERRY_JDK_FEATURE)" ] && [ "$(FERRY_JDK_FEATURE)" -ge 23 ] && echo --sun-misc-unsafe-memory-access=allow)
MVN       := JAVA_HOME=$(FERRY_JDK) MAVEN_OPTS="$(MAVEN_OPTS) $(MAVEN_QUIET_OPTS)" mvn -B -q -Dstyle.color=never
JAVA      := $(FERRY_JDK)/bin/java

.PHONY: all native java demo demo-core test fuzz check-clang c-test c-test-asan c-test-tsan java-test jcstress check-sqlite check-ffi stress bench bench-quick bench-sqlite check-jdk check-tools check-tcl clean

all: native java

check-jdk:
	@if [ -z "$(FERRY_JDK)" ]; then \
	  echo "error: Ferry needs a JDK 22 or newer. Set JAVA_HOME to one, or install one under /usr/lib/jvm" >&2; \
	  echo "       (for example: apt-get install openjdk-25-jdk-headless, or Temurin 25)." >&2; exit 1; fi
	@echo "ferry: using JDK $(FERRY_JDK)"

# Installs missing Debian packages when running as root; otherwise says what to install.
check-tools:
	@missing=""; \
	command -v $(CC) >/dev/null || missing="$$missing gcc"; \
	command -v mvn >/dev/null || missing="$$missing maven"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "ferry: installing$$missing with apt-get"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	  else echo "error: missing tools:$$missing. Install them (Debian: apt-get install$$missing)." >&2; exit 1; fi; \
	fi

# SQLite's headers and library come from Debian's libsqlite3-dev: installed here when missing and
# running as root, otherwise a message says what to install.
check-sqlite:
	@if [ ! -f /usr/include/sqlite3.h ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "ferry: installing libsqlite3-dev with apt-get"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libsqlite3-dev >/dev/null; \
	  else echo "error: Ferry's SQLite engine needs SQLite's headers: apt-get install libsqlite3-dev" >&2; exit 1; fi; \
	fi

# libffi (engine-thread downcalls, native/src/ferry_ffi.c) comes from Debian's libffi-dev: installed here
# when missing and running as root, otherwise a message says what to install.
check-ffi:
	@if ! echo '#include <ffi.h>' | $(CC) -E -x c - >/dev/null 2>&1; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "ferry: installing libffi-dev with apt-get"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libffi-dev >/dev/null; \
	  else echo "error: libferry needs libffi's headers (engine-thread downcalls): apt-get install libffi-dev" >&2; exit 1; fi; \
	fi

# Tcl 8.6 (the Java-only Tcl engine, io.ferry.tcl, loads libtcl8.6.so at run time; its tests need it):
# Debian's tcl8.6-dev, installed here when missing and running as root, otherwise a message says what
# to install.
check-tcl:
	@if [ ! -f /usr/include/tcl8.6/tcl.h ] || ! ls /usr/lib/*/libtcl8.6.so* /usr/lib/libtcl8.6.so* 2>/dev/null | grep -q .; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "ferry: installing tcl8.6-dev with apt-get"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq tcl8.6-dev >/dev/null; \
	  else echo "error: Ferry's Tcl engine (io.ferry.tcl) needs Tcl 8.6: apt-get install tcl8.6-dev" >&2; exit 1; fi; \
	fi

# ---- native -------------------------------------------------------------------------------------
native: $(LIB) $(EXAMPLE) $(SQLITE_LIB) $(TESTOPS)

$(LIB): $(LIB_SRCS) $(LIB_HDRS) $(NATIVE)/ferry.map | check-tools check-ffi
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_LIB) -o $@ $(LIB_SRCS) $(LDFLAGS_LIB)

$(EXAMPLE): $(NATIVE)/example/example_engine.c $(NATIVE)/include/ferry.h $(LIB)
	@mkdir -p $(@D)
	$(CC) $(CSTD) -O2 -g -fPIC -fvisibility=hidden $(WARN) -I$(NATIVE)/include -shared -o $@ $< \
	  -Wl,-z,defs -L$(BUILD)/native -lferry -Wl,-rpath,'$$ORIGIN'

$(TESTOPS): $(TESTOPS_SRC) $(NATIVE)/include/ferry.h $(LIB)
	@mkdir -p $(@D)
	$(CC) $(CSTD) -O2 -g -fPIC -fvisibility=hidden $(WARN) -I$(NATIVE)/include -shared -o $@ $< \
	  -Wl,-z,defs -L$(BUILD)/native -lferry -Wl,-rpath,'$$ORIGIN'

$(SQLITE_LIB): $(SQLITE_SRCS) $(SQLITE_HDRS) $(NATIVE)/include/ferry.h $(LIB) | check-sqlite
	@mkdir -p $(@D)
	$(CC) $(CSTD) -O2 -g -fPIC -fvisibility=hidden $(WARN) -I$(NATIVE)/include -I$(NATIVE)/sqlite -shared -o $@ \
	  $(SQLITE_SRCS) -Wl,-z,defs -L$(BUILD)/native -lferry -lsqlite3 -Wl,-rpath,'$$ORIGIN'

# C tests: each test_*.c is linked with the library sources (so sanitizers see all of it) and exits
# 0 (pass), 1 (fail) or 77 (skip). Variants: plain, asan (ASan+UBSan), tsan (ring tests only).
# Each variant has its own build of the test ops' plug-in, instrumented like the tests; it links against
# nothing, and its ferry_* calls bind to the test executable's copy of the library, which exports the
# public API (ferry.map's names) for that: one copy of libferry in the process, as in a JVM.
define c_variant
$(BUILD)/ctest-$(1)/%: $(NATIVE)/test/%.c $(LIB_SRCS) $(LIB_HDRS) $(SQLITE_SRCS) $(SQLITE_HDRS) $(wildcard $(NATIVE)/test/*.h) $(BUILD)/ferry.dynlist | check-tools check-sqlite check-ffi
	@mkdir -p $$(@D)
	$(CC) $(CSTD) $(2) $(WARN) -I$(NATIVE)/include -I$(NATIVE)/src -I$(NATIVE)/sqlite -I$(NATIVE)/test \
	  -DFT_TESTOPS_LIB='"$(BUILD)/ctest-$(1)/libferry_testops.so"' -o $$@ $$< \
	  $(LIB_SRCS) $(SQLITE_SRCS) -Wl,--dynamic-list=$(BUILD)/ferry.dynlist -lsqlite3 -lffi -lpthread -ldl
$(BUILD)/ctest-$(1)/libferry_testops.so: $(TESTOPS_SRC) $(NATIVE)/include/ferry.h | check-tools
	@mkdir -p $$(@D)
	$(CC) $(CSTD) $(2) -fPIC -fvisibility=hidden $(WARN) -I$(NATIVE)/include -shared -o $$@ $$<
endef
# The dynamic symbol list of the C test executables: the exported API of libferry.so, from ferry.map.
$(BUILD)/ferry.dynlist: $(NATIVE)/ferry.map
	@mkdir -p $(@D)
	{ echo '{'; sed -n 's/^ *\(ferry_[a-z0-9_]*\);.*$$/  \1;/p' $<; echo '};'; } > $@
# (flags in variables: a comma inside $(call ...) would split the argument)
PLAIN_CFLAGS := -O2 -g
ASAN_CFLAGS  := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all
TSAN_CFLAGS  := -O1 -g -fsanitize=thread
$(eval $(call c_variant,plain,$$(PLAIN_CFLAGS)))
$(eval $(call c_variant,asan,$$(ASAN_CFLAGS)))
$(eval $(call c_variant,tsan,$$(TSAN_CFLAGS)))

# test_ffi: the downcall registry's calls race producers against the engine as the ring tests do.
TSAN_TESTS := $(filter test_ring% test_ffi%,$(C_TESTS))

run_c_tests = pass=0; fail=0; skip=0; \
  for t in $(2); do \
    if $(3) $(BUILD)/ctest-$(1)/$$t; then pass=$$((pass+1)); echo "  ok   $(1) $$t"; \
    else rc=$$?; if [ $$rc = 77 ]; then skip=$$((skip+1)); echo "  skip $(1) $$t"; \
    else fail=$$((fail+1)); echo "  FAIL $(1) $$t (exit $$rc)"; fi; fi; \
  done; echo "c-tests-$(1): $$pass passed, $$fail failed, $$skip skipped"; [ $$fail = 0 ]

c-test: native $(addprefix $(BUILD)/ctest-plain/,$(C_TESTS) libferry_testops.so)
	@$(call run_c_tests,plain,$(C_TESTS),)
c-test-asan: native $(addprefix $(BUILD)/ctest-asan/,$(C_TESTS) libferry_testops.so)
	@$(call run_c_tests,asan,$(C_TESTS),ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1)
c-test-tsan: native $(addprefix $(BUILD)/ctest-tsan/,$(TSAN_TESTS) libferry_testops.so)
	@$(call run_c_tests,tsan,$(TSAN_TESTS),TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 setarch -R)

# ---- Java ---------------------------------------------------------------------------------------
java: native check-jdk check-tcl
	$(MVN) -DskipTests install

# Not quiet: Surefire's "Tests run: ..." summary is the closing line CI reads.
java-test: native check-jdk check-tcl
	JAVA_HOME=$(FERRY_JDK) MAVEN_OPTS="$(MAVEN_OPTS) $(MAVEN_QUIET_OPTS)" mvn -B -ntp -Dstyle.color=never install

# Ferry's main job: SQLite on the engine thread (make demo-core: the test ops' plug-in instead). It ends with
# the engine's statistics and writes a latency picture, build/demo/sqlite-latency.svg; make demo JFR=1 also
# records Ferry's JFR events (java/src/main/resources/io/ferry/ferry.jfc) to build/demo/sqlite-demo.jfr.
DEMO_OUT := $(BUILD)/demo
DEMO_JFR_FILE := $(DEMO_OUT)/sqlite-demo.jfr
DEMO_JFR_OPTS := -XX:StartFlightRecording:settings=default,settings=$(CURDIR)/java/src/main/resources/io/ferry/ferry.jfc,filename=$(DEMO_JFR_FILE),dumponexit=true
demo: native check-jdk
	$(MVN) -DskipTests install
	@mkdir -p $(DEMO_OUT)
	$(JAVA) --enable-native-access=ALL-UNNAMED $(if $(JFR),$(DEMO_JFR_OPTS)) -Dferry.demo.out=$(DEMO_OUT) \
	  -cp bench/target/benchmarks.jar io.ferry.demo.SqliteDemo
	@if [ -n "$(JFR)" ]; then echo "JFR recording: $(DEMO_JFR_FILE) (jfr summary / jfr print --events io.ferry.Call)"; \
	  $(FERRY_JDK)/bin/jfr summary $(DEMO_JFR_FILE) | grep -E '^ (Start|Duration|Chunks)|io\.ferry\.|Event Type|====' ; fi

demo-core: native check-jdk
	$(MVN) -DskipTests install
	$(JAVA) --enable-native-access=ALL-UNNAMED -cp bench/target/benchmarks.jar io.ferry.demo.Demo

# jcstress tests of the ring's ordering claims (java/jcstress), a short run (~2 min).
jcstress: java
	JAVA=$(JAVA) java/jcstress/run.sh

# Surefire's summary comes last: it is the closing line CI reads.
test: c-test c-test-asan c-test-tsan jcstress java-test

# The long stress runs: the JUnit stress, ring and shutdown suites at 10x the calls of make test.
stress: java
	cd java && JAVA_HOME=$(FERRY_JDK) MAVEN_OPTS="$(MAVEN_OPTS) $(MAVEN_QUIET_OPTS)" mvn -B -ntp -Dstyle.color=never \
	  surefire:test -Dtest='StressTest,RingTest,ShutdownTest' -Dferry.stress.scale=10

bench bench-quick bench-sqlite: native check-jdk
	$(MVN) -DskipTests install
	$(MAKE) -C bench $@ JAVA=$(JAVA)

# ---- fuzzing --------------------------------------------------------------------------------------
# libFuzzer harnesses (native/fuzz) on an instrumented libferry.so, SQLite and test-ops plug-ins of their own, each run
# for FUZZ_SECONDS from its seed corpus (native/fuzz/seeds/<name>; what it finds goes to build/fuzz, never
# into the tree). Crashes are written to build/fuzz/<name>/ and fail the target.
FUZZ_DIR     := $(BUILD)/fuzz
FUZZ_SECONDS ?= 60
FUZZ_CC      := clang
FUZZ_SAN     := -g -O1 -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all
FUZZ_TARGETS := sqlite call

check-clang:
	@if ! command -v $(FUZZ_CC) >/dev/null || ! echo 'int LLVMFuzzerTestOneInput(const char *d, long n) { return 0; }' | \
	  $(FUZZ_CC) -fsanitize=fuzzer -x c - -o /dev/null 2>/dev/null; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "ferry: installing clang and libFuzzer (clang, libclang-rt-dev) with apt-get"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq clang \
	      "libclang-rt-$$(clang --version 2>/dev/null | sed -n 's/.*clang version \([0-9]*\).*/\1/p' | head -1)-dev" \
	      >/dev/null 2>&1 || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq clang libclang-rt-14-dev >/dev/null; \
	  else echo "error: make fuzz needs clang with libFuzzer: apt-get install clang libclang-rt-14-dev" >&2; exit 1; fi; \
	fi

$(FUZZ_DIR)/libferry.so: $(LIB_SRCS) $(LIB_HDRS) $(NATIVE)/ferry.map | check-clang check-ffi
	@mkdir -p $(@D)
	$(FUZZ_CC) $(CSTD) $(FUZZ_SAN) -fsanitize=fuzzer-no-link -fPIC -fvisibility=hidden $(WARN) -I$(NATIVE)/include \
	  -shared -o $@ $(LIB_SRCS) -Wl,-soname,libferry.so -Wl,--version-script=$(NATIVE)/ferry.map -lffi -lpthread -ldl

$(FUZZ_DIR)/libferry_sqlite.so: $(SQLITE_SRCS) $(SQLITE_HDRS) $(NATIVE)/include/ferry.h $(FUZZ_DIR)/libferry.so | check-sqlite
	$(FUZZ_CC) $(CSTD) $(FUZZ_SAN) -fsanitize=fuzzer-no-link -fPIC -fvisibility=hidden $(WARN) -I$(NATIVE)/include \
	  -I$(NATIVE)/sqlite -shared -o $@ $(SQLITE_SRCS) -L$(FUZZ_DIR) -lferry -lsqlite3 -Wl,-rpath,'$$ORIGIN'

$(FUZZ_DIR)/libferry_testops.so: $(TESTOPS_SRC) $(NATIVE)/include/ferry.h $(FUZZ_DIR)/libferry.so
	$(FUZZ_CC) $(CSTD) $(FUZZ_SAN) -fsanitize=fuzzer-no-link -fPIC -fvisibility=hidden $(WARN) -I$(NATIVE)/include \
	  -shared -o $@ $< -L$(FUZZ_DIR) -lferry -Wl,-rpath,'$$ORIGIN'

$(FUZZ_DIR)/fuzz_%: $(NATIVE)/fuzz/fuzz_%.c $(NATIVE)/fuzz/fuzz_common.h $(NATIVE)/test/ring_client.h $(FUZZ_DIR)/libferry.so $(FUZZ_DIR)/libferry_sqlite.so $(FUZZ_DIR)/libferry_testops.so
	$(FUZZ_CC) $(CSTD) $(FUZZ_SAN) -fsanitize=fuzzer $(WARN) -I$(NATIVE)/include -I$(NATIVE)/test -o $@ $< \
	  -L$(FUZZ_DIR) -lferry -Wl,-rpath,'$$ORIGIN' -lpthread

fuzz: $(addprefix $(FUZZ_DIR)/fuzz_,$(FUZZ_TARGETS))
	@for t in $(FUZZ_TARGETS); do \
	  mkdir -p $(FUZZ_DIR)/$$t/corpus $(FUZZ_DIR)/$$t/work; rm -f $(FUZZ_DIR)/$$t/crash-* $(FUZZ_DIR)/$$t/leak-* $(FUZZ_DIR)/$$t/timeout-*; \
	  echo "fuzz: $$t for $(FUZZ_SECONDS) s"; \
	  ( cd $(FUZZ_DIR)/$$t/work && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
	    ../../fuzz_$$t -max_total_time=$(FUZZ_SECONDS) -timeout=20 -rss_limit_mb=4096 -print_final_stats=1 \
	    -artifact_prefix=../ ../corpus $(CURDIR)/$(NATIVE)/fuzz/seeds/$$t 2>&1 | \
	    grep -E '^(#[0-9]+ *DONE|stat::number_of_executed_units|stat::new_units_added|==[0-9]+==ERROR|SUMMARY)' ); \
	  found=$$(find $(FUZZ_DIR)/$$t -maxdepth 1 \( -name 'crash-*' -o -name 'leak-*' -o -name 'timeout-*' \) | head -3); \
	  if [ -n "$$found" ]; then echo "fuzz: $$t FOUND a failing input: $$found (replay: $(FUZZ_DIR)/fuzz_$$t FILE)" >&2; exit 1; fi; \
	  echo "fuzz: $$t: no failure"; \
	done

clean:
	rm -rf $(BUILD)
	-$(MVN) clean
