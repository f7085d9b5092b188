#!/usr/bin/env bash
# CLI timings (docs/design.md section 8): `render` per process, and `lint` over N generated configs
# (files per second, peak memory for 100 and N files, so a growth with N shows).
#
# Usage: bash bench/cli.sh [RENDERS] [FILES]   (defaults 200, 1000)
set -euo pipefail
cd "$(dirname "$0")/.."
renders=${1:-200}
files=${2:-1000}
cargo build --release --quiet
bin=$PWD/target/release/sockproxy-gen
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
now() { date +%s%N; }

start=$(now)
for _ in $(seq "$renders"); do "$bin" render --preset traefik >/dev/null 2>&1; done
render_ms=$(awk -v d=$(( $(now) - start )) -v n="$renders" 'BEGIN {printf "%.2f", d / n / 1e6}')

# Configs that differ: every preset, on different ports.
mapfile -t presets < <("$bin" presets 2>/dev/null | awk 'NR > 1 {print $1}')
for i in $(seq "$files"); do
  p=${presets[$(( i % ${#presets[@]} ))]}
  "$bin" render --preset "$p" --port $(( 20000 + i )) -o "$work/$i.cfg" 2>/dev/null
done

lint() { # $1 = number of files; prints "seconds peak_kb"
  local list=()
  for i in $(seq "$1"); do list+=("$work/$i.cfg"); done
  local t0 t1
  t0=$(now)
  /usr/bin/time -f '%M' -o "$work/rss" "$bin" lint --fail-on never "${list[@]}" >/dev/null
  t1=$(now)
  echo "$(awk -v d=$(( t1 - t0 )) 'BEGIN {printf "%.3f", d / 1e9}') $(cat "$work/rss")"
}
read -r s100 kb100 < <(lint 100)
read -r sN kbN < <(lint "$files")
echo "date: $(date -u +%Y-%m-%dT%H:%MZ)  machine: $(nproc) cores, $(uname -m)"
echo "render --preset traefik: ${render_ms} ms per process (mean of $renders)"
awk -v n="$files" -v s="$sN" 'BEGIN {printf "lint: %d files in %.3f s = %.0f files/s\n", n, s, n / s}'
echo "lint peak RSS: ${kb100} KiB for 100 files, ${kbN} KiB for $files files"
