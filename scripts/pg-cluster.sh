#!/usr/bin/env bash
# A private PostgreSQL cluster for tests, as engine/src/store/testing.rs
# starts one for the Rust tests: Debian's server (scripts/deps.sh test), in
# DIR, listening on a Unix socket in DIR only, never the system service.
# initdb refuses root: as root, the cluster belongs to the `postgres` user
# the package made.
#   scripts/pg-cluster.sh start DIR   initialise and start it (DIR: empty)
#   scripts/pg-cluster.sh stop DIR    stop it and remove DIR
set -euo pipefail
cmd="${1:?start or stop}"
dir="${2:?a directory}"
bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
[ -x "$bin/initdb" ] || { echo "pg-cluster: PostgreSQL not found: run scripts/deps.sh test" >&2; exit 1; }
as_owner() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}
case "$cmd" in
  start)
    mkdir -p "$dir"
    [ "$(id -u)" = 0 ] && chown postgres: "$dir"
    as_owner "$bin/initdb" -D "$dir/data" -A trust -U postgres -E UTF8 --locale=C.UTF-8 --no-sync >/dev/null
    # No TCP; no fsync (thrown away); room for many servers' pools.
    as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w \
      -o "-k $dir -c listen_addresses= -c max_connections=400 -F" start >/dev/null
    ;;
  stop)
    if [ -f "$dir/data/postmaster.pid" ]; then
      as_owner "$bin/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null || true
    fi
    rm -rf "$dir"
    ;;
  *) echo "pg-cluster: start or stop" >&2; exit 2 ;;
esac
