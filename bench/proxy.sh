#!/usr/bin/env bash
# Proxy overhead benchmark (docs/design.md section 8), one run on one machine.
#
# nginx on a unix socket answers `[]`. HAProxy runs
#   (a)  a pass-through config: no rules, no logging (the reference),
#   (a') the same pass-through with the rendered configs' per-request logging, no rules,
#   (b)  the rendered traefik config, (c) the rendered portainer-readonly config (logging on, as
#        users run them),
#   (d)  a fixture with Tecnativa's semantics (tests/fixtures/tecnativa-style.cfg, CONTAINERS=1).
# wrk drives GET /v1.41/containers/json on loopback, bounded in time, in alternating rounds;
# every figure is a median over rounds.
#
# Throughput: HAProxy runs one thread pinned to its own core, wrk and nginx share the other, so
# HAProxy is the bottleneck and the ratio to (a) is its own per-request cost (the worst case for
# the proxy). HAProxy's CPU time per request (from /proc) is printed next to it.
# Latency: one connection, one request at a time (as the docker CLI and most clients call), so
# the added p50/p99 is the time HAProxy spends on a request, not queueing behind 32 others.
# Real daemon (unless SPG_BENCH_PODMAN=0, and if podman is installed): (a) and (b) in front of
# `podman system service`, unpinned, what a client of a real daemon feels.
#
# Logs go to files, as a container's stdout ends up in one.
#
# Usage: bash bench/proxy.sh [ROUNDS] [SECONDS] [CONNECTIONS]   (defaults 5, 5, 32)
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-5}
seconds=${2:-5}
conns=${3:-32}
source bench/lib.sh

passthrough() { # $1 port, $2 backend socket, $3 "log" for the rendered configs' logging
  local log_global="" log_defaults="" log_format=""
  if [ "${3:-}" = log ]; then
    log_global="    log stdout format raw local0 info"
    log_defaults="    log global"
    log_format=$(grep -m1 '^    log-format ' "$work/b.cfg")
  fi
  cat <<CFG
global
    nbthread 1
$log_global
defaults
    mode http
$log_defaults
    timeout connect 5s
    timeout client 1m
    timeout server 1m
frontend passthrough
    bind 127.0.0.1:$1
$log_format
    default_backend upstream
backend upstream
    server upstream unix@$2
CFG
}
render() { # $1 preset, $2 port, $3 health port, $4 socket, $5 output
  "$bin" render --preset "$1" --listen 127.0.0.1 --port "$2" --health "127.0.0.1:$3" \
    --socket "$4" -o "$work/rendered.cfg" 2>/dev/null
  one_thread "$work/rendered.cfg" "$5"
}

declare -A port=([a]=31001 [l]=31005 [b]=31002 [c]=31003 [d]=31004)
render traefik "${port[b]}" 31012 "$sock" "$work/b.cfg"
render portainer-readonly "${port[c]}" 31013 "$sock" "$work/c.cfg"
passthrough "${port[a]}" "$sock" > "$work/a.cfg"
passthrough "${port[l]}" "$sock" log > "$work/l.cfg"
one_thread tests/fixtures/tecnativa-style.cfg "$work/d.cfg"

declare -A hpid
for c in a l b c; do
  "${proxy_cpu[@]}" haproxy -db -f "$work/$c.cfg" >"$work/$c.log" 2>&1 & pids+=($!); hpid[$c]=$!
done
env PORT="${port[d]}" SOCKET_PATH="$sock" LOG_LEVEL=info EVENTS=1 PING=1 VERSION=1 CONTAINERS=1 \
  "${proxy_cpu[@]}" haproxy -db -f "$work/d.cfg" >"$work/d.log" 2>&1 & pids+=($!); hpid[d]=$!
sleep 1

declare -A rps cpu lat50 lat99
configs="a l b c d"
for r in $(seq "$rounds"); do
  # Alternate the order each round, so drift of the machine hits every config alike.
  for c in $(round_order "$r" "$configs"); do
    read -r u x < <(cpu_per_request "${hpid[$c]}" "${port[$c]}" "$conns")
    rps[$c]+="$x "; cpu[$c]+="$u "
    read -r _ _ y z < <(wrk_run "${port[$c]}" 1 1)
    lat50[$c]+="$y "; lat99[$c]+="$z "
  done
done

name() {
  case $1 in
    a) echo "(a) pass-through, no rules, no log";; l) echo "(a') pass-through, logging on";;
    b) echo "(b) rendered traefik";; c) echo "(c) rendered portainer-readonly";;
    d) echo "(d) Tecnativa semantics";; pa) echo "(a) pass-through to podman";;
    pb) echo "(b) rendered traefik to podman";;
  esac
}
echo
echo "date: $(date -u +%Y-%m-%dT%H:%MZ)  machine: $(nproc) cores, $(uname -m), $(haproxy -v | sed -n 1p | awk '{print "HAProxy", $3}'), nginx $(nginx -v 2>&1 | sed 's|.*/||'), pinned: $pinned"
echo "wrk: $rounds rounds x ${seconds}s, GET /v1.41/containers/json; medians over rounds"
echo
echo "throughput, 1 wrk thread, $conns connections (ratios: to (a) in the same round, median):"
printf '%-38s %9s %7s %11s %9s\n' config req/s ratio cpu_us/req cpu_ratio
for c in $configs; do
  awk -v n="$(name $c)" -v r="$(median <<<"${rps[$c]}")" -v q="$(paired ratio "${rps[$c]}" "${rps[a]}")" \
    -v u="$(median <<<"${cpu[$c]}")" -v uq="$(paired ratio "${cpu[$c]}" "${cpu[a]}")" \
    'BEGIN {printf "%-38s %9.0f %7.3f %11.2f %9.3f\n", n, r, q, u, uq}'
done
echo
echo "latency, 1 connection, one request at a time (added: over (a) in the same round, median):"
printf '%-38s %8s %8s %10s %10s  %s\n' config p50_us p99_us p50_added p99_added "p99_us per round"
for c in $configs; do
  awk -v n="$(name $c)" -v l50="$(median <<<"${lat50[$c]}")" -v l99="$(median <<<"${lat99[$c]}")" \
    -v a50="$(paired diff "${lat50[$c]}" "${lat50[a]}")" -v a99="$(paired diff "${lat99[$c]}" "${lat99[a]}")" \
    -v each="${lat99[$c]}" \
    'BEGIN {printf "%-38s %8.0f %8.0f %10.0f %10.0f  %s\n", n, l50, l99, a50, a99, each}'
done
echo "log lines written: (a') $(grep -c rule= "$work/l.log" || true), (b) $(grep -c rule= "$work/b.log" || true), (c) $(grep -c rule= "$work/c.log" || true)"

if [ "${SPG_BENCH_PODMAN:-1}" = 0 ] || ! command -v podman >/dev/null; then exit 0; fi
podman_sock=$work/podman.sock
podman system service --time=0 "unix://$podman_sock" >/dev/null 2>&1 & pids+=($!)
for _ in $(seq 50); do [ -S "$podman_sock" ] && break; sleep 0.1; done
render traefik 31022 31032 "$podman_sock" "$work/pb.cfg"
passthrough 31021 "$podman_sock" > "$work/pa.cfg"
declare -A pport=([pa]=31021 [pb]=31022)
for c in pa pb; do haproxy -db -f "$work/$c.cfg" >"$work/$c.log" 2>&1 & pids+=($!); done
sleep 1
load_cpu=()
for r in $(seq "$rounds"); do
  for c in $(round_order "$r" "pa pb"); do
    read -r x _ y z < <(wrk_run "${pport[$c]}" 2 8)
    rps[$c]+="$x "; lat50[$c]+="$y "; lat99[$c]+="$z "
  done
done
echo
echo "real daemon: $(podman --version), unpinned, 2 wrk threads, 8 connections:"
printf '%-38s %9s %7s %8s %8s %10s %10s\n' config req/s ratio p50_us p99_us p50_added p99_added
for c in pa pb; do
  awk -v n="$(name $c)" -v r="$(median <<<"${rps[$c]}")" -v q="$(paired ratio "${rps[$c]}" "${rps[pa]}")" \
    -v l50="$(median <<<"${lat50[$c]}")" -v l99="$(median <<<"${lat99[$c]}")" \
    -v a50="$(paired diff "${lat50[$c]}" "${lat50[pa]}")" -v a99="$(paired diff "${lat99[$c]}" "${lat99[pa]}")" \
    'BEGIN {printf "%-38s %9.0f %7.3f %8.0f %8.0f %10.0f %10.0f\n", n, r, q, l50, l99, a50, a99}'
done
