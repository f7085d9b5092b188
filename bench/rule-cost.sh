#!/usr/bin/env bash
# What each kind of rule in the rendered config costs HAProxy, per request: a rule's cost is too
# small to see once, so every variant adds COPIES copies of one kind to the rendered traefik
# config and the cost per copy is (CPU per request of the variant - of the config) / COPIES,
# paired per round, median over rounds. The request is GET /v1.41/containers/json, which the
# first route rule grants, so the copies run after it, as the rest of a client's rules do.
#
# Usage: bash bench/rule-cost.sh [ROUNDS] [SECONDS] [COPIES]   (defaults 5, 3, 100)
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-5}
seconds=${2:-3}
copies=${3:-100}
source bench/lib.sh

"$bin" render --preset traefik --listen 127.0.0.1 --port 31101 \
  --health 127.0.0.1:31111 --socket "$sock" -o "$work/rendered.cfg" 2>/dev/null
one_thread "$work/rendered.cfg" "$work/base.cfg"

# $1 name, $2 the rule to copy; inserted before the second route rule, i.e. after the match.
variant() {
  awk -v rule="$2" -v n="$copies" '/str\(allow:GET:\/containers\/\*\*\/json\)/ {for (i = 0; i < n; i++) print rule} {print}' \
    "$work/base.cfg" > "$work/$1.cfg"
  [ "$(grep -cF -- "$2" "$work/$1.cfg")" -eq "$copies" ] || { echo "variant $1: anchor not found" >&2; exit 1; }
}
variant skipped '    http-request set-var(txn.spg_rule) str(x) if !{ var(txn.spg_rule) -m found } { method GET } { var(txn.spg_route) -m str /nothing }'
variant method '    http-request set-var(txn.spg_probe) str(x) if { method POST } { var(txn.spg_route) -m str /nothing }'
variant exact '    http-request set-var(txn.spg_probe) str(x) if { method GET } { var(txn.spg_route) -m str /nothing }'
variant regex '    http-request set-var(txn.spg_probe) str(x) if { method GET } { var(txn.spg_route) -m reg ^/nothing/[^/]+(/[^/]+)*/json$ }'
variant setvar '    http-request set-var(txn.spg_probe) str(x)'
# The path checks and the version strip (sections 1 and 2 of the template), COPIES/5 times.
pre_copies=$((copies / 5))
awk -v n="$pre_copies" '
  /# 1\. Read the path/ {inpre = 1}
  /# 3\. Rules/ {for (i = 1; i < n; i++) printf "%s", pre; inpre = 0}
  inpre && /^    http-request/ {pre = pre $0 "\n"}
  {print}' "$work/base.cfg" > "$work/preamble.cfg"

kinds="skipped method exact regex setvar preamble"
declare -A port hpid
p=31120
for k in base $kinds; do
  p=$((p + 1)); port[$k]=$p
  sed -i "s/bind 127.0.0.1:31101/bind 127.0.0.1:$p/; s/127.0.0.1:31111/127.0.0.1:$((p + 100))/" "$work/$k.cfg"
  haproxy -c -q -f "$work/$k.cfg" || { echo "variant $k is not a valid config" >&2; exit 1; }
  "${proxy_cpu[@]}" haproxy -db -f "$work/$k.cfg" >/dev/null 2>&1 & pids+=($!); hpid[$k]=$!
done
sleep 1

declare -A cpu
for r in $(seq "$rounds"); do
  for k in $(round_order "$r" "base $kinds"); do
    read -r u _ < <(cpu_per_request "${hpid[$k]}" "${port[$k]}" 32)
    cpu[$k]+="$u "
  done
done

echo
echo "date: $(date -u +%Y-%m-%dT%H:%MZ)  machine: $(nproc) cores, $(uname -m), $(haproxy -v | sed -n 1p | awk '{print "HAProxy", $3}'), pinned: $pinned"
echo "$rounds rounds x ${seconds}s, GET /v1.41/containers/json on the rendered traefik config; CPU per request, paired per round, median"
echo "rendered config: $(median <<<"${cpu[base]}") us per request"
printf '%-10s %7s %14s  %s\n' kind copies ns_per_copy "rule copied"
for k in $kinds; do
  n=$copies; [ "$k" = preamble ] && n=$((pre_copies - 1))
  case $k in
    skipped) what="a route rule after the match (its first test, 'rule already set', fails)";;
    method) what="a route rule of another method";;
    exact) what="a route rule of the same method, exact path (-m str), no match";;
    regex) what="a route rule of the same method, templated path (-m reg), no match";;
    setvar) what="set-var of a constant, unconditional";;
    preamble) what="sections 1-2: decode, the four path checks, the 400 return, version strip";;
  esac
  awk -v k="$k" -v n="$n" -v d="$(paired diff "${cpu[$k]}" "${cpu[base]}")" -v w="$what" \
    'BEGIN {printf "%-10s %7d %14.0f  %s\n", k, n, d * 1000 / n, w}'
done
