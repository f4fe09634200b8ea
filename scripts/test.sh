#!/usr/bin/env bash
# `make test`: installs what is missing, checks formatting and lints (server
# and WASM builds), runs the unit and integration tests, then the end-to-end
# suite in headless Chromium against the real binary, then the Debian
# package, installed on this machine and purged again.
set -euo pipefail
cd "$(dirname "$0")/.."
TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
step() { echo; echo "== $*"; }

step "dependencies"
scripts/deps.sh test

step "format"
cargo fmt --all -- --check

step "unused dependencies"
cargo machete

step "dependency licenses, bans and sources (cargo deny; advisories need the network)"
cargo deny --offline check licenses bans sources

step "clippy (server build)"
cargo clippy --locked -p types -p engine -p app -p server -p bench --all-targets -- -D warnings
step "clippy (WASM build)"
cargo clippy --locked -p frontend --target wasm32-unknown-unknown -- -D warnings

step "unit and integration tests (and a smoke run of the bench harness)"
cargo test --locked -p types -p engine -p app -p server -p bench

step "the server's tests again, on PostgreSQL (a private cluster; each app its own database)"
TEST_ON_POSTGRES=1 cargo test --locked -p server --test api

step "build for the end-to-end tests"
cargo build --locked -p server
scripts/build-site.sh

step "end-to-end tests (headless Chromium)"
(cd end2end && HSMSEED_BIN="$TARGET_DIR/debug/hsmseed" CARGO_TARGET_DIR="$TARGET_DIR" \
  node --test --test-concurrency=1 tests/)

step "end-to-end tests again, on PostgreSQL (a private cluster; each server its own database)"
pg_dir=$(mktemp -d "${TMPDIR:-/tmp}/hsmseed-e2e-pg-XXXXXX")
trap 'scripts/pg-cluster.sh stop "$pg_dir"' EXIT
scripts/pg-cluster.sh start "$pg_dir"
(cd end2end && HSMSEED_BIN="$TARGET_DIR/debug/hsmseed" CARGO_TARGET_DIR="$TARGET_DIR" \
  HSMSEED_E2E_POSTGRES="$pg_dir" node --test --test-concurrency=1 tests/)
scripts/pg-cluster.sh stop "$pg_dir"
trap - EXIT

step "Debian package (release build; lintian, systemd-analyze, installed, signed in to, purged)"
cargo build --locked --release -p server
scripts/test-deb.sh
