#!/usr/bin/env bash
# `make run`: builds the release binary and the site, creates the embedded
# default (./data with the SQLite database, a SoftHSM2 demo token, the `os`
# entropy source) and serves https://127.0.0.1:8443.
set -euo pipefail
cd "$(dirname "$0")/.."
TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"
export HSMSEED_DATA_DIR="${HSMSEED_DATA_DIR:-$PWD/data}"
scripts/demo-token.sh "$HSMSEED_DATA_DIR"
export SOFTHSM2_CONF="${SOFTHSM2_CONF:-$HSMSEED_DATA_DIR/softhsm2.conf}"
if [ -z "${HSMSEED_PKCS11_MODULE:-}" ]; then
  for m in /usr/lib/softhsm/libsofthsm2.so /usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so; do
    [ -e "$m" ] && export HSMSEED_PKCS11_MODULE="$m" && break
  done
fi
export HSMSEED_ENTROPY_SOURCE="${HSMSEED_ENTROPY_SOURCE:-os}"
if [ -f "$HSMSEED_DATA_DIR/demo-token.txt" ]; then
  serial=$(sed -n 's/^serial=//p' "$HSMSEED_DATA_DIR/demo-token.txt")
  echo "Demo SoftHSM2 token hsmseed-demo (serial $serial): its slot is listed under HSMs and by"
  echo "\`hsmseed ntl-verify\`; its user PIN is in $HSMSEED_DATA_DIR/demo-token.txt."
fi
exec "$TARGET_DIR/release/hsmseed" serve "$@"
