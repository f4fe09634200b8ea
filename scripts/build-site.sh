#!/usr/bin/env bash
# Builds the web assets the server serves: the WASM bundle (frontend crate,
# wasm-release profile), its JS glue (wasm-bindgen at exactly the version in
# Cargo.lock), wasm-opt when the npm binaryen is installed, the stylesheet and
# the static files. Output: $TARGET_DIR/site.
set -euo pipefail
cd "$(dirname "$0")/.."
TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"
SITE="$TARGET_DIR/site"

cargo build --locked -p frontend --lib --target wasm32-unknown-unknown --profile wasm-release

rm -rf "$SITE.new"
mkdir -p "$SITE.new/pkg"
wasm-bindgen --target web --no-typescript --out-name hsmseed \
  --out-dir "$SITE.new/pkg" \
  "$TARGET_DIR/wasm32-unknown-unknown/wasm-release/frontend.wasm"

# Debian's binaryen (108) breaks the module; only npm's (end2end/node_modules) is used.
WASM_OPT="$PWD/end2end/node_modules/.bin/wasm-opt"
if [ -x "$WASM_OPT" ]; then
  "$WASM_OPT" -Oz --enable-bulk-memory --enable-nontrapping-float-to-int \
    --enable-sign-ext --enable-mutable-globals --enable-reference-types \
    "$SITE.new/pkg/hsmseed_bg.wasm" -o "$SITE.new/pkg/hsmseed_bg.opt.wasm"
  mv "$SITE.new/pkg/hsmseed_bg.opt.wasm" "$SITE.new/pkg/hsmseed_bg.wasm"
else
  echo "build-site: npm binaryen not installed (make deps); wasm-opt skipped" >&2
fi

cp style/main.css "$SITE.new/pkg/hsmseed.css"
cp public/* "$SITE.new/"
rm -rf "$SITE"
mv "$SITE.new" "$SITE"
echo "build-site: $(du -sh "$SITE/pkg/hsmseed_bg.wasm" | cut -f1) wasm in $SITE"
