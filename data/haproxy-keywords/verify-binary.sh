#!/usr/bin/env bash
# Compare the keyword tables of this folder (2.6.txt, 3.0.txt, 3.2.txt) with installed HAProxy binaries.
#
#   verify-binary.sh [--no-probe] [-j N] [VERSION ...]      (VERSION: 2.6 3.0 3.2; default: all three)
#
# Binaries (override with the environment variables HAPROXY_2_6, HAPROXY_3_0, HAPROXY_3_2, each a command):
#   2.6  haproxy on the host (Debian 12)
#   3.0  chroot /var/lib/sockproxy-gen/chroots/trixie haproxy
#   3.2  chroot /var/lib/sockproxy-gen/chroots/sid haproxy
#
# Two checks per version:
#  1. `haproxy -dKcfg` (registered keywords): every registered global/proxy/crt-store/traces/acme keyword and every
#     registered "option X" must be in the table. The reverse is reported as a count only: -dKcfg does not list the
#     keywords parsed by HAProxy's hard-coded parsers (most proxy keywords, several global ones).
#  2. probe (skipped with --no-probe): every table line is written alone, without arguments, into a small config
#     (`<section header>` + line) and checked with `haproxy -c`; a line is REFUSED when HAProxy reports it as an
#     unknown keyword/option/sub-keyword, as removed, or (for "no"/"default" lines, which take no argument) any
#     error. Errors about missing arguments are expected and count as accepted. Lines that status.txt marks
#     "build-option" are expected to be refused by Debian's binaries and are reported apart.
#     The probe does not check in which proxy section a keyword is allowed (HAProxy checks arguments first).
set -u
DIR=$(cd "$(dirname "$0")" && pwd)
PROBE=1; JOBS=4; VERSIONS=()
while [ $# -gt 0 ]; do
  case "$1" in
    --no-probe) PROBE=0 ;;
    -j) shift; JOBS=$1 ;;
    -h|--help) sed -n '2,22p' "$0"; exit 0 ;;
    *) VERSIONS+=("$1") ;;
  esac
  shift
done
[ ${#VERSIONS[@]} -eq 0 ] && VERSIONS=(2.6 3.0 3.2)

bin_for() {
  case "$1" in
    2.6) echo "${HAPROXY_2_6:-haproxy}" ;;
    3.0) echo "${HAPROXY_3_0:-chroot /var/lib/sockproxy-gen/chroots/trixie haproxy}" ;;
    3.2) echo "${HAPROXY_3_2:-chroot /var/lib/sockproxy-gen/chroots/sid haproxy}" ;;
  esac
}
# directory where the probe configs are written, as seen from outside and from inside the binary's root
root_for() { case "$1" in *chroot\ *) set -- $1; echo "$2" ;; *) echo "" ;; esac; }

header_for() {
  case "$1" in
    global) echo "global" ;; defaults) echo "defaults dflt" ;; frontend) echo "frontend fe" ;;
    backend) echo "backend be" ;; listen) echo "listen li" ;; traces) echo "traces" ;;
    *) echo "$1 s1" ;;
  esac
}

# probe one table line; prints "section<TAB>keyword<TAB>ACCEPTED|REFUSED<TAB>message"
probe_line() {
  local ver=$1 sec=$2 kw=$3 bin root tmpd f inner line pre hdr n out msgs m w got refused=0
  bin=$(bin_for "$ver"); root=$(root_for "$bin")
  tmpd="$root/tmp"; f=$(mktemp -p "$tmpd" kwverify.XXXXXX.cfg) || return
  inner="/tmp/$(basename "$f")"; [ -z "$root" ] && inner="$f"
  line=$kw
  case "$kw" in "http-check set-var"|"http-check set-var-fmt"|"http-check unset-var"|"tcp-check set-var"|"tcp-check set-var-fmt"|"tcp-check unset-var") line="$kw(check.x)";; esac
  pre="global
    expose-experimental-directives"
  [ "$ver" != 2.6 ] && pre="$pre
    expose-deprecated-directives"
  if [ "$sec" = global ]; then
    printf '%s\n    %s\n' "$pre" "$line" > "$f"; n=$( [ "$ver" = 2.6 ] && echo 3 || echo 4 )
  else
    hdr=$(header_for "$sec")
    printf '%s\n%s\n    %s\n' "$pre" "$hdr" "$line" > "$f"; n=$( [ "$ver" = 2.6 ] && echo 4 || echo 5 )
  fi
  out=$($bin -c -f "$inner" 2>&1); rm -f "$f"
  msgs=$(printf '%s\n' "$out" | sed -n "s/.*\[[^]]*:$n\] *:\{0,1\} *//p")
  m=$(printf '%s\n' "$msgs" | head -n 1)
  if printf '%s\n' "$msgs" | grep -Eq "unknown statement|out of section|'stick' expects 'on', 'match', or 'store'|'capture' expects 'cookie' or|unknown persist method|'timeout' expects '(mail|retry)|negation/default|unknown declaration type|not supported any ?more|doesn't exist anymore|only allowed after|'option' expects an option name"; then
    refused=1
  fi
  # "unknown keyword 'X'", "unknown option 'X'", "(got 'X')", "but got 'X'", ... where X is a word of the line
  for got in $(printf '%s\n' "$msgs" | grep -Eo "(unknown keyword|unknown option|unknown argument|unknown stats parameter|got) *'[^']+'" | sed "s/.*'\(.*\)'/\1/"); do
    for w in $kw; do [ "$got" = "$w" ] && refused=1; done
  done
  case "$kw" in no\ *|default\ *) printf '%s\n' "$out" | grep -q "ALERT.*:$n\]" && refused=1 ;; esac
  if [ $refused = 1 ]; then printf '%s\t%s\tREFUSED\t%s\n' "$sec" "$kw" "$m"; else printf '%s\t%s\tACCEPTED\t%s\n' "$sec" "$kw" "$m"; fi
}
export -f probe_line bin_for root_for header_for
export HAPROXY_2_6="$(bin_for 2.6)" HAPROXY_3_0="$(bin_for 3.0)" HAPROXY_3_2="$(bin_for 3.2)"

total_diff=0
for ver in "${VERSIONS[@]}"; do
  table="$DIR/$ver.txt"
  echo "=== HAProxy $ver: table $(basename "$table")"
  bin=$(bin_for "$ver")
  vline=$($bin -v 2>/dev/null | head -n 1)
  case "$vline" in
    "HAProxy version $ver."*) echo "binary: $bin -> $vline" ;;
    *) echo "SKIP: no HAProxy $ver binary ($bin -> ${vline:-not found})"; continue ;;
  esac
  tab=$(grep -v '^#' "$table" | grep -v '^$')
  # --- 1. -dKcfg
  dk=$($bin -dKcfg -q -c -f /dev/null 2>&1)
  first_words() { printf '%s\n' "$tab" | awk -F'\t' -v S="$1" 'S ~ "(^|,)" $1 "(,|$)" {k=$2; sub(/^(no|default) /,"",k); split(k,a," "); print a[1]}' | sort -u; }
  full_kw() { printf '%s\n' "$tab" | awk -F'\t' -v S="$1" 'S ~ "(^|,)" $1 "(,|$)" {print $2}' | sort -u; }
  dk_section() { printf '%s\n' "$dk" | awk -v S="$1" '/^[^\t#]/{cur=$1; next} /^\t/ && cur==S {sub(/^\t/,""); print}'; }
  for pair in "global:global" "listen:defaults,frontend,listen,backend" "crt-store:crt-store" "traces:traces" "acme:acme"; do
    dsec=${pair%%:*}; tsecs=${pair#*:}
    printf '%s\n' "$dk" | grep -q "^$dsec\$" || continue
    reg=$(dk_section "$dsec" | grep -v -E '^(bind|server) <|^(option|tcp-request|tcp-response|http-request|http-response|http-after-response|quic-initial|tcp-check|http-check) ' | awk '{print $1}' | sort -u)
    have=$(first_words "$tsecs")
    removed=$(awk -F'\t' -v V="$ver" '$1==V && $4=="removed" {print $3}' "$DIR/status.txt" | sort -u)
    miss=$(comm -23 <(printf '%s\n' "$reg") <(printf '%s\n' "$have") | grep -v '^$' | grep -vxF -f <(printf '%s\n' "$removed" | grep -v '^$'))
    nrem=$(comm -23 <(printf '%s\n' "$reg") <(printf '%s\n' "$have") | grep -v '^$' | grep -cxF -f <(printf '%s\n' "$removed" | grep -v '^$'))
    extra=$(comm -13 <(printf '%s\n' "$reg") <(printf '%s\n' "$have") | grep -v '^$' | wc -l)
    if [ -n "$miss" ]; then
      echo "  -dKcfg [$dsec] registered but missing from table: $(echo $miss)"; total_diff=$((total_diff+1))
    else
      echo "  -dKcfg [$dsec] $(printf '%s\n' "$reg" | grep -c .) registered keywords: all in the table or removed ($nrem registered only to report their removal; $extra table keywords are parsed outside the registry)"
    fi
  done
  opts=$(dk_section listen | sed -n 's/^option \([^ ]*\) .*/option \1/p' | sort -u)
  have=$(full_kw "defaults,frontend,listen,backend")
  miss=$(comm -23 <(printf '%s\n' "$opts") <(printf '%s\n' "$have") | grep -v '^$')
  if [ -n "$miss" ]; then echo "  -dKcfg options missing from table: $(echo $miss)"; total_diff=$((total_diff+1));
  else echo "  -dKcfg $(printf '%s\n' "$opts" | grep -c .) registered 'option X' flags: all in table"; fi
  # --- 2. probe
  [ $PROBE = 1 ] || continue
  res=$(printf '%s\n' "$tab" | awk -F'\t' '{print $1"\t"$2}' | \
        tr '\n' '\0' | xargs -0 -P "$JOBS" -I{} bash -c 'IFS=$'"'"'\t'"'"' read -r s k <<< "$1"; probe_line "$2" "$s" "$k"' _ {} "$ver")
  buildopt=$(awk -F'\t' -v V="$ver" '$1==V && $4=="build-option" {print $2"\t"$3}' "$DIR/status.txt" | sort -u)
  refused=$(printf '%s\n' "$res" | awk -F'\t' '$3=="REFUSED"{print $1"\t"$2"\t"$4}' | sort)
  unexpected=$(printf '%s\n' "$refused" | grep -v '^$' | while IFS=$'\t' read -r s k m; do printf '%s\n' "$buildopt" | grep -qxF "$s	$k" || printf '%s\t%s\t%s\n' "$s" "$k" "$m"; done)
  nb_ok=$(printf '%s\n' "$res" | grep -c $'\tACCEPTED\t')
  nb_ref=$(printf '%s\n' "$refused" | grep -c .)
  nb_bo=$(printf '%s\n' "$buildopt" | grep -c .)
  echo "  probe: $(printf '%s\n' "$tab" | grep -c .) table lines, $nb_ok accepted, $nb_ref refused ($nb_bo marked build-option in status.txt)"
  if [ -n "$unexpected" ]; then
    echo "  probe: refused but not marked build-option:"; printf '%s\n' "$unexpected" | sed 's/^/    /'; total_diff=$((total_diff+1))
  fi
  bo_acc=$(printf '%s\n' "$buildopt" | grep -v '^$' | while IFS=$'\t' read -r s k; do printf '%s\n' "$refused" | grep -q "^$s	$k	" || printf '%s %s\n' "$s" "$k"; done)
  [ -n "$bo_acc" ] && { echo "  probe: marked build-option but accepted by this binary: $(echo $bo_acc)"; total_diff=$((total_diff+1)); }
done
echo "=== differences: $total_diff"
[ $total_diff -eq 0 ]
