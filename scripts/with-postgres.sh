#!/usr/bin/env bash
# Runs a command beside a throwaway PostgreSQL cluster on loopback, its URL in TEST_POSTGRES_URL
# (the storage suite and the PostgreSQL tests connect there) and the server's programs in
# TEST_POSTGRES_BIN, then stops the cluster and deletes it, whatever the command's outcome. Uses the system's initdb and pg_ctl (Debian `postgresql`),
# run as the `postgres` user when this script runs as root (PostgreSQL refuses root).
#
#   scripts/with-postgres.sh cargo test --workspace
#   scripts/with-postgres.sh --durable target/release/relais bench pipeline --postgres URL
#
# --durable keeps PostgreSQL's durability (fsync, synchronous commit, full-page writes: what a
# benchmark must pay, as production does) and gives it 1 GB of shared buffers; without it, the
# cluster trades durability for speed, as PostgreSQL's own test setups do.
set -euo pipefail

settings="-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
if [ "${1:-}" = "--durable" ]; then
  settings="-c shared_buffers=1GB"
  shift
fi

initdb=$(command -v initdb || ls /usr/lib/postgresql/*/bin/initdb 2>/dev/null | sort -V | tail -n 1 || true)
if [ -z "$initdb" ] || [ ! -x "$initdb" ]; then
  echo "PostgreSQL's initdb is missing: install Debian's postgresql (apt-get install postgresql)" >&2
  exit 1
fi
bindir=$(dirname "$(readlink -f "$initdb")")

as_owner=()
if [ "$(id -u)" = 0 ]; then
  as_owner=(runuser -u postgres --)
fi

cluster=$(mktemp -d /tmp/relais-postgres.XXXXXX)
chmod 755 "$cluster"
if [ "$(id -u)" = 0 ]; then chown postgres: "$cluster"; fi
stop() {
  "${as_owner[@]}" "$bindir/pg_ctl" -D "$cluster/data" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$cluster"
}
trap stop EXIT

port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"${as_owner[@]}" "$bindir/initdb" -D "$cluster/data" -U postgres --auth=trust --encoding=UTF8 \
  --locale=C.UTF-8 >"$cluster/initdb.log" 2>&1 \
  || { cat "$cluster/initdb.log" >&2; exit 1; }
"${as_owner[@]}" "$bindir/pg_ctl" -D "$cluster/data" -l "$cluster/server.log" -w -t 60 \
  -o "-c listen_addresses=127.0.0.1 -p $port -k $cluster $settings -c max_connections=200" \
  start >/dev/null \
  || { cat "$cluster/server.log" >&2; exit 1; }

export TEST_POSTGRES_URL="postgres://postgres@127.0.0.1:$port/postgres"
# For the tests that need a cluster of their own (one they restart).
export TEST_POSTGRES_BIN="$bindir"
echo "PostgreSQL $("$bindir/postgres" --version | awk '{print $3}') on 127.0.0.1:$port (throwaway cluster in $cluster)" >&2
set +e
"$@"
status=$?
set -e
exit "$status"
