# hsmseed: `make run` serves the appliance, `make test` runs every test.
.PHONY: all build run test bench deps site clean

all: build

deps:
	scripts/deps.sh run

site: deps
	scripts/build-site.sh

build: site
	cargo build --locked --release -p server

run: build
	scripts/run.sh

test:
	scripts/test.sh

bench:
	scripts/bench.sh

clean:
	cargo clean
