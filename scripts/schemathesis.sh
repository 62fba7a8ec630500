#!/usr/bin/env bash
# Runs schemathesis (PyPI) against a live `relais serve` on loopback: the OpenAPI document at
# /openapi.json drives the requests; no answer may be a 5xx, and every answer must match the
# document (status, content type, schema). Bounded: a fixed number of examples per operation.
#
# Usage: scripts/schemathesis.sh RELAIS_BINARY SCHEMATHESIS_BINARY [MAX_EXAMPLES]
set -euo pipefail
relais=$1
schemathesis=$2
max_examples=${3:-40}
root="$(cd "$(dirname "$0")/.." && pwd)"

work=$(mktemp -d)
server_pid=
cleanup() {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

cp "$root/fixtures/feeds/hellowork.xml" "$work/board.xml"
cat > "$work/relais.toml" <<TOML
[storage]
data_dir = "$work/data"

[francetravail]
enabled = false

[server]
listen = "127.0.0.1:0"

[[feeds]]
name = "val-de-marne"
title = "Offres d'emploi dans le Val-de-Marne"
territory = "dep:94"

[[collectivites]]
id = "val-de-marne"
name = "Département du Val-de-Marne"
siren = "229400028"
territory = "dep:94"
feeds = ["val-de-marne"]

[[sources]]
id = "hellowork"
url = "$work/board.xml"
format = { type = "xml", preset = "hellowork" }
TOML

RELAIS_LOG=error "$relais" --config "$work/relais.toml" sync hellowork >/dev/null
# A key of both scopes, fast enough not to be rate-limited by the run.
key=$(RELAIS_LOG=error "$relais" --config "$work/relais.toml" key create --collectivite val-de-marne \
  --scope search,reports --rate 100000/s --daily-quota 100000000 --daily-offers 100000000 --json |
  python3 -c 'import json, sys; print(json.load(sys.stdin)["key"])')
RELAIS_LOG=error "$relais" --config "$work/relais.toml" serve >"$work/serve.out" 2>"$work/serve.err" &
server_pid=$!
base=
for _ in $(seq 1 600); do
  base=$(sed -n 's/^serving on //p' "$work/serve.out")
  if [ -n "$base" ] && curl -fsS "$base/readyz" 2>/dev/null | grep -q '"lag":0'; then
    break
  fi
  base=
  sleep 0.1
done
if [ -z "$base" ]; then
  echo "relais serve did not become ready" >&2
  cat "$work/serve.err" >&2
  exit 1
fi

# Path parameters that exist, so that the feed and the detail answer 200 and their bodies are
# checked (404 and 410 are checked by the integration tests).
cat > "$work/schemathesis.toml" <<TOML
[[operations]]
include-path = "/v1/feeds/{feed}/offers"
parameters = { "path.feed" = "val-de-marne" }

[[operations]]
include-path = "/v1/feeds/{feed}/rss"
parameters = { "path.feed" = "val-de-marne" }

[[operations]]
include-path = "/v1/feeds/{feed}/atom"
parameters = { "path.feed" = "val-de-marne" }

[[operations]]
include-path = "/v1/offers/{key}"
parameters = { "path.key" = "hellowork:68087320" }
TOML

"$schemathesis" --config-file "$work/schemathesis.toml" run "$base/openapi.json" \
  --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance \
  --max-examples "$max_examples" \
  --generation-deterministic \
  --header "Authorization: Bearer $key" \
  --workers 2 \
  --no-color
