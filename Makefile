# hsmseed: `make run` serves the appliance, `make test` runs every test.
.PHONY: all build run test bench soak fuzz deps site deb clean

all: build

deps:
	scripts/deps.sh run

site: deps
	scripts/build-site.sh

build: site
	cargo build --locked --release -p server

run: build
	scripts/run.sh

# The Debian package: target/deb/hsmseed_<version>_<arch>.deb.
deb: build
	scripts/deps.sh deb
	scripts/build-deb.sh

test:
	scripts/test.sh

bench:
	scripts/bench.sh

# kill -9 under load, again and again: nothing lost or duplicated.
soak:
	scripts/soak.sh

# The property tests (fuzz_*) with many cases.
fuzz:
	scripts/fuzz.sh

clean:
	cargo clean
