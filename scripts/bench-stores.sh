#!/usr/bin/env bash
# make bench-stores: send + complete throughput and streaming figures of the
# a2agrpc gRPC server on each task store — in-memory, SQLite (the default of
# `a2agrpc serve`) and PostgreSQL — in one run, with the method of
# scripts/bench.sh (pinned cores, fresh server per run, warm-up, medians),
# and the ratio of each durable store to the in-memory one. Writes
# .tmp/bench/stores.md.
#
# PostgreSQL is taken from A2A_TEST_POSTGRES_DSN (default: the local
# postgres://postgres@127.0.0.1:5432/test); each run gets a fresh schema.
# Knobs: RUNS (3), DURATION (5s), WARMUP (1s), C (16).
set -euo pipefail
cd "$(dirname "$0")/.."

source scripts/bench-common.sh
DSN=${A2A_TEST_POSTGRES_DSN:-postgres://postgres@127.0.0.1:5432/test?sslmode=disable}

# run_case NAME STORE: one fresh server on STORE, unary then stream windows.
run_case() {
  local name=$1 store=$2
  local port; port=$(free_port)
  $SERVER_CPU "$BIN" serve -store "$store" -grpc-addr "127.0.0.1:$port" -http-addr "" >"$OUT/$name.server.log" 2>&1 &
  local pid=$!
  pids+=("$pid")
  for _ in $(seq 100); do (echo >/dev/tcp/127.0.0.1/$port) 2>/dev/null && break; sleep 0.1; done
  for mode in unary stream; do
    $LOAD_CPU "$BIN" bench -json -target grpc -addr "127.0.0.1:$port" -mode "$mode" \
      -c "$C" -d "$DURATION" -warmup "$WARMUP" -server-pid "$pid" \
      | sed "s/^{/{\"case\":\"$name\",/" >>"$OUT/stores.jsonl"
  done
  kill "$pid"; wait "$pid" 2>/dev/null || true
}

pg_schema() { # creates a fresh schema and prints the DSN that uses it
  local schema="a2agrpc_bench_$RANDOM$RANDOM"
  psql -q "$DSN" -c "CREATE SCHEMA $schema" >/dev/null
  local sep='?'; [[ $DSN == *\?* ]] && sep='&'
  echo "$DSN${sep}search_path=$schema"
}

: >"$OUT/stores.jsonl"
for run in $(seq "$RUNS"); do
  echo "bench-stores: run $run/$RUNS" >&2
  run_case memory memory
  db=$(mktemp -d)/tasks.db
  run_case sqlite "sqlite:$db"
  rm -rf "$(dirname "$db")"
  run_case postgres "$(pg_schema)"
done

python3 - "$OUT/stores.jsonl" "$OUT/stores.md" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
def med(case, mode, key):
    v = [r[key] for r in rows if r["case"] == case and r["mode"] == mode]
    return statistics.median(v) if v else float("nan")
lines = ["| store | mode | calls/s | × memory | events/s | p50 µs | p99 µs | first event p50 µs | server CPU µs/call | errors |",
         "|---|---|--:|--:|--:|--:|--:|--:|--:|--:|"]
for case in ["memory", "sqlite", "postgres"]:
    for mode in ["unary", "stream"]:
        errs = sum(r["errors"] for r in rows if r["case"] == case and r["mode"] == mode)
        base = med("memory", mode, "rate")
        lines.append(f"| {case} | {mode} | {med(case,mode,'rate'):,.0f} | {med(case,mode,'rate')/base:.2f}× | {med(case,mode,'eventRate'):,.0f} | "
                     f"{med(case,mode,'p50us'):,.0f} | {med(case,mode,'p99us'):,.0f} | {med(case,mode,'ttfeP50us'):,.0f} | {med(case,mode,'serverCPUus'):.1f} | {errs} |")
lines += ["", f"SQLite unary ÷ in-memory unary: {med('sqlite','unary','rate')/med('memory','unary','rate'):.2f}× (target ≥ 0.3×)"]
out = "\n".join(lines)
print(out)
open(sys.argv[2], "w").write(out + "\n")
PY
