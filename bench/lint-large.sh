#!/usr/bin/env bash
# lint on large configs (docs/design.md section 8: "linear time and memory: a 50 MB config in
# seconds, memory a small multiple of the file"). For each size: the rendered traefik preset with
# its `frontend traefik` block repeated under distinct names and ports up to that size, `lint`
# on it, and the wall seconds (best of REPEAT runs) with the CPU seconds of that run, the peak
# RSS (/usr/bin/time %M, the highest of the runs), MB/s and RSS per MB of file.
#
# Variants (VARIANTS, default "copies distinct"):
#   copies    the block as rendered: every copy compiles to the same program
#   distinct  each copy gets one more rule of its own (`http-request deny if { path /copy-N }`),
#             so no two frontends compile alike and every one is evaluated on its own
#   noheader  copies without the sockproxy-gen header: no baseline, so lint keeps every
#             frontend's permission matrix and checks each one (and searches it for bypasses)
#   noheader-distinct  both
# With the header, lint re-renders the recorded inputs and counts the drifted lines; the copies
# are not in the header's policy, so their matrices are computed (for the stream-backend checks)
# and dropped.
#
# Usage: bash bench/lint-large.sh [SIZES_MB...]   (defaults 2 10 50)
#   BEFORE=/path/to/old/sockproxy-gen  also runs that binary on the same files, side by side
#   REPEAT=N                           runs per measurement (default 3)
set -euo pipefail
cd "$(dirname "$0")/.."
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(2 10 50)
read -r -a variants <<< "${VARIANTS:-copies distinct}"
repeat=${REPEAT:-3}
cargo build --release --quiet
bin=$PWD/target/release/sockproxy-gen
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

"$bin" render --preset traefik -o "$work/t.cfg" 2>/dev/null
# The frontend block: from `frontend traefik` to the next section.
awk '/^frontend traefik$/ {f = 1; print; next} f && /^(frontend|backend|listen|defaults|global|userlist|peers|resolvers)( |$)/ {f = 0} f' \
  "$work/t.cfg" > "$work/block"
grep -q '^    bind :::2375 v4v6\( \|$\)' "$work/block" || { echo "unexpected traefik block:" >&2; cat "$work/block" >&2; exit 1; }

generate() { # $1 = variant, $2 = size in MB, $3 = output
  local target=$(( $2 * 1000000 )) extra=0
  case $1 in *distinct) extra=1 ;; esac
  {
    if [[ $1 == noheader* ]]; then grep -v '^# sockproxy-gen-inputs:' "$work/t.cfg"; else cat "$work/t.cfg"; fi
    awk -v target="$target" -v base="$(wc -c < "$work/t.cfg")" -v extra="$extra" '
      BEGIN { RS = "^$" }
      { block = $0 }
      END {
        size = base
        for (n = 1; size < target; n++) {
          b = block
          sub(/frontend traefik\n/, "frontend traefik_" n "\n", b)
          own = extra ? "\n    http-request deny if { path /copy-" n " }" : ""
          sub(/bind :::2375 v4v6/, "bind :::" (10000 + n % 50000) " v4v6" own, b)
          printf "%s", b
          size += length(b)
        }
      }' "$work/block"
  } > "$3"
}

measure() { # $1 = binary, $2 = file; prints "best_wall_seconds its_cpu_seconds max_peak_kb"
  local best="" cpu="" kb=0 t0 t1 wall
  for _ in $(seq "$repeat"); do
    t0=$(date +%s%N)
    /usr/bin/time -f '%U %S %M' -o "$work/time" "$1" lint --fail-on never "$2" > "$work/out" 2>&1 || {
      echo "lint failed on $2:" >&2; tail "$work/out" >&2; exit 1; }
    t1=$(date +%s%N)
    wall=$(( t1 - t0 ))
    read -r user sys peak < <(tail -n 1 "$work/time")
    if [ -z "$best" ] || [ "$wall" -lt "$best" ]; then
      best=$wall
      cpu=$(awk -v u="$user" -v s="$sys" 'BEGIN {printf "%.2f", u + s}')
    fi
    [ "$peak" -gt "$kb" ] && kb=$peak
  done
  echo "$(awk -v d="$best" 'BEGIN {printf "%.2f", d / 1e9}') $cpu $kb"
}

row() { # $1 = variant, $2 = binary label, $3 = frontends, $4 = bytes, $5 = s, $6 = cpu s, $7 = KiB
  awk -v v="$1" -v l="$2" -v n="$3" -v b="$4" -v s="$5" -v c="$6" -v k="$7" 'BEGIN {
    mb = b / 1e6; rss = k * 1024 / 1e6
    printf "| %s | %s | %.1f | %d | %.2f | %.2f | %.0f | %.1f | %.1f |\n", v, l, mb, n, s, c, rss, mb / s, rss / mb }'
}

echo "date: $(date -u +%Y-%m-%dT%H:%MZ)  machine: $(nproc) cores, $(uname -m)  commit: $(git rev-parse --short HEAD 2>/dev/null || echo '?')  best of $repeat"
echo
echo "| variant | binary | file MB | frontends | seconds | CPU s | peak RSS MB | MB/s | RSS / file |"
echo "|---|---|---|---|---|---|---|---|---|"
for mb in "${sizes[@]}"; do
  for variant in "${variants[@]}"; do
    f=$work/$variant-$mb.cfg
    generate "$variant" "$mb" "$f"
    bytes=$(wc -c < "$f")
    frontends=$(grep -c '^frontend ' "$f")
    if [ -n "${BEFORE:-}" ]; then
      read -r s c kb < <(measure "$BEFORE" "$f")
      row "$variant" before "$frontends" "$bytes" "$s" "$c" "$kb"
    fi
    read -r s c kb < <(measure "$bin" "$f")
    row "$variant" "$([ -n "${BEFORE:-}" ] && echo after || echo current)" "$frontends" "$bytes" "$s" "$c" "$kb"
    rm -f "$f"
  done
done
