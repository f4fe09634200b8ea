#!/usr/bin/env bash
# `make soak`: reseeds under load, kill -9 of the server, restart, K times;
# then every acknowledged reseed must be in the history and the audit log
# exactly once. Writes bench/soak.json; fails when anything is lost or
# duplicated. Arguments go to hsmseed-soak (--rounds, --clients, --seconds).
set -euo pipefail
cd "$(dirname "$0")/.."
TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"
scripts/deps.sh run
cargo build --locked --release -p server -p bench
CARGO_TARGET_DIR="$TARGET_DIR" "$TARGET_DIR/release/hsmseed-soak" \
  --server-bin "$TARGET_DIR/release/hsmseed" --out bench/soak.json "$@"
