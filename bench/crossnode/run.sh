#!/usr/bin/env bash
# Cross-node broadcast benchmark: starts redis-server on a free loopback
# port, builds siobench (bench/server) and crossnode, and for each Redis
# adapter starts two siobench nodes on that Redis, runs crossnode against
# them and stops them; then stops Redis. Prints one markdown table.
#
#   bench/crossnode/run.sh [-modes "classic sharded streams"] [crossnode flags...]
#   bench/crossnode/run.sh -modes classic -receivers 100 -rate 500 -duration 10s
#
# Bounded: every crossnode run is killed after 4 x its -duration + 60 s
# (timeout(1)); everything started here is stopped on exit, Ctrl-C included.
set -euo pipefail

root="$(cd "$(dirname "$0")/../.." && pwd)"
modes="classic sharded streams"
if [[ "${1:-}" == "-modes" ]]; then
  modes="$2"
  shift 2
fi
args=("$@")

duration=10
for ((i = 0; i < ${#args[@]}; i++)); do
  case "${args[i]}" in
    -duration=*) d="${args[i]#-duration=}" ;;
    -duration) d="${args[i + 1]:-10s}" ;;
    *) continue ;;
  esac
  # whole seconds of a Go duration: 10s, 2.5s, 1m, 500ms (anything else: 600)
  if [[ "$d" =~ ^([0-9]+)(\.[0-9]+)?s$ ]]; then
    duration=$((BASH_REMATCH[1] + 1))
  elif [[ "$d" =~ ^([0-9]+)m$ ]]; then
    duration=$((BASH_REMATCH[1] * 60))
  elif [[ "$d" =~ ^[0-9.]+(ms|us|ns)$ ]]; then
    duration=1
  else
    duration=600
  fi
done
limit=$((4 * duration + 60))

command -v redis-server >/dev/null || { echo "run.sh: redis-server is missing: run \`make redis\` (apt-get install redis-server)" >&2; exit 1; }

work="$(mktemp -d)"
pids=() # running: redis-server, the nodes of the current adapter
stopall() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
}
cleanup() {
  stopall
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

freeport() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

waitport() { # host port name log
  for _ in $(seq 1 200); do
    if (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; then return 0; fi
    sleep 0.05
  done
  echo "run.sh: $3 did not start on $1:$2" >&2
  cat "$4" >&2 || true
  exit 1
}

echo "run.sh: building siobench and crossnode" >&2
(cd "$root" && go build -o "$work/siobench" ./bench/server && go build -o "$work/crossnode" ./bench/crossnode)

rport="$(freeport)"
redis-server --bind 127.0.0.1 --port "$rport" --save "" --appendonly no --dir "$work" \
  --protected-mode no --loglevel warning >"$work/redis.log" 2>&1 &
redis_pid=$!
pids=("$redis_pid")
waitport 127.0.0.1 "$rport" redis-server "$work/redis.log"
redis="redis://127.0.0.1:$rport"
echo "run.sh: $(redis-server --version | cut -d' ' -f1-3) on $redis; $(nproc) CPUs; $(go version | cut -d' ' -f3); load average $(cut -d' ' -f1-3 /proc/loadavg)" >&2

header=true
for mode in $modes; do
  urls=()
  for n in A B; do
    port="$(freeport)"
    "$work/siobench" -addr "127.0.0.1:$port" -redis "$redis" -redis-mode "$mode" >"$work/node-$mode-$n.log" 2>&1 &
    pids+=($!)
    waitport 127.0.0.1 "$port" "siobench $mode $n" "$work/node-$mode-$n.log"
    urls+=("http://127.0.0.1:$port")
  done
  status=0
  timeout --signal=TERM --kill-after=10 "$limit" \
    "$work/crossnode" -label "$mode" -header="$header" "${args[@]}" "${urls[@]}" || status=$?
  header=false
  echo "run.sh: $mode done; load average $(cut -d' ' -f1-3 /proc/loadavg)" >&2
  unset 'pids[0]' # the nodes only: Redis stays for the next adapter
  stopall
  pids=("$redis_pid")
  if [[ $status -ne 0 ]]; then
    echo "run.sh: crossnode failed for $mode (status $status); node logs:" >&2
    tail -n 20 "$work"/node-"$mode"-*.log >&2 || true
  fi
done
