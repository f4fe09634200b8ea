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

# Names that change with the content, so browsers may keep them for a year:
# hsmseed.<hash>.js, hsmseed.<hash>.wasm, hsmseed.<hash>.css, listed in
# hash.txt (the format Leptos reads; the server points it there). Each is
# also stored gzip- and brotli-compressed for the server to send as is.
hash_of() { sha256sum "$1" | cut -c1-16; }
JS_HASH=$(hash_of "$SITE.new/pkg/hsmseed.js")
WASM_HASH=$(hash_of "$SITE.new/pkg/hsmseed_bg.wasm")
CSS_HASH=$(hash_of "$SITE.new/pkg/hsmseed.css")
mv "$SITE.new/pkg/hsmseed.js" "$SITE.new/pkg/hsmseed.$JS_HASH.js"
mv "$SITE.new/pkg/hsmseed_bg.wasm" "$SITE.new/pkg/hsmseed.$WASM_HASH.wasm"
mv "$SITE.new/pkg/hsmseed.css" "$SITE.new/pkg/hsmseed.$CSS_HASH.css"
printf 'js: %s\nwasm: %s\ncss: %s\n' "$JS_HASH" "$WASM_HASH" "$CSS_HASH" > "$SITE.new/hash.txt"
node scripts/compress.mjs "$SITE.new/pkg"/hsmseed.*
rm -rf "$SITE"
mv "$SITE.new" "$SITE"
WASM="$SITE/pkg/hsmseed.$WASM_HASH.wasm"
echo "build-site: wasm $(($(stat -c %s "$WASM") / 1024)) KiB, $(($(stat -c %s "$WASM.gz") / 1024)) KiB gzip, $(($(stat -c %s "$WASM.br") / 1024)) KiB brotli in $SITE"
