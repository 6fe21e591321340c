#!/usr/bin/env bash
# The gateway driven by curl: a gRPC-only A2A agent (a2agrpc serve with no
# HTTP listener), the a2agrpc gateway in front of it, and the HTTP bindings
# exercised with plain curl: the Agent Card, HTTP+JSON, SSE and JSON-RPC.
#
#   ./examples/gateway/run.sh            (from the repository root)
#
# Ports: GRPC_PORT (default 50061) and HTTP_PORT (default 8081).
set -euo pipefail
cd "$(dirname "$0")/../.."
GRPC_PORT="${GRPC_PORT:-50061}"
HTTP_PORT="${HTTP_PORT:-8081}"
BASE="http://127.0.0.1:${HTTP_PORT}"

bin="$(mktemp -d)"
trap 'kill $(jobs -p) 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$bin"' EXIT
go build -o "$bin/a2agrpc" ./cmd/a2agrpc

"$bin/a2agrpc" serve -grpc-addr "127.0.0.1:${GRPC_PORT}" -http-addr "" -store memory >/dev/null &
"$bin/a2agrpc" gateway -target "127.0.0.1:${GRPC_PORT}" -http-addr "127.0.0.1:${HTTP_PORT}" >/dev/null &
for _ in $(seq 50); do
  curl -sf "$BASE/.well-known/agent-card.json" >/dev/null && break
  sleep 0.1
done

echo "== the Agent Card"
curl -sf "$BASE/.well-known/agent-card.json"
echo
echo "== message:send (HTTP+JSON)"
curl -sf -X POST "$BASE/message:send" -H 'Content-Type: application/a2a+json' \
  -d '{"message":{"messageId":"m1","role":"ROLE_USER","parts":[{"text":"hello gateway"}]}}'
echo
echo "== message:stream (SSE)"
curl -sfN -X POST "$BASE/message:stream" -H 'Content-Type: application/a2a+json' \
  -d '{"message":{"messageId":"m2","role":"ROLE_USER","parts":[{"text":"streamed"}]}}'
echo "== ListTasks (JSON-RPC)"
curl -sf -X POST "$BASE/jsonrpc" -H 'Content-Type: application/json' \
  -d '{"jsonrpc":"2.0","id":1,"method":"ListTasks","params":{"pageSize":10}}'
echo
echo "== an unknown task (AIP-193 error, HTTP 404)"
curl -s -w '\nHTTP %{http_code}\n' "$BASE/tasks/no-such-task"
