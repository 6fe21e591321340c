#!/usr/bin/env bash
# Unpacks the googleapis protos our schema imports (google/api/*, google/rpc/*)
# into the git-ignored third_party/googleapis, which buf.yaml lists as a module.
# They come from the npm package google-proto-files because the Buf Schema
# Registry is not reachable from our build machines; the version and tarball
# integrity are pinned here and nowhere else.
set -euo pipefail
cd "$(dirname "$0")/.."

VERSION=6.0.1
INTEGRITY='sha512-fbvUWVNh3rKGlVFWwlUNF7Sk1Tah0a89q02rLTXsWjbKKHGeuURAa8tl9rvu5TyWny1YiSIo5eDqF260Tai6vQ=='
DEST=third_party/googleapis
FILES=(
  google/api/annotations.proto google/api/http.proto google/api/field_behavior.proto
  google/api/client.proto google/api/launch_stage.proto
  google/rpc/status.proto google/rpc/error_details.proto google/rpc/code.proto
)

stamp="$DEST/.version"
if [[ -f "$stamp" && "$(cat "$stamp")" == "$VERSION" ]]; then
  exit 0
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --silent --json "google-proto-files@${VERSION}" >pack.json)
got=$(node -e 'console.log(JSON.parse(require("fs").readFileSync(process.argv[1]))[0].integrity)' "$tmp/pack.json")
if [[ "$got" != "$INTEGRITY" ]]; then
  echo "google-proto-files@${VERSION}: integrity $got, want $INTEGRITY" >&2
  exit 1
fi
rm -rf "$DEST"
mkdir -p "$DEST"
tar -xzf "$tmp/google-proto-files-${VERSION}.tgz" -C "$DEST" --strip-components=1 \
  package/LICENSE "${FILES[@]/#/package/}"
echo "$VERSION" >"$stamp"
