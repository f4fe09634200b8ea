#!/usr/bin/env bash
# `make fuzz`: the property tests of the parsers (certificates, PEM/DER,
# Chrystoki.conf, settings, query strings, names, the sign-in redirect)
# with many cases in a release build; `make test` runs them briefly.
# PROPTEST_CASES sets how many (default 100000 each).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh run
export PROPTEST_CASES="${PROPTEST_CASES:-100000}"
cargo test --locked --release -p engine -p server --lib fuzz_
