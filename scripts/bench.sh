#!/usr/bin/env bash
# `make bench`: builds in release mode, starts what it needs (SoftHSM2 tokens
# in a private SOFTHSM2_CONF, the server on 127.0.0.1, a private PostgreSQL
# cluster on a Unix socket) and measures the performance targets side by
# side; writes bench/results.json.
set -euo pipefail
cd "$(dirname "$0")/.."
TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"
scripts/deps.sh bench
scripts/build-site.sh
cargo build --locked --release -p server -p bench
CARGO_TARGET_DIR="$TARGET_DIR" "$TARGET_DIR/release/hsmseed-bench" \
  --site-dir "$TARGET_DIR/site" --server-bin "$TARGET_DIR/release/hsmseed" \
  --out bench/results.json "$@"
# Time to interactive of every page in Chromium (adds to bench/results.json).
HSMSEED_BIN="$TARGET_DIR/release/hsmseed" CARGO_TARGET_DIR="$TARGET_DIR" node end2end/bench/tti.mjs
