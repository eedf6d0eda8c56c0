# pg_ivmx — build, install and test entry points.
#
#   make            build pg_ivmx.so with PGXS (needs postgresql-server-dev-15)
#   make install    install the library, control file and SQL scripts
#   make installcheck  run the pg_regress suite against the running server named
#                   by PGHOST/PGPORT/PGUSER (it must preload pg_ivmx; make install first)
#   make test       as root on Debian 12: install packages, build, install, run every suite
#   make demo       as root on Debian 12: install packages, build, install, show IMMVs under load
#   make unit       build and run the PostgreSQL-free core's GoogleTest suite
#   make lint       check that the C++ code is formatted as .clang-format says

PG_CONFIG ?= /usr/lib/postgresql/15/bin/pg_config

CORE_SRCS := $(sort $(wildcard src/*.cpp))
EXT_SRCS  := $(sort $(wildcard extension/*.cpp scheduler/*.cpp))

ifneq ($(wildcard $(PG_CONFIG)),)
MODULE_big = pg_ivmx
OBJS = $(CORE_SRCS:.cpp=.o) $(EXT_SRCS:.cpp=.o)
MODULEDIR = extension
DATA = sql/pg_ivmx.control $(sort $(wildcard sql/pg_ivmx--*.sql))
SERVER_INCLUDE := $(shell $(PG_CONFIG) --includedir-server)
PG_CPPFLAGS = -Iinclude
PG_CXXFLAGS = -std=c++17 -Wall -Wextra -Wno-unused-parameter -Wno-missing-field-initializers \
              -fvisibility-inlines-hidden
SHLIB_LINK = -lstdc++
# The extension is C++; JIT inlining of it is not wanted (clang-14 would need
# its own C++17 flags for the bitcode step and gains nothing here).
override with_llvm = no
# installcheck is ours (below): the suite needs pg_ivmx preloaded, which
# PGXS's pg_regress rule cannot check.
NO_INSTALLCHECK = 1
PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)
# Server headers come in with -isystem so that their warnings do not drown ours.
override CPPFLAGS := $(patsubst -I$(SERVER_INCLUDE),-isystem $(SERVER_INCLUDE),$(CPPFLAGS))
# Core objects must never see the server headers.
src/%.o: override CPPFLAGS := -Iinclude
# C++ objects record the headers they include, so that a header change
# rebuilds every object depending on it.
%.o: %.cpp
	$(CXX) $(CXXFLAGS) $(CPPFLAGS) -MMD -MP -c -o $@ $<
-include $(OBJS:.o=.d)
EXTRA_CLEAN = $(OBJS:.o=.d)
# The regress suite against an installed and running server (libpq's
# environment picks it), as PGXS's installcheck does; test/run_regress.sh
# checks first that the server preloads pg_ivmx and can run the suite.
installcheck:
	PG_CONFIG=$(PG_CONFIG) bash test/run_regress.sh --installcheck
else
all installcheck:
	@echo "PostgreSQL 15 server headers not found ($(PG_CONFIG)); run 'make setup' as root first" >&2; exit 1
endif

.PHONY: setup unit lint test demo bench installcheck

setup:
	bash mk/setup.sh

lint:
	bash test/lint.sh

unit:
	cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
	cmake --build build -j2
	cd build && ctest --output-on-failure

test: setup
	$(MAKE) all
	$(MAKE) install
	bash test/run_all.sh

demo: setup
	$(MAKE) all
	$(MAKE) install
	bash mk/demo.sh

bench: setup
	$(MAKE) all
	$(MAKE) install
	bash bench/run $(BENCH_ARGS)
