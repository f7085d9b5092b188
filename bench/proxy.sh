#!/usr/bin/env bash
# Proxy overhead benchmark (design.md section 8), one run on one machine:
# nginx on a unix socket answers `[]`; HAProxy runs (a) a pass-through config with no rules,
# (b) the rendered traefik config, (c) the rendered portainer-readonly config, (d) a fixture with
# Tecnativa's semantics; wrk drives GET /v1.41/containers/json on loopback, bounded in time, in
# alternating rounds. Prints medians over rounds: throughput as a ratio of (a), and p50/p99
# latency added over (a). Per-request logging stays on in (b) and (c) (to a file, as a
# container's stdout would be).
#
# Usage: bash bench/proxy.sh [ROUNDS] [SECONDS] [CONNECTIONS]   (defaults 5, 5, 32)
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-5}
seconds=${2:-5}
conns=${3:-32}
for tool in haproxy nginx wrk; do
  command -v "$tool" >/dev/null || { echo "$tool is missing: run bash .ci/setup" >&2; exit 1; }
done
cargo build --release --quiet
bin=target/release/sockproxy-gen
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

sock=$work/nginx.sock
cat > "$work/nginx.conf" <<NGINX
worker_processes 1;
pid $work/nginx.pid;
error_log $work/nginx-error.log;
events { worker_connections 1024; }
http {
  access_log off;
  keepalive_requests 1000000;
  server {
    listen unix:$sock;
    location / { default_type application/json; return 200 '[]'; }
  }
}
NGINX
nginx -c "$work/nginx.conf" -g 'daemon off;' & pids+=($!)

port_a=31001 port_b=31002 port_c=31003 port_d=31004
cat > "$work/a.cfg" <<CFG
defaults
    mode http
    timeout connect 5s
    timeout client 1m
    timeout server 1m
frontend passthrough
    bind 127.0.0.1:$port_a
    default_backend nginx
backend nginx
    server nginx unix@$sock
CFG
render() { "$bin" render --preset "$1" --listen 127.0.0.1 --port "$2" --health "127.0.0.1:$3" --socket "$sock" -o "$4" 2>/dev/null; }
render traefik $port_b 31012 "$work/b.cfg"
render portainer-readonly $port_c 31013 "$work/c.cfg"

haproxy -db -f "$work/a.cfg" >/dev/null 2>&1 & pids+=($!)
haproxy -db -f "$work/b.cfg" >"$work/b.log" 2>&1 & pids+=($!)
haproxy -db -f "$work/c.cfg" >"$work/c.log" 2>&1 & pids+=($!)
env PORT=$port_d SOCKET_PATH="$sock" LOG_LEVEL=info EVENTS=1 PING=1 VERSION=1 CONTAINERS=1 \
  haproxy -db -f tests/fixtures/tecnativa-style.cfg >"$work/d.log" 2>&1 & pids+=($!)
sleep 1

# wrk prints "Requests/sec: N" and, with --latency, "50% 1.23ms" style lines.
to_us() { awk '{v=$1; if (v ~ /us$/) {sub(/us$/,"",v); print v} else if (v ~ /ms$/) {sub(/ms$/,"",v); print v*1000} else if (v ~ /s$/) {sub(/s$/,"",v); print v*1000000}}'; }
measure() {
  local out
  out=$(wrk -t2 -c"$conns" -d"${seconds}s" --latency "http://127.0.0.1:$1/v1.41/containers/json")
  local rps p50 p99 non2xx
  rps=$(awk '/^Requests\/sec:/ {print $2}' <<<"$out")
  p50=$(awk '$1 == "50%" {print $2}' <<<"$out" | to_us)
  p99=$(awk '$1 == "99%" {print $2}' <<<"$out" | to_us)
  non2xx=$(awk '/Non-2xx/ {print $NF}' <<<"$out")
  [ -z "$non2xx" ] || { echo "port $1 answered non-2xx: $non2xx" >&2; exit 1; }
  echo "$rps $p50 $p99"
}
median() { sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

declare -A rps p50 p99
for r in $(seq "$rounds"); do
  # Alternate the order each round, so drift of the machine hits every config alike.
  order="a b c d"; [ $((r % 2)) -eq 0 ] && order="d c b a"
  for c in $order; do
    port_var=port_$c
    read -r x y z < <(measure "${!port_var}")
    rps[$c]+="$x "; p50[$c]+="$y "; p99[$c]+="$z "
  done
done

med() { tr ' ' '\n' <<<"$1" | grep -v '^$' | median; }
base_rps=$(med "${rps[a]}"); base_p50=$(med "${p50[a]}"); base_p99=$(med "${p99[a]}")
echo
echo "date: $(date -u +%Y-%m-%dT%H:%MZ)  machine: $(nproc) cores, $(uname -m), $(haproxy -v | sed -n 1p | awk '{print "HAProxy", $3}'), nginx $(nginx -v 2>&1 | sed 's|.*/||')"
echo "wrk: $rounds rounds x ${seconds}s, 2 threads, $conns connections, GET /v1.41/containers/json; medians over rounds"
printf '%-34s %12s %8s %10s %10s %12s %12s\n' config req/s ratio p50_us p99_us p50_added p99_added
for c in a b c d; do
  case $c in a) name="(a) pass-through, no rules";; b) name="(b) rendered traefik";; c) name="(c) rendered portainer-readonly";; d) name="(d) Tecnativa semantics";; esac
  r=$(med "${rps[$c]}"); l50=$(med "${p50[$c]}"); l99=$(med "${p99[$c]}")
  awk -v n="$name" -v r="$r" -v b="$base_rps" -v l50="$l50" -v l99="$l99" -v b50="$base_p50" -v b99="$base_p99" \
    'BEGIN {printf "%-34s %12.0f %8.3f %10.0f %10.0f %12.0f %12.0f\n", n, r, r/b, l50, l99, l50-b50, l99-b99}'
done
echo "log lines written: (b) $(grep -c rule= "$work/b.log" || true), (c) $(grep -c rule= "$work/c.log" || true)"
