#!/usr/bin/env bash
# Builds the Debian package: $TARGET_DIR/deb/hsmseed_<version>_<arch>.deb,
# from the release binary and the built site (make deb builds both first),
# with dpkg-deb (no debhelper, no source package). Prints the path.
#   /usr/bin/hsmseed                      the binary (stripped)
#   /usr/share/hsmseed/site               the web assets
#   /etc/hsmseed/hsmseed.toml             the settings (a conffile)
#   /lib/systemd/system/hsmseed.service   the hardened service
#   /usr/share/man/man1/hsmseed*.1.gz     a page per command
#   /usr/share/doc/hsmseed/               copyright, changelog, README,
#                                         third-party licenses
# The maintainer scripts (packaging/debian) make the `hsmseed` user and
# /var/lib/hsmseed (0700) and enable the service.
set -euo pipefail
cd "$(dirname "$0")/.."
TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"
BIN="$TARGET_DIR/release/hsmseed"
SITE="$TARGET_DIR/site"
[ -x "$BIN" ] || { echo "build-deb: $BIN missing (cargo build --release -p server)" >&2; exit 1; }
[ -f "$SITE/hash.txt" ] || { echo "build-deb: $SITE missing (scripts/build-site.sh)" >&2; exit 1; }

VERSION=$(cargo metadata --locked --no-deps --format-version 1 \
  | python3 -c 'import json,sys; print(next(p["version"] for p in json.load(sys.stdin)["packages"] if p["name"]=="server"))')
ARCH=$(dpkg --print-architecture)
NAME="hsmseed_${VERSION}_${ARCH}"
OUT="$TARGET_DIR/deb"
ROOT="$OUT/$NAME"
rm -rf "$ROOT" "$OUT/$NAME.deb"
mkdir -p "$ROOT/DEBIAN"

# Files and directories: 0755 / 0644, root's (dpkg-deb --root-owner-group).
umask 022
install -D -m 0755 "$BIN" "$ROOT/usr/bin/hsmseed"
strip --strip-unneeded --remove-section=.comment --remove-section=.note "$ROOT/usr/bin/hsmseed"
mkdir -p "$ROOT/usr/share/hsmseed"
cp -r "$SITE" "$ROOT/usr/share/hsmseed/site"
find "$ROOT/usr/share/hsmseed" -type d -exec chmod 0755 {} + -o -type f -exec chmod 0644 {} +
install -D -m 0644 packaging/hsmseed.toml "$ROOT/etc/hsmseed/hsmseed.toml"
install -D -m 0644 packaging/hsmseed.service "$ROOT/lib/systemd/system/hsmseed.service"

mkdir -p "$ROOT/usr/share/man/man1"
"$ROOT/usr/bin/hsmseed" manual --out "$ROOT/usr/share/man/man1"
gzip -9n "$ROOT/usr/share/man/man1"/*.1
chmod 0644 "$ROOT/usr/share/man/man1"/*

DOC="$ROOT/usr/share/doc/hsmseed"
install -D -m 0644 packaging/debian/copyright "$DOC/copyright"
install -m 0644 README.md "$DOC/README.md"
gzip -9n -c packaging/debian/changelog > "$DOC/changelog.gz"
chmod 0644 "$DOC/changelog.gz"
# Every crate in the binary with its license (cargo deny checks they are
# allowed ones).
cargo metadata --locked --format-version 1 --filter-platform "$(rustc -vV | sed -n 's/^host: //p')" \
  | python3 -c '
import json, sys
m = json.load(sys.stdin)
ws = set(m["workspace_members"])
print("Rust crates built into /usr/bin/hsmseed, with their licenses:\n")
for p in sorted(m["packages"], key=lambda p: (p["name"], p["version"])):
    if p["id"] not in ws:
        print("%s %s: %s" % (p["name"], p["version"], p.get("license") or p.get("license_file") or "see the crate"))
' > "$DOC/third-party-licenses.txt"
chmod 0644 "$DOC/third-party-licenses.txt"

install -m 0644 packaging/debian/conffiles "$ROOT/DEBIAN/conffiles"
install -m 0755 packaging/debian/postinst packaging/debian/prerm packaging/debian/postrm "$ROOT/DEBIAN/"

# Depends: the shared libraries the binary links, as dpkg-shlibdeps finds
# them (it wants a debian/control beside it).
SHLIB=$(mktemp -d)
trap 'rm -rf "$SHLIB"' EXIT
mkdir -p "$SHLIB/debian"
printf 'Source: hsmseed\n\nPackage: hsmseed\nArchitecture: any\n' > "$SHLIB/debian/control"
DEPENDS=$(cd "$SHLIB" && dpkg-shlibdeps -O "$ROOT/usr/bin/hsmseed" 2>/dev/null | sed -n 's/^shlibs:Depends=//p')
[ -n "$DEPENDS" ] || { echo "build-deb: dpkg-shlibdeps found no dependency" >&2; exit 1; }

(cd "$ROOT" && find . -path ./DEBIAN -prune -o -type f -print0 | sort -z | xargs -0 md5sum | sed 's| \./| |') > "$ROOT/DEBIAN/md5sums"
chmod 0644 "$ROOT/DEBIAN/md5sums"
SIZE=$(du -sk --exclude=DEBIAN "$ROOT" | cut -f1)
sed -e "s/@VERSION@/$VERSION/" -e "s/@ARCH@/$ARCH/" -e "s/@SIZE@/$SIZE/" -e "s/@DEPENDS@/$DEPENDS/" \
  packaging/debian/control > "$ROOT/DEBIAN/control"

dpkg-deb --root-owner-group -Zxz --build "$ROOT" "$OUT/$NAME.deb" >/dev/null
rm -rf "$ROOT"
echo "$OUT/$NAME.deb"
