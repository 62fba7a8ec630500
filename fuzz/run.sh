#!/usr/bin/env bash
# Runs one fuzz target for a while: fuzz/run.sh <target> [seconds]
# Targets: xml_mapping rss json_ld partner_csv sanitise dedup. Not run in CI.
# The toolchain here is stable: RUSTC_BOOTSTRAP lets cargo-fuzz use libFuzzer's instrumentation,
# and `-s none` turns off AddressSanitizer (safe Rust; a panic or an abort is what is looked for).
set -euo pipefail
target=${1:?target: xml_mapping rss json_ld partner_csv sanitise dedup}
seconds=${2:-600}
cd "$(dirname "$0")"
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
corpus="corpus/$target"
mkdir -p "$corpus"
case "$target" in
  xml_mapping) cp ../fixtures/feeds/*.xml "$corpus/" ;;
  rss) cp ../fixtures/feeds/*.rss "$corpus/" ;;
  partner_csv) cp ../fixtures/feeds/*.csv "$corpus/" ;;
  json_ld) printf '%s' '[{"@type":"JobPosting","title":"Agent","identifier":"1","description":"<p>x</p>","jobLocation":{"address":{"postalCode":"46000","addressLocality":"Cahors"}},"datePosted":"2026-11-02"}]' > "$corpus/seed.json" ;;
  dedup) printf '%s' $'Agent d\'entretien H/F - Cahors (46)\n<p>La commune recrute…</p> [...] catégorie C adjoint technique\nAGENT D ENTRETIEN (H/F)\nLa commune recrute' > "$corpus/seed.txt" ;;
  sanitise) printf '%s' '<p onclick="x()">Agent <b>H/F</b></p><script>alert(1)</script><img src=x onerror=alert(1)>' > "$corpus/seed.html" ;;
esac
RUSTC_BOOTSTRAP=1 cargo fuzz run -s none "$target" "$corpus" -- -max_total_time="$seconds" -max_len=65536 -rss_limit_mb=2048
