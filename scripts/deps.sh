#!/usr/bin/env bash
# Installs what hsmseed needs and is missing; safe to run again (each step is
# skipped when already done).
#   scripts/deps.sh run    what `make run` / `make build` need
#   scripts/deps.sh deb    that, plus what `make deb` needs
#   scripts/deps.sh bench  what `make bench` needs: `run`, Chromium (pages'
#                          time to interactive) and PostgreSQL (the fleet's store)
#   scripts/deps.sh test   all of it, plus the end-to-end test tools
set -euo pipefail
cd "$(dirname "$0")/.."
mode="${1:-run}"
SUDO=""
[ "$(id -u)" = 0 ] || SUDO="sudo"

say() { echo "deps: $*" >&2; }

# Debian packages: SoftHSM2 (demo and test token), OpenSC (pkcs11-tool and
# pkcs11-spy), openssl (certificate checks), node (build tools and tests).
pkgs=()
command -v softhsm2-util >/dev/null || pkgs+=(softhsm2)
[ -e /usr/lib/x86_64-linux-gnu/pkcs11-spy.so ] || [ -e /usr/lib/aarch64-linux-gnu/pkcs11-spy.so ] || pkgs+=(opensc)
command -v openssl >/dev/null || pkgs+=(openssl)
command -v npm >/dev/null || pkgs+=(nodejs npm)
command -v cc >/dev/null || pkgs+=(gcc)
if [ "$mode" = test ] || [ "$mode" = deb ]; then
  # The Debian package: dpkg-shlibdeps for its Depends, lintian to check
  # it, systemd-analyze for its unit, curl to sign in to what it installed.
  command -v dpkg-shlibdeps >/dev/null || pkgs+=(dpkg-dev)
  command -v lintian >/dev/null || pkgs+=(lintian)
  command -v systemd-analyze >/dev/null || pkgs+=(systemd)
  command -v adduser >/dev/null || pkgs+=(adduser)
  command -v curl >/dev/null || pkgs+=(curl)
fi
if [ "$mode" = test ] || [ "$mode" = bench ]; then
  command -v chromium >/dev/null || pkgs+=(chromium)
  # PostgreSQL, for the fleet's store: the tests and the benchmark start
  # private clusters of their own (engine/src/store/testing.rs), never the
  # system service.
  compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || pkgs+=(postgresql)
fi
if [ "$mode" = test ]; then
  # Independent judges of the served random bytes.
  command -v rngtest >/dev/null || pkgs+=(rng-tools5)
  command -v ent >/dev/null || pkgs+=(ent)
  # kryoptic's build (bindgen) needs libclang.
  dpkg -s libclang-dev >/dev/null 2>&1 || pkgs+=(libclang-dev)
  # tpm2-pkcs11 over a software TPM: a third PKCS#11 implementation, with
  # real hardware's limits (engine/src/hsm/testing/tpm2.rs).
  command -v swtpm >/dev/null || pkgs+=(swtpm swtpm-tools)
  dpkg -s libtpm2-pkcs11-1 >/dev/null 2>&1 || pkgs+=(libtpm2-pkcs11-1)
  command -v tpm2_ptool >/dev/null || pkgs+=(libtpm2-pkcs11-tools)
  command -v tpm2_flushcontext >/dev/null || pkgs+=(tpm2-tools)
  # A token without an RNG (p11-kit's trust module): one that takes no seeds.
  [ -e /usr/lib/x86_64-linux-gnu/pkcs11/p11-kit-trust.so ] || [ -e /usr/lib/aarch64-linux-gnu/pkcs11/p11-kit-trust.so ] || pkgs+=(p11-kit-modules)
fi
if [ ${#pkgs[@]} -gt 0 ]; then
  say "installing ${pkgs[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${pkgs[@]}" >/dev/null
fi

if ! command -v cargo >/dev/null; then
  say "cargo is missing: install the Rust toolchain with rustup first"
  exit 1
fi

# The WASM target (rustup's).
if ! rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown; then
  say "adding the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown
fi

# wasm-bindgen-cli at exactly the version of wasm-bindgen in Cargo.lock.
want=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/"/, "", $3); print $3; exit }' Cargo.lock)
have=$(wasm-bindgen --version 2>/dev/null | awk '{print $2}' || true)
if [ "$have" != "$want" ]; then
  say "installing wasm-bindgen-cli $want (was: ${have:-none}); takes a few minutes"
  cargo install wasm-bindgen-cli --version "$want" --locked \
    || cargo install wasm-bindgen-cli --version "$want"
fi

# cargo-machete: make test fails on a dependency no code uses.
if [ "$mode" = test ] && ! command -v cargo-machete >/dev/null; then
  say "installing cargo-machete (unused dependency check); takes a minute or two"
  cargo install cargo-machete --locked
fi

# cargo-deny: licenses, bans and sources of every dependency (make test).
if [ "$mode" = test ] && ! command -v cargo-deny >/dev/null; then
  say "installing cargo-deny (dependency licenses and sources); takes a few minutes"
  cargo install cargo-deny --locked
fi

# npm packages: binaryen (wasm-opt) for the build, playwright-core for tests.
# Debian's chromium is the browser; playwright never downloads one.
if [ ! -x end2end/node_modules/.bin/wasm-opt ] || [ ! -d end2end/node_modules/playwright-core ] \
   || [ end2end/package-lock.json -nt end2end/node_modules/.package-lock.json ]; then
  say "installing npm packages (end2end/)"
  (cd end2end && npm ci --no-audit --no-fund --loglevel=error)
fi

# kryoptic, a second PKCS#11 implementation beside SoftHSM2 for the tests of
# named modules (engine/src/hsm/testing/kryoptic.rs): a soft token written
# in Rust, from the crate registry, built once into a cache outside the
# clone. Its default features need OpenSSL >= 3.2 (Debian 12 has 3.0).
KRYOPTIC_VERSION=1.5.4
KRYOPTIC_DIR="${XDG_CACHE_HOME:-$HOME/.cache}/hsmseed/kryoptic"
if [ "$mode" = test ] && ! grep -qx "$KRYOPTIC_VERSION" "$KRYOPTIC_DIR/version" 2>/dev/null; then
  say "building kryoptic $KRYOPTIC_VERSION (PKCS#11 test token) into $KRYOPTIC_DIR; takes a minute or two"
  mkdir -p "$KRYOPTIC_DIR/fetch/src"
  printf '[package]\nname = "fetch-kryoptic"\nversion = "0.0.0"\nedition = "2021"\n[dependencies]\nkryoptic = "=%s"\n' \
    "$KRYOPTIC_VERSION" > "$KRYOPTIC_DIR/fetch/Cargo.toml"
  : > "$KRYOPTIC_DIR/fetch/src/lib.rs"
  cargo fetch --manifest-path "$KRYOPTIC_DIR/fetch/Cargo.toml" >/dev/null
  crate=$(ls "${CARGO_HOME:-$HOME/.cargo}"/registry/cache/*/kryoptic-"$KRYOPTIC_VERSION".crate | head -n 1)
  rm -rf "$KRYOPTIC_DIR/src" && mkdir -p "$KRYOPTIC_DIR/src"
  tar -xzf "$crate" -C "$KRYOPTIC_DIR/src"
  cargo build --release --quiet --no-default-features --features kryoptic-lib/dynamic,minimal \
    --manifest-path "$KRYOPTIC_DIR/src/kryoptic-$KRYOPTIC_VERSION/Cargo.toml" \
    --target-dir "$KRYOPTIC_DIR/target"
  cp "$KRYOPTIC_DIR/target/release/libkryoptic_pkcs11.so" "$KRYOPTIC_DIR/"
  echo "$KRYOPTIC_VERSION" > "$KRYOPTIC_DIR/version"
fi
