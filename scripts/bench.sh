#!/usr/bin/env bash
# make bench: measures the a2agrpc gRPC server against the bare grpc-go echo
# baseline in one run, with the method of ../shared/reference/performance.md:
# server pinned to CPU 1 and load generator to CPU 0 (when taskset exists),
# a fresh server process per target and run, warm-up before each window,
# every reply verified, medians of RUNS runs, server CPU time per call read
# from /proc. Prints a table and the ratios, and writes them to
# .tmp/bench/results.md.
#
# Knobs (environment): RUNS (default 3), DURATION (5s), WARMUP (1s), C (16),
# CONNS (1), STREAMS (10000 idle SubscribeToTask streams for the memory
# figure; 0 skips it).
set -euo pipefail
cd "$(dirname "$0")/.."

source scripts/bench-common.sh
CONNS=${CONNS:-1}
STREAMS=${STREAMS:-10000}

# run_case NAME SERVER_CMD... : one fresh server process, then unary and stream windows
run_case() {
  local name=$1 target=$2 modes=$3; shift 3
  local port; port=$(free_port)
  $SERVER_CPU "$BIN" "$@" "127.0.0.1:$port" >"$OUT/$name.server.log" 2>&1 &
  local pid=$!
  pids+=("$pid")
  for _ in $(seq 50); do (echo >/dev/tcp/127.0.0.1/$port) 2>/dev/null && break; sleep 0.1; done
  for mode in $modes; do
    $LOAD_CPU "$BIN" bench -json -target "$target" -addr "127.0.0.1:$port" -mode "$mode" \
      -c "$C" -conns "$CONNS" -d "$DURATION" -warmup "$WARMUP" -server-pid "$pid" \
      | sed "s/^{/{\"case\":\"$name\",/" >>"$OUT/raw.jsonl"
  done
  kill "$pid"; wait "$pid" 2>/dev/null || true
}

: >"$OUT/raw.jsonl"
for run in $(seq "$RUNS"); do
  echo "bench: run $run/$RUNS" >&2
  run_case grpc-raw grpc-raw "unary stream" baseline -addr
  run_case a2agrpc grpc "unary stream" serve -store memory -grpc-addr
  run_case a2agrpc-mesh mesh "unary stream" serve -store memory -grpc-addr
done

if [[ $STREAMS -gt 0 ]]; then
  echo "bench: $STREAMS idle SubscribeToTask streams" >&2
  port=$(free_port)
  $SERVER_CPU "$BIN" serve -store memory -grpc-addr "127.0.0.1:$port" >"$OUT/idle.server.log" 2>&1 &
  pid=$!
  pids+=("$pid")
  for _ in $(seq 50); do (echo >/dev/tcp/127.0.0.1/$port) 2>/dev/null && break; sleep 0.1; done
  $LOAD_CPU "$BIN" bench -json -mode idle -streams "$STREAMS" -addr "127.0.0.1:$port" -server-pid "$pid" \
    | sed 's/^{/{"case":"idle",/' >>"$OUT/raw.jsonl"
  kill "$pid"; wait "$pid" 2>/dev/null || true
fi

python3 - "$OUT/raw.jsonl" "$OUT/results.md" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
idle = [r for r in rows if r["case"] == "idle"]
rows = [r for r in rows if r["case"] != "idle"]
def med(case, mode, key):
    v = [r[key] for r in rows if r["case"] == case and r["mode"] == mode]
    return statistics.median(v) if v else float("nan")
lines = ["| case | mode | calls/s | events/s | p50 µs | p99 µs | server CPU µs/call | load gen CPU % | errors |", "|---|---|--:|--:|--:|--:|--:|--:|--:|"]
for case in ["grpc-raw", "a2agrpc", "a2agrpc-mesh"]:
    for mode in ["unary", "stream"]:
        errs = sum(r["errors"] for r in rows if r["case"] == case and r["mode"] == mode)
        lines.append(f"| {case} | {mode} | {med(case,mode,'rate'):,.0f} | {med(case,mode,'eventRate'):,.0f} | {med(case,mode,'p50us'):,.0f} | {med(case,mode,'p99us'):,.0f} | {med(case,mode,'serverCPUus'):.1f} | {med(case,mode,'loadCPUpct'):.0f} | {errs} |")
def ratio(a, b): return a / b if b else float("nan")
u, ur = med("a2agrpc","unary","rate"), med("grpc-raw","unary","rate")
s, sr = med("a2agrpc","stream","rate"), med("grpc-raw","stream","rate")
cu, cur = med("a2agrpc","unary","serverCPUus"), med("grpc-raw","unary","serverCPUus")
m = med("a2agrpc-mesh","unary","rate")
lines += ["", "| ratio | value | target |", "|---|--:|--:|",
  f"| unary req/s, a2agrpc ÷ bare grpc-go | {ratio(u,ur):.2f}× | ≥ 0.75× |",
  f"| unary server CPU/call, a2agrpc ÷ bare grpc-go | {ratio(cu,cur):.2f}× | ≤ 1.5× |",
  f"| 5-event streams/s, a2agrpc ÷ bare grpc-go | {ratio(s,sr):.2f}× | ≥ 0.4× |",
  f"| mesh unary req/s ÷ a2agrpc unary req/s | {ratio(m,u):.2f}× | ≥ 1.2× |"]
for r in idle:
    lines.append(f"| server memory per idle SubscribeToTask stream ({r['streams']:,} held) | {r['bytesPerStream']/1024:.1f} KiB | ≤ 20 KiB |")
out = "\n".join(lines)
print(out)
open(sys.argv[2], "w").write(out + "\n")
PY
