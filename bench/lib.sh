# Shared by the proxy benchmarks (sourced, not run): the set-up, pinning, wrk runs and the
# statistics. Sourcing it builds the release binary (`bin`), makes a temporary directory (`work`)
# and starts nginx on a unix socket in it (`sock`); on exit every pid the caller appends to
# `pids` is killed and `work` removed. The caller sets `seconds` before calling wrk_run.

for tool in haproxy nginx wrk taskset; do
  command -v "$tool" >/dev/null || { echo "$tool is missing: run bash .ci/setup" >&2; exit 1; }
done

# Two cores or more: HAProxy on core 1, load and backend on core 0, so HAProxy is the
# bottleneck and its own cost shows. One core: no pinning.
if [ "$(nproc)" -ge 2 ]; then proxy_cpu=(taskset -c 1); load_cpu=(taskset -c 0); pinned=yes
else proxy_cpu=(); load_cpu=(); pinned=no; fi

cargo build --release --quiet
bin=target/release/sockproxy-gen
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

# nginx on a unix socket answering `[]`, the fastest stand-in for the daemon.
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
"${load_cpu[@]}" nginx -c "$work/nginx.conf" -g 'daemon off;' & pids+=($!)

# One thread per HAProxy, so every config gets the same single core. $1 config in, $2 out.
one_thread() { sed 's/^global$/global\n    nbthread 1/' "$1" > "$2"; grep -q 'nbthread 1' "$2"; }

# wrk prints "Requests/sec: N", "N requests in", and with --latency "50% 1.23ms" style lines.
to_us() { awk '{v=$1; if (v ~ /us$/) {sub(/us$/,"",v); print v} else if (v ~ /ms$/) {sub(/ms$/,"",v); print v*1000} else if (v ~ /s$/) {sub(/s$/,"",v); print v*1000000}}'; }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
ticks_per_s=$(getconf CLK_TCK)
wrk_run() { # $1 port, $2 threads, $3 connections; prints "rps requests p50_us p99_us"
  local out non2xx
  out=$("${load_cpu[@]}" wrk -t"$2" -c"$3" -d"${seconds}s" --latency "http://127.0.0.1:$1/v1.41/containers/json")
  non2xx=$(awk '/Non-2xx/ {print $NF}' <<<"$out")
  [ -z "$non2xx" ] || { echo "port $1 answered non-2xx: $non2xx" >&2; exit 1; }
  echo "$(awk '/^Requests\/sec:/ {print $2}' <<<"$out") $(awk '/ requests in / {print $1}' <<<"$out")" \
    "$(awk '$1 == "50%" {print $2}' <<<"$out" | to_us) $(awk '$1 == "99%" {print $2}' <<<"$out" | to_us)"
}
# CPU microseconds HAProxy (pid $1) spent per request over one wrk run on port $2 with $3
# connections; prints "cpu_us rps".
cpu_per_request() {
  local t0 t1 x n
  t0=$(cpu_ticks "$1")
  read -r x n _ _ < <(wrk_run "$2" 1 "$3")
  t1=$(cpu_ticks "$1")
  echo "$(awk -v t=$((t1 - t0)) -v k="$ticks_per_s" -v n="$n" 'BEGIN {print t / k * 1e6 / n}') $x"
}

median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
# Paired statistics: a figure against the reference's in the same round, then the median over
# rounds, so a slow round of the machine moves both figures of a pair alike. $1 ratio|diff, $2
# and $3 the per-round figures of the config and of the reference, in round order.
paired() {
  paste -d' ' <(tr ' ' '\n' <<<"$2" | grep -v '^$') <(tr ' ' '\n' <<<"$3" | grep -v '^$') |
    awk -v m="$1" '{print (m == "ratio") ? $1 / $2 : $1 - $2}' | median
}
# Alternate the order each round ($1 round number, $2 the configs), so drift of the machine
# hits every config alike.
round_order() { if [ $(($1 % 2)) -eq 0 ]; then tr ' ' '\n' <<<"$2" | tac | xargs; else echo "$2"; fi; }
