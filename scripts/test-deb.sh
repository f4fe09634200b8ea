#!/usr/bin/env bash
# The Debian package, for real on this machine: builds it, checks it with
# lintian (no error) and the unit with systemd-analyze (verify; security
# exposure at most 2.0), installs it with dpkg -i, starts the installed
# binary as the `hsmseed` user with the installed settings, signs in over
# HTTPS with the first password from its file, runs a console command as
# root without flags, installs it again over itself (the data stays), then
# purges it. Needs root (CI runs as root); refuses to touch an hsmseed this
# test did not install.
set -euo pipefail
cd "$(dirname "$0")/.."
say() { echo "test-deb: $*"; }
fail() { echo "test-deb: FAILED: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || fail "needs root (dpkg -i); CI runs as root"

MARK=/var/lib/hsmseed-package-test
installed() { dpkg-query -W -f='${db:Status-Status}' hsmseed 2>/dev/null | grep -qv '^not-installed$'; }
if installed; then
  [ -e "$MARK" ] || fail "hsmseed is installed here, not by this test: it would be replaced and purged"
  say "purging what an earlier run of this test left"
  dpkg --purge hsmseed >/dev/null
fi

DEB=$(scripts/build-deb.sh)
say "built $DEB ($(($(stat -c %s "$DEB") / 1024)) KiB)"

say "lintian"
lintian --fail-on error --allow-root --tag-display-limit 0 "$DEB" | tee /tmp/hsmseed-lintian.txt

WORK=$(mktemp -d)
SERVER_PID=""
cleanup() {
  [ -z "$SERVER_PID" ] || kill "$SERVER_PID" 2>/dev/null || true
  if installed; then dpkg --purge hsmseed >/dev/null 2>&1 || true; fi
  rm -f "$MARK"
  rm -rf "$WORK"
}
trap cleanup EXIT

touch "$MARK"
say "dpkg -i"
dpkg -i "$DEB" >/dev/null

# What the package made.
[ -x /usr/bin/hsmseed ] || fail "no /usr/bin/hsmseed"
getent passwd hsmseed | grep -q ':/var/lib/hsmseed:/usr/sbin/nologin$' || fail "user: $(getent passwd hsmseed)"
[ "$(stat -c '%a %U %G' /var/lib/hsmseed)" = "700 hsmseed hsmseed" ] || fail "data dir: $(stat -c '%a %U %G' /var/lib/hsmseed)"
[ "$(stat -c '%a %U %G' /etc/hsmseed/hsmseed.toml)" = "640 root hsmseed" ] || fail "settings: $(stat -c '%a %U %G' /etc/hsmseed/hsmseed.toml)"
dpkg-query -W -f='${Conffiles}\n' hsmseed | grep -q '^ /etc/hsmseed/hsmseed.toml ' || fail "the settings file is not a conffile"
[ -f /usr/share/hsmseed/site/hash.txt ] || fail "no web assets"
zcat /usr/share/man/man1/hsmseed.1.gz | grep -q '^\.TH hsmseed 1' || fail "no hsmseed(1)"
zcat /usr/share/man/man1/hsmseed-hsm-conf-seed.1.gz | grep -q 'period' || fail "no hsmseed-hsm-conf-seed(1)"
[ -f /usr/share/doc/hsmseed/copyright ] && [ -f /usr/share/doc/hsmseed/changelog.gz ] || fail "no copyright or changelog"

say "systemd-analyze verify and security"
systemd-analyze verify --man=no /lib/systemd/system/hsmseed.service
systemd-analyze security --offline=yes --threshold=20 /lib/systemd/system/hsmseed.service > "$WORK/security.txt" \
  || { cat "$WORK/security.txt"; fail "exposure above 2.0"; }
grep 'Overall exposure level' "$WORK/security.txt"

say "the installed binary as the hsmseed user, with the installed settings"
cd /
HSMSEED_LISTEN=127.0.0.1:0 setpriv --reuid=hsmseed --regid=hsmseed --init-groups --inh-caps=-all \
  /usr/bin/hsmseed serve \
  > "$WORK/serve.out" 2> "$WORK/serve.err" &
SERVER_PID=$!
for _ in $(seq 1 300); do
  grep -q '^(shown once' "$WORK/serve.out" && break
  kill -0 "$SERVER_PID" 2>/dev/null || { cat "$WORK/serve.err"; fail "the server stopped"; }
  sleep 0.1
done
URL=$(sed -n 's/^hsmseed .* serving \(https:\/\/127\.0\.0\.1:[0-9]*\)$/\1/p' "$WORK/serve.out")
[ -n "$URL" ] || { cat "$WORK/serve.out" "$WORK/serve.err"; fail "no HTTPS URL"; }
PWFILE=/var/lib/hsmseed/first-admin-password
grep -q "also kept in $PWFILE" "$WORK/serve.out" || fail "the first password's file is not named"
[ "$(stat -c '%a %U' "$PWFILE")" = "600 hsmseed" ] || fail "password file: $(stat -c '%a %U' "$PWFILE")"
CA=/var/lib/hsmseed/tls/server.pem

# Sign in over HTTPS, the certificate checked against the appliance's own.
code=$(curl -sS --cacert "$CA" -o /dev/null -w '%{http_code} %{redirect_url}' -c "$WORK/jar" \
  -H "Origin: $URL" --data-urlencode username=admin --data-urlencode "password@"<(tr -d '\n' < "$PWFILE") "$URL/login")
[ "$code" = "303 $URL/" ] || fail "sign-in answered $code"
curl -sS --cacert "$CA" -b "$WORK/jar" "$URL/" | grep -q 'Dashboard' || fail "no dashboard after sign-in"
[ ! -e "$PWFILE" ] || fail "the first sign-in did not remove the password file"

# A console command as root, no flags: it finds /var/lib/hsmseed through
# /etc/hsmseed/hsmseed.toml and runs as its owner.
/usr/bin/hsmseed user-list > "$WORK/users.out" 2> "$WORK/users.err" || { cat "$WORK/users.err"; fail "user-list"; }
grep -q 'admin' "$WORK/users.out" || fail "user-list: $(cat "$WORK/users.out")"
grep -q 'running as `hsmseed`, the owner of /var/lib/hsmseed' "$WORK/users.err" || fail "user-list said: $(cat "$WORK/users.err")"
strays=$(find /var/lib/hsmseed ! -user hsmseed)
[ -z "$strays" ] || fail "files the service cannot own: $strays"

kill -TERM "$SERVER_PID"
wait "$SERVER_PID" || fail "the server did not stop cleanly"
SERVER_PID=""

say "dpkg -i again (an upgrade in place): data and edited settings stay"
sed -i 's/^# seed_bits = 256$/seed_bits = 512/' /etc/hsmseed/hsmseed.toml
dpkg -i --force-confold "$DEB" >/dev/null
grep -q '^seed_bits = 512$' /etc/hsmseed/hsmseed.toml || fail "the edited settings were replaced"
/usr/bin/hsmseed user-list 2>/dev/null | grep -q admin || fail "the data did not survive"

say "dpkg --purge"
dpkg --purge hsmseed >/dev/null
[ ! -e /usr/bin/hsmseed ] && [ ! -e /var/lib/hsmseed ] && [ ! -e /etc/hsmseed ] || fail "purge left files"
say "ok"
