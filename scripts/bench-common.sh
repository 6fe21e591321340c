# Sourced by the bench scripts: the shared method. Knobs RUNS (3), DURATION
# (5s), WARMUP (1s), C (16); builds the binary into .tmp/bench; pins the
# server to CPU 1 and the load generator to CPU 0 when taskset and a second
# core exist; free_port; and a trap that never leaves a server behind
# (append every server pid to pids).
RUNS=${RUNS:-3}
DURATION=${DURATION:-5s}
WARMUP=${WARMUP:-1s}
C=${C:-16}
OUT=.tmp/bench
mkdir -p "$OUT"
BIN=$OUT/a2agrpc
go build -o "$BIN" ./cmd/a2agrpc

SERVER_CPU="" LOAD_CPU=""
if command -v taskset >/dev/null && [[ $(nproc) -ge 2 ]]; then
  SERVER_CPU="taskset -c 1" LOAD_CPU="taskset -c 0"
else
  echo "bench: taskset or a second core unavailable; server and load share cores" >&2
fi

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2>/dev/null || echo $((20000 + RANDOM % 20000)); }

pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done' EXIT
