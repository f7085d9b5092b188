#!/usr/bin/env bash
# The cost of the body guard on container create, measured side by side, as ratios:
#
#  (a) HAProxy alone: POST /v1.41/containers/create with a docker-CLI-shaped body (1.6 KB)
#      through the rendered watchtower config (guarded) and through the same config rendered
#      from a preset whose create grant is `body: unguarded`, to the nginx stand-in; wrk, one
#      HAProxy thread on its own core, alternating rounds; requests/s and HAProxy CPU per
#      request, paired per round, median over rounds.
#  (b) End to end on the real Docker Engine (when its socket is up, as .ci/setup leaves it):
#      CREATES creates of spg/busybox through each proxy, alternating one by one, then removed;
#      the median time of a create through each, and the ratio.
#
# Usage: bash bench/create-guard.sh [ROUNDS] [SECONDS] [CREATES]   (defaults 5, 3, 40)
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-5}
seconds=${2:-3}
creates=${3:-40}
source bench/lib.sh

# The same grants, with and without the guard on create.
"$bin" presets show watchtower --yaml 2>/dev/null > "$work/guarded.yaml"
python3 - "$work/guarded.yaml" "$work/unguarded.yaml" <<'PY'
import sys
text = open(sys.argv[1]).read()
marker = "- route: POST /containers/create\n"
i = text.index(marker)
end = text.index("\n", text.index("reason:", i)) + 1
indent = " " * (text[:i].rsplit("\n", 1)[1].__len__() + 2)
text = text[:end] + f"{indent}body:\n{indent}  profile: unguarded\n{indent}  reason: benchmark baseline\n" + text[end:]
open(sys.argv[2], "w").write(text.replace("name: watchtower", "name: watchtower-unguarded"))
PY
render() { # $1 name, $2 port, $3 socket
  "$bin" render --preset-file "$work/$1.yaml" --listen 127.0.0.1 --port "$2" \
    --health "127.0.0.1:$(($2 + 10))" --socket "$3" -o "$work/$1-$2.raw.cfg" 2>/dev/null
  one_thread "$work/$1-$2.raw.cfg" "$work/$1-$2.cfg"
}
render guarded 31201 "$sock"
render unguarded 31202 "$sock"
grep -q 'deny:body:privileged' "$work/guarded-31201.cfg"
! grep -q 'req.body' "$work/unguarded-31202.cfg"

# What `docker create -p 8080:80 -e A=1 -l x=y -v data:/data --restart unless-stopped` sends.
body='{"Hostname":"","Domainname":"","User":"","AttachStdin":false,"AttachStdout":true,"AttachStderr":true,"ExposedPorts":{"80/tcp":{}},"Tty":false,"OpenStdin":false,"StdinOnce":false,"Env":["A=1"],"Cmd":["sh","-c","echo a\u003cb\u003ec \u0026\u0026 echo d"],"Image":"spg/busybox:latest","Volumes":null,"WorkingDir":"","Entrypoint":null,"OnBuild":null,"Labels":{"x":"y"},"HostConfig":{"Binds":["data:/data"],"ContainerIDFile":"","LogConfig":{"Type":"","Config":{}},"NetworkMode":"default","PortBindings":{"80/tcp":[{"HostIp":"","HostPort":"8080"}]},"RestartPolicy":{"Name":"unless-stopped","MaximumRetryCount":0},"AutoRemove":false,"VolumeDriver":"","VolumesFrom":null,"ConsoleSize":[0,0],"CapAdd":null,"CapDrop":null,"CgroupnsMode":"","Dns":[],"DnsOptions":[],"DnsSearch":[],"ExtraHosts":null,"GroupAdd":null,"IpcMode":"","Cgroup":"","Links":null,"OomScoreAdj":0,"PidMode":"","Privileged":false,"PublishAllPorts":false,"ReadonlyRootfs":false,"SecurityOpt":null,"UTSMode":"","UsernsMode":"","ShmSize":0,"Isolation":"","CpuShares":0,"Memory":0,"NanoCpus":0,"CgroupParent":"","BlkioWeight":0,"BlkioWeightDevice":[],"BlkioDeviceReadBps":[],"BlkioDeviceWriteBps":[],"BlkioDeviceReadIOps":[],"BlkioDeviceWriteIOps":[],"CpuPeriod":0,"CpuQuota":0,"CpuRealtimePeriod":0,"CpuRealtimeRuntime":0,"CpusetCpus":"","CpusetMems":"","Devices":[],"DeviceCgroupRules":null,"DeviceRequests":null,"MemoryReservation":0,"MemorySwap":0,"MemorySwappiness":null,"OomKillDisable":null,"PidsLimit":null,"Ulimits":[],"CpuCount":0,"CpuPercent":0,"IOMaximumIOps":0,"IOMaximumBandwidth":0,"MaskedPaths":null,"ReadonlyPaths":null},"NetworkingConfig":{"EndpointsConfig":{}}}'
lua=$work/create.lua
python3 - "$body" "$lua" <<'PY'
import json, sys
open(sys.argv[2], "w").write(
    'wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\nwrk.body = '
    + json.dumps(sys.argv[1]) + "\n")
PY

declare -A hpid
for name in guarded-31201 unguarded-31202; do
  "${proxy_cpu[@]}" haproxy -f "$work/$name.cfg" >/dev/null 2>&1 & hpid[$name]=$!; pids+=($!)
done
for port in 31201 31202; do
  for _ in $(seq 50); do curl -s -o /dev/null "http://127.0.0.1:$port/_ping" && break; sleep 0.1; done
done
# Both must answer the create with the backend's 200, not a refusal.
for port in 31201 31202; do
  code=$(curl -s -o /dev/null -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
    --data-binary "$body" "http://127.0.0.1:$port/v1.41/containers/create")
  [ "$code" = 200 ] || { echo "port $port answered $code to the create body" >&2; exit 1; }
done

wrk_post() { # $1 port; prints "rps requests"
  local out non2xx
  out=$("${load_cpu[@]}" wrk -t1 -c8 -d"${seconds}s" -s "$lua" "http://127.0.0.1:$1/v1.41/containers/create")
  non2xx=$(awk '/Non-2xx/ {print $NF}' <<<"$out")
  [ -z "$non2xx" ] || { echo "port $1 answered non-2xx: $non2xx" >&2; exit 1; }
  echo "$(awk '/^Requests\/sec:/ {print $2}' <<<"$out") $(awk '/ requests in / {print $1}' <<<"$out")"
}
declare -A rps cpu
for r in $(seq "$rounds"); do
  for name in $(round_order "$r" "guarded-31201 unguarded-31202"); do
    port=${name#*-}
    t0=$(cpu_ticks "${hpid[$name]}")
    read -r x n < <(wrk_post "$port")
    t1=$(cpu_ticks "${hpid[$name]}")
    rps[$name]+="$x "
    cpu[$name]+="$(awk -v t=$((t1 - t0)) -v k="$ticks_per_s" -v n="$n" 'BEGIN {print t / k * 1e6 / n}') "
  done
done
echo "HAProxy $(haproxy -v | awk 'NR==1 {print $3}'), pinned=$pinned, $rounds rounds of ${seconds}s, body $(printf %s "$body" | wc -c) bytes"
echo "(a) create through HAProxy to nginx:"
printf '    unguarded: %8.0f req/s, %6.1f us HAProxy CPU per request (medians)\n' \
  "$(median <<<"${rps[unguarded-31202]}")" "$(median <<<"${cpu[unguarded-31202]}")"
printf '    guarded:   %8.0f req/s, %6.1f us HAProxy CPU per request (medians)\n' \
  "$(median <<<"${rps[guarded-31201]}")" "$(median <<<"${cpu[guarded-31201]}")"
printf '    guarded/unguarded: throughput %.3f, CPU per request %.2f (paired per round)\n' \
  "$(paired ratio "${rps[guarded-31201]}" "${rps[unguarded-31202]}")" \
  "$(paired ratio "${cpu[guarded-31201]}" "${cpu[unguarded-31202]}")"

engine=${SPG_STATE:-/var/lib/sockproxy-gen}/docker/docker.sock
if ! docker -H "unix://$engine" version >/dev/null 2>&1; then
  echo "(b) skipped: no Docker Engine on $engine (bash .ci/setup starts it)"
  exit 0
fi
render guarded 31301 "$engine"
render unguarded 31302 "$engine"
for name in guarded-31301 unguarded-31302; do
  haproxy -f "$work/$name.cfg" >/dev/null 2>&1 & pids+=($!)
done
for port in 31301 31302; do
  for _ in $(seq 50); do curl -s -o /dev/null "http://127.0.0.1:$port/_ping" && break; sleep 0.1; done
done
net=spgbench$$
docker -H "unix://$engine" network create "$net" >/dev/null
engine_cleanup() {
  ids=$(docker -H "unix://$engine" ps -aq --filter "name=spgbench$$-")
  [ -z "$ids" ] || docker -H "unix://$engine" rm -f $ids >/dev/null
  docker -H "unix://$engine" network rm "$net" >/dev/null || true
  docker -H "unix://$engine" volume rm -f "spgbench$$" >/dev/null || true
  cleanup
}
trap engine_cleanup EXIT
ebody=${body//\"NetworkMode\":\"default\"/\"NetworkMode\":\"$net\"}
ebody=${ebody//data:\/data/spgbench$$:\/data}
declare -A took
for i in $(seq "$creates"); do
  for port in $(round_order "$i" "31301 31302"); do
    t=$(curl -s -o /dev/null -w '%{http_code} %{time_total}' -X POST -H 'Content-Type: application/json' \
      --data-binary "$ebody" "http://127.0.0.1:$port/v1.41/containers/create?name=spgbench$$-$port-$i")
    [ "${t%% *}" = 201 ] || { echo "create through $port answered ${t%% *}" >&2; exit 1; }
    took[$port]+="$(awk -v s="${t#* }" 'BEGIN {print s * 1000}') "
  done
done
echo "(b) create on the Docker Engine ($(docker -H "unix://$engine" version -f '{{.Server.Version}}')), $creates each, alternating:"
printf '    unguarded: %.1f ms, guarded: %.1f ms (medians); guarded/unguarded %.3f (paired per create)\n' \
  "$(median <<<"${took[31302]}")" "$(median <<<"${took[31301]}")" \
  "$(paired ratio "${took[31301]}" "${took[31302]}")"
