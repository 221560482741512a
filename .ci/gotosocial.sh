#!/usr/bin/env bash
# A real GoToSocial server on loopback for kith's end-to-end Fediverse test.
# Facts behind every step: ../shared/docs/gotosocial.md (v0.18.3 is the newest
# version that builds from the Go module proxy with Go 1.26).
#
#   .ci/gotosocial.sh build            build (or reuse) the pinned binary
#   .ci/gotosocial.sh up ENVFILE       build, start on 127.0.0.1 with a fresh data
#                                      dir, create alice, bob, carol and mallory, get their
#                                      tokens, write ENVFILE (sourceable KEY=VALUE)
#   .ci/gotosocial.sh down ENVFILE     stop the server started by up (by its PID)
#                                      and remove its data dir
#   .ci/gotosocial.sh run CMD ARGS...  up, run CMD with KITH_GTS_ENV=ENVFILE,
#                                      down (also on failure); exits with CMD's code
#
# Cache (binary, copied source for web/template, wazero compilation cache):
# $GTS_CACHE, default $HOME/.cache/kith-gts. Port: $GTS_PORT, default 18080.
# Needs curl. Network: the Go module proxy for the build, then
# loopback only.
set -euo pipefail

GTS_VERSION=v0.18.3
GTS_MODULE=github.com/superseriousbusiness/gotosocial
GTS_ZIP_SUM='h1:xSptoQ8fGg/d+itJWXHpKDpoc3N0Ls6fNX36l1860Hw='
GTS_CACHE="${GTS_CACHE:-$HOME/.cache/kith-gts}"
GTS_PORT="${GTS_PORT:-18080}"
PASSWORD='kith-e2e-Password-1234!'

# json_get KEY: the string value of the first KEY in the JSON on stdin
# (string values without escapes, which is all this script reads: ids,
# tokens, paths; an account's own "id" comes before its role's).
json_get() { grep -o '"'"$1"'" *: *"[^"]*"' | head -n 1 | sed 's/.*: *"\(.*\)"$/\1/'; }

log() { printf 'gotosocial.sh: %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }

build() {
  local bin="$GTS_CACHE/gotosocial"
  if [ -x "$bin" ] && [ -f "$GTS_CACHE/version" ] && [ "$(cat "$GTS_CACHE/version")" = "$GTS_VERSION" ] \
     && [ -d "$GTS_CACHE/src/web/template" ]; then
    return 0
  fi
  mkdir -p "$GTS_CACHE"
  log "building GoToSocial $GTS_VERSION into $GTS_CACHE (cold: several minutes)"
  local dl dir sum
  # The checksum database does not know GtS; pin the zip's hash ourselves.
  dl=$(cd "$GTS_CACHE" && GONOSUMDB="$GTS_MODULE" GOFLAGS=-mod=mod go mod download -json "$GTS_MODULE@$GTS_VERSION")
  dir=$(json_get Dir <<<"$dl")
  sum=$(json_get Sum <<<"$dl")
  [ "$sum" = "$GTS_ZIP_SUM" ] || die "module sum $sum, want $GTS_ZIP_SUM"
  rm -rf "$GTS_CACHE/src"
  cp -r "$dir" "$GTS_CACHE/src"
  chmod -R u+w "$GTS_CACHE/src"
  rm -f "$GTS_CACHE/src/vendor/modules.txt"
  (cd "$GTS_CACHE/src" && GONOSUMDB="$GTS_MODULE" GOFLAGS=-mod=mod CGO_ENABLED=0 \
    go build -trimpath -tags "netgo osusergo kvformat timetzdata" \
      -ldflags "-s -w -X main.Version=$GTS_VERSION" -o "$bin.tmp" ./cmd/gotosocial)
  mv "$bin.tmp" "$bin"
  echo "$GTS_VERSION" > "$GTS_CACHE/version"
}

# oauth_token USER_EMAIL: the out-of-band authorization-code flow with a
# cookie jar (GtS has no password grant); prints the access token.
oauth_token() {
  local email=$1 jar code loc
  jar=$(mktemp "$W/jar.XXXXXX")
  local q="client_id=$CLIENT_ID&redirect_uri=urn:ietf:wg:oauth:2.0:oob&response_type=code&scope=read+write+follow"
  curl -fsS -o /dev/null -c "$jar" -b "$jar" "$BASE/oauth/authorize?$q"
  curl -fsS -o /dev/null -c "$jar" -b "$jar" --data-urlencode "username=$email" --data-urlencode "password=$PASSWORD" "$BASE/auth/sign_in"
  curl -fsS -o /dev/null -c "$jar" -b "$jar" "$BASE/oauth/authorize?$q"
  loc=$(curl -sS -o /dev/null -w '%{redirect_url}' -c "$jar" -b "$jar" -X POST "$BASE/oauth/authorize")
  code=$(sed -n 's/.*[?&]code=\([^&]*\).*/\1/p' <<<"$loc")
  [ -n "$code" ] || die "no code in authorize redirect ($loc)"
  curl -fsS "$BASE/oauth/token" -d grant_type=authorization_code -d "code=$code" \
    -d "client_id=$CLIENT_ID" -d "client_secret=$CLIENT_SECRET" \
    --data-urlencode "redirect_uri=urn:ietf:wg:oauth:2.0:oob" | json_get access_token
}

up() {
  local envfile=$1
  build
  command -v curl >/dev/null || die "curl is needed"
  W=$(mktemp -d "${TMPDIR:-/tmp}/kith-gts.XXXXXX")
  BASE="http://127.0.0.1:$GTS_PORT"
  HOST="localhost:$GTS_PORT"
  if curl -s -o /dev/null "$BASE/readyz"; then die "port $GTS_PORT is in use (set GTS_PORT)"; fi
  cat > "$W/config.yaml" <<EOF
host: "$HOST"
protocol: "http"
bind-address: "127.0.0.1"
port: $GTS_PORT
db-type: "sqlite"
db-address: "$W/sqlite.db"
storage-backend: "local"
storage-local-base-path: "$W/storage"
web-template-base-dir: "$GTS_CACHE/src/web/template/"
web-asset-base-dir: "$GTS_CACHE/src/web/assets/"
letsencrypt-enabled: false
accounts-registration-open: false
advanced-rate-limit-requests: 0
advanced-throttling-multiplier: 0
log-level: "warn"
http-client:
  allow-ips: ["127.0.0.0/8"]
  tls-insecure-skip-verify: true
EOF
  mkdir -p "$W/storage" "$GTS_CACHE/wazero"
  local g=("$GTS_CACHE/gotosocial" --config-path "$W/config.yaml")
  export GTS_WAZERO_COMPILATION_CACHE="$GTS_CACHE/wazero"
  for u in alice bob carol mallory; do
    "${g[@]}" admin account create --username "$u" --email "$u@example.org" --password "$PASSWORD" >>"$W/admin.log" 2>&1
    "${g[@]}" admin account confirm --username "$u" >>"$W/admin.log" 2>&1
  done
  "${g[@]}" server start > "$W/server.log" 2>&1 &
  local pid=$!
  echo "$pid" > "$W/pid"
  local deadline=$(( $(date +%s) + 150 ))
  until [ "$(curl -s -o /dev/null -w '%{http_code}' "$BASE/readyz")" = 200 ]; do
    kill -0 "$pid" 2>/dev/null || { tail -20 "$W/server.log" >&2; die "server exited"; }
    [ "$(date +%s)" -lt "$deadline" ] || { kill -TERM "$pid"; die "server not ready after 150 s"; }
    sleep 0.5
  done
  local app
  app=$(curl -fsS -X POST "$BASE/api/v1/apps" -F client_name=kith-e2e \
    -F redirect_uris=urn:ietf:wg:oauth:2.0:oob -F 'scopes=read write follow')
  CLIENT_ID=$(json_get client_id <<<"$app")
  CLIENT_SECRET=$(json_get client_secret <<<"$app")
  [ -n "$CLIENT_ID" ] && [ -n "$CLIENT_SECRET" ] || die "app registration failed: $app"
  {
    echo "KITH_GTS_PID=$pid"
    echo "KITH_GTS_DIR=$W"
    echo "KITH_GTS_BASE=$BASE"
    echo "KITH_GTS_HOST=$HOST"
    echo "KITH_GTS_PASSWORD=$PASSWORD"
    echo "KITH_GTS_CLIENT_ID=$CLIENT_ID"
    echo "KITH_GTS_CLIENT_SECRET=$CLIENT_SECRET"
  } > "$envfile.tmp"
  local u tok id
  for u in alice bob carol mallory; do
    tok=$(oauth_token "$u@example.org")
    [ -n "$tok" ] || die "no token for $u"
    # Unlock the account so that follows need no approval.
    id=$(curl -fsS -X PATCH -H "Authorization: Bearer $tok" -F locked=false \
      "$BASE/api/v1/accounts/update_credentials" | json_get id)
    [ -n "$id" ] || die "update_credentials for $u failed"
    local U=${u^^}
    echo "KITH_GTS_${U}_TOKEN=$tok" >> "$envfile.tmp"
    echo "KITH_GTS_${U}_ID=$id" >> "$envfile.tmp"
    echo "KITH_GTS_${U}_EMAIL=$u@example.org" >> "$envfile.tmp"
  done
  chmod 600 "$envfile.tmp"
  mv "$envfile.tmp" "$envfile"
  log "GoToSocial $GTS_VERSION up at $BASE (pid $pid, data $W)"
}

down() {
  local envfile=$1 pid dir
  [ -f "$envfile" ] || return 0
  pid=$(sed -n 's/^KITH_GTS_PID=//p' "$envfile")
  dir=$(sed -n 's/^KITH_GTS_DIR=//p' "$envfile")
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid"
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid"
  fi
  case "$dir" in "${TMPDIR:-/tmp}"/kith-gts.*) rm -rf "$dir" ;; esac
  rm -f "$envfile"
}

cmd="${1:-}"
shift || true
case "$cmd" in
  build) build ;;
  up) [ $# -eq 1 ] || die "usage: $0 up ENVFILE"; up "$1" ;;
  down) [ $# -eq 1 ] || die "usage: $0 down ENVFILE"; down "$1" ;;
  run)
    [ $# -ge 1 ] || die "usage: $0 run CMD ARGS..."
    envfile=$(mktemp "${TMPDIR:-/tmp}/kith-gts-env.XXXXXX")
    trap 'down "$envfile"' EXIT
    # up runs in this shell so that the server's PID is ours to stop.
    up "$envfile"
    rc=0
    KITH_GTS_ENV="$envfile" "$@" || rc=$?
    exit "$rc"
    ;;
  *) die "usage: $0 build | up ENVFILE | down ENVFILE | run CMD ARGS..." ;;
esac
