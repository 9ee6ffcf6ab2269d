# credsync: PostgreSQL extension (PGXS) + HTTP proxy.
#
#   make            build the extension and proxy/credsync-proxy
#   make install    install the extension into the PostgreSQL that pg_config names
#   make start      install what is missing, build, start cluster + proxy under .credsync/
#   make stop       stop them
#   make test       the whole suite on throwaway clusters; ends with "N passed, N failed"
#   make stress     the long reliability run (not part of CI)
#   make bench      the side-by-side benchmarks

PG_CONFIG ?= pg_config

# The extension's control file lives in extension/, so we install it as DATA
# (with MODULEDIR = extension) instead of through PGXS's EXTENSION variable,
# which expects it at the top level.
MODULE_big = credsync
MODULEDIR  = extension
OBJS = $(patsubst %.cpp,%.o,$(sort $(wildcard extension/src/*.cpp)))
DATA = extension/credsync.control $(sort $(wildcard extension/credsync--*.sql))

REGRESS      = $(patsubst sql/%.sql,%,$(sort $(wildcard sql/*.sql)))
REGRESS_OPTS = --inputdir=. --outputdir=build/regress --load-extension=plpgsql
ISOLATION      = $(patsubst test/specs/%.spec,%,$(sort $(wildcard test/specs/*.spec)))
ISOLATION_OPTS = --inputdir=test --outputdir=build/isolation

PG_CPPFLAGS += -Iextension/src
PG_CXXFLAGS += -std=c++17 -Wall -Wextra -Werror -Wno-register -Wno-unused-parameter \
               -Wno-missing-field-initializers
SHLIB_LINK  += -lstdc++ -lcrypto
# No JIT bitcode: the extension is SPI-bound, and bitcode would need clang flags
# kept in step with g++'s.
override with_llvm = no

PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

all: proxy/credsync-proxy client

.PHONY: proxy/credsync-proxy
proxy/credsync-proxy:
	$(MAKE) -C proxy

# client/credsync and libcredsync.a (docs/client.md)
.PHONY: client
client:
	$(MAKE) -C client

clean: clean-proxy
clean-proxy:
	$(MAKE) -C proxy clean
	rm -rf build

.PHONY: deps deps-start start stop test stress bench clean-proxy
deps:
	bash scripts/install-deps.sh

# Starting needs fewer packages than testing (no nginx, clang, debhelper, ...).
deps-start:
	bash scripts/install-deps.sh start

start: deps-start
	$(MAKE) all
	bash scripts/install-extension.sh
	bash scripts/start.sh

stop:
	bash scripts/stop.sh

test: deps
	$(MAKE) all
	bash scripts/install-extension.sh
	bash test/run-all.sh

stress: deps
	$(MAKE) all
	bash scripts/install-extension.sh
	bash test/stress/run.sh

bench: deps
	$(MAKE) all
	bash scripts/install-extension.sh
	bash bench/run.sh

# Debian packages into build/deb/ (debian/, docs/install.md).
.PHONY: deb
deb:
	bash scripts/build-deb.sh
