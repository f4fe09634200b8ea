#!/usr/bin/env bash
# Creates the SoftHSM2 demo token of `make run` in DATA_DIR (once): a private
# SOFTHSM2_CONF, a token labelled hsmseed-demo with random SO and user PINs,
# kept in DATA_DIR/demo-token.txt (mode 0600).
set -euo pipefail
data="${1:?usage: demo-token.sh DATA_DIR}"
mkdir -p "$data/softhsm/tokens"
chmod 700 "$data" "$data/softhsm"
conf="$data/softhsm2.conf"
if [ ! -f "$conf" ]; then
  cat > "$conf" <<CONF
directories.tokendir = $(cd "$data" && pwd)/softhsm/tokens
objectstore.backend = file
log.level = ERROR
slots.removable = false
CONF
fi
export SOFTHSM2_CONF="$conf"
if [ ! -f "$data/demo-token.txt" ]; then
  so_pin=$(od -An -tx1 -N12 /dev/urandom | tr -d ' \n')
  user_pin=$(od -An -tx1 -N12 /dev/urandom | tr -d ' \n')
  softhsm2-util --init-token --free --label hsmseed-demo --so-pin "$so_pin" --pin "$user_pin" >/dev/null
  # The serial line comes before the label line in each token's block.
  serial=$(softhsm2-util --show-slots | awk '/Serial number:/ { s = $3 } /Label:[[:space:]]*hsmseed-demo/ { print s; exit }')
  (umask 077; printf 'label=hsmseed-demo\nserial=%s\nuser_pin=%s\nso_pin=%s\n' "$serial" "$user_pin" "$so_pin" > "$data/demo-token.txt")
  echo "demo-token: created SoftHSM2 token hsmseed-demo (PINs in $data/demo-token.txt)" >&2
fi
