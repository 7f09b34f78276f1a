#!/usr/bin/env bash
# End-to-end checks of a built anteroom container image (needs a running Docker engine):
#   test/docker/check.sh [IMAGE]        (default anteroom:check; `npm run docker:check` builds it first)
#
# An origin runs in a container of its own with no network but loopback; every proxy container joins
# that network namespace (--network container:...), so the embedded default config (listen 8080,
# upstream http://127.0.0.1:3000, admin 9180) is used as it is, no host port is taken and the checks
# work on any engine. Requests are sent from inside that namespace.
#
# Each check prints "ok - ..." or "FAIL - ..."; the first failure ends the run with exit 1 (with the
# container's log). Every wait is bounded.
set -euo pipefail

IMAGE=${1:-anteroom:check}
cd "$(dirname "$0")/../.."   # the repository: the mounted config is derived from config/anteroom.yaml
P=anteroom-check-$$
ORIGIN=$P-origin
WORK=$(mktemp -d)
chmod 755 "$WORK"
SECRET=check-secret-0123456789abcdef0123456789abcdef
CURRENT=""

cleanup() {
  docker rm -f "$P-default" "$P-mounted" "$P-broken" "$P-nosecret" "$ORIGIN" >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT

ok() { echo "ok - $*"; }
fail() {
  echo "FAIL - $*"
  if [ -n "$CURRENT" ]; then
    echo "--- docker logs $CURRENT (last 30 lines)"
    docker logs --tail 30 "$CURRENT" 2>&1 || true
  fi
  exit 1
}

# GET a URL from inside the origin's network namespace; prints the status line, then the body.
http_get() {
  docker exec "$ORIGIN" node -e '
    fetch(process.argv[1], { signal: AbortSignal.timeout(15000) }).then(
      async (r) => { console.log(r.status); process.stdout.write(await r.text()); },
      (e) => { console.log("ERR " + (e.cause?.code ?? e.message)); });' "$1"
}

# Waits (at most 60 s) for a container's health status to become healthy; fails on unhealthy or exit.
wait_healthy() {
  local name=$1 status=""
  for _ in $(seq 1 60); do
    if [ "$(docker inspect --format '{{.State.Running}}' "$name")" != true ]; then
      fail "$name exited (code $(docker inspect --format '{{.State.ExitCode}}' "$name")) before it was healthy"
    fi
    status=$(docker inspect --format '{{if .State.Health}}{{.State.Health.Status}}{{else}}none{{end}}' "$name")
    case $status in
      healthy) return 0 ;;
      unhealthy) fail "$name is unhealthy: $(docker inspect --format '{{range .State.Health.Log}}{{.Output}}{{end}}' "$name")" ;;
      none) fail "$name has no HEALTHCHECK" ;;
    esac
    sleep 1
  done
  fail "$name not healthy after 60 s (status: $status)"
}

# Waits (at most 30 s) for a container to exit; prints its exit code.
wait_exit() {
  local name=$1
  for _ in $(seq 1 30); do
    if [ "$(docker inspect --format '{{.State.Running}}' "$name")" != true ]; then
      docker inspect --format '{{.State.ExitCode}}' "$name"
      return 0
    fi
    sleep 1
  done
  fail "$name still running after 30 s"
}

# `docker stop` (SIGTERM, then SIGKILL after 10 s): the proxy must exit 0 by itself.
check_stop() {
  local name=$1 start end code
  start=$(date +%s)
  docker stop "$name" >/dev/null
  end=$(date +%s)
  code=$(docker inspect --format '{{.State.ExitCode}}' "$name")
  [ "$(docker inspect --format '{{.State.OOMKilled}}' "$name")" = false ] || fail "$name was OOM-killed"
  [ "$code" = 0 ] || fail "docker stop $name: exit code $code (137 means SIGTERM was not honoured and it was killed)"
  ok "docker stop $name: exit code 0 after $((end - start)) s"
}

echo "# image $IMAGE"
docker info >/dev/null 2>&1 || fail "no Docker engine reachable (docker info failed)"
docker image inspect "$IMAGE" >/dev/null 2>&1 || fail "image $IMAGE not found; build it first (npm run docker:check does)"
ok "image $IMAGE: $(docker image inspect --format '{{.Size}}' "$IMAGE" | awk '{ printf "%.0f MB", $1 / 1e6 }')"

# --- what the image holds
problems=$(docker run --rm --network none --entrypoint node "$IMAGE" -e '
  const fs = require("node:fs");
  const pkg = JSON.parse(fs.readFileSync("/app/package.json", "utf8"));
  const lock = JSON.parse(fs.readFileSync("/app/package-lock.json", "utf8")).packages;
  // Dev-only per the lockfile: the devDependencies and what only they need (a devDependency that a
  // dependency needs too, such as @types/node for mysql2, is not dev-only and stays).
  const devOnly = Object.keys(lock).filter((k) => k.startsWith("node_modules/") && lock[k].dev === true);
  const prod = Object.keys(pkg.dependencies ?? {});
  if (devOnly.length === 0 || prod.length === 0) console.log("the lockfile marks nothing dev-only or package.json lists no dependencies: nothing to check");
  const present = devOnly.filter((k) => fs.existsSync("/app/" + k));
  for (const d of ["typescript", "vitest"]) if (fs.existsSync("/app/node_modules/" + d) && !present.includes("node_modules/" + d)) present.push("node_modules/" + d);
  if (present.length > 0) console.log("dev-only packages in the image: " + present.join(" "));
  const has = (name) => fs.existsSync("/app/node_modules/" + name);
  if (!prod.every(has)) console.log("dependencies missing from the image: " + prod.filter((d) => !has(d)).join(" "));
  const stray = ["/app/src", "/app/test", "/app/dist/test", "/app/.git", "/app/tsconfig.json"].filter((p) => fs.existsSync(p));
  if (stray.length > 0) console.log("sources or build leftovers in the image: " + stray.join(" "));
  if (!fs.existsSync("/app/dist/src/cli/main.js")) console.log("no /app/dist/src/cli/main.js");') \
  || fail "could not inspect /app in the image"
[ -z "$problems" ] || fail "$problems"
ok "no dev-only packages (typescript, vitest, ...) in node_modules, every dependency present, no sources or tests in /app"

user=$(docker image inspect --format '{{.Config.User}}' "$IMAGE")
case $user in "" | root | 0 | 0:* | root:*) fail "image USER is '${user:-unset}' (root)" ;; esac
ok "image USER is $user"

# --- the origin: answers every request, /slow after 3 s; logs each request it receives
docker run -d --name "$ORIGIN" --network none --entrypoint node "$IMAGE" -e '
  require("node:http").createServer((req, res) => {
    console.log("origin got " + req.url);
    setTimeout(() => { res.setHeader("content-type", "text/plain"); res.end("origin saw " + req.method + " " + req.url + "\n"); },
      req.url.startsWith("/slow") ? 3000 : 0);
  }).listen(3000, "127.0.0.1", () => console.log("origin listening"));' >/dev/null
for _ in $(seq 1 30); do docker logs "$ORIGIN" 2>&1 | grep -q "origin listening" && break; sleep 1; done
docker logs "$ORIGIN" 2>&1 | grep -q "origin listening" || { CURRENT=$ORIGIN; fail "origin did not start"; }

NET=(--network "container:$ORIGIN")

# --- the embedded config without a secret: refuses to start, says why
CURRENT=$P-nosecret
docker run -d --name "$P-nosecret" "${NET[@]}" "$IMAGE" >/dev/null
code=$(wait_exit "$P-nosecret")
[ "$code" != 0 ] || fail "started without ANTEROOM_SECRET (exit 0)"
docker logs "$P-nosecret" 2>&1 | grep -q "refusing to start: secret is empty" || fail "no clear error without a secret"
ok "without ANTEROOM_SECRET: exits $code, 'refusing to start: secret is empty'"

# --- the embedded config with the secret
CURRENT=$P-default
docker run -d --name "$P-default" "${NET[@]}" --health-interval 2s -e "ANTEROOM_SECRET=$SECRET" "$IMAGE" >/dev/null
wait_healthy "$P-default"
ok "embedded config: container healthy"
resp=$(http_get http://127.0.0.1:8080/hello?via=anteroom)
[ "$(printf '%s\n' "$resp" | head -n1)" = 200 ] && printf '%s' "$resp" | grep -q "origin saw GET /hello?via=anteroom" \
  || fail "GET /hello through the proxy on 8080: $resp"
ok "embedded config: GET :8080/hello proxied to the origin (200)"
uid=$(docker exec "$P-default" sh -c 'awk "/^Uid:/ { print \$2 }" /proc/1/status')
[ -n "$uid" ] && [ "$uid" != 0 ] || fail "the proxy process runs as uid '${uid}'"
ok "the proxy process runs as uid $uid ($(docker exec "$P-default" id -un))"

# SIGTERM with a request in flight: the request completes, then the process exits 0.
docker exec "$ORIGIN" node -e '
  fetch("http://127.0.0.1:8080/slow").then(async (r) => require("node:fs").writeFileSync("/tmp/slow.out", r.status + " " + (await r.text())),
    (e) => require("node:fs").writeFileSync("/tmp/slow.out", "ERR " + (e.cause?.code ?? e.message)));' &
client=$!
for _ in $(seq 1 30); do docker logs "$ORIGIN" 2>&1 | grep -q "origin got /slow" && break; sleep 0.5; done
docker logs "$ORIGIN" 2>&1 | grep -q "origin got /slow" || fail "the slow request did not reach the origin"
check_stop "$P-default"
wait "$client" || true
slow=$(docker exec "$ORIGIN" cat /tmp/slow.out 2>/dev/null || echo "no answer")
case $slow in "200 origin saw GET /slow"*) ;; *) fail "request in flight at SIGTERM: $slow" ;; esac
ok "request in flight at SIGTERM completed (200) before the exit"
docker logs "$P-default" 2>&1 | grep -q '"msg":"anteroom stopped"' || fail "no 'anteroom stopped' log line"
ok "shutdown logged ('anteroom stopped')"

# --- a mounted config on other ports
CURRENT=$P-mounted
sed -e 's/\${ANTEROOM_PORT:-8080}/8181/' -e 's/port: 9180/port: 9181/' config/anteroom.yaml >"$WORK/anteroom.yaml"
grep -q "port: 8181" "$WORK/anteroom.yaml" && grep -q "port: 9181" "$WORK/anteroom.yaml" || fail "could not derive the mounted config from config/anteroom.yaml"
chmod 644 "$WORK/anteroom.yaml"
docker run -d --name "$P-mounted" "${NET[@]}" --health-interval 2s -e "ANTEROOM_SECRET=$SECRET" \
  -v "$WORK/anteroom.yaml:/etc/anteroom/anteroom.yaml:ro" "$IMAGE" >/dev/null
wait_healthy "$P-mounted"
ok "mounted config (port 8181): container healthy"
resp=$(http_get http://127.0.0.1:8181/mounted)
[ "$(printf '%s\n' "$resp" | head -n1)" = 200 ] && printf '%s' "$resp" | grep -q "origin saw GET /mounted" \
  || fail "GET :8181/mounted: $resp"
resp=$(http_get http://127.0.0.1:8080/mounted)
case $resp in "ERR ECONNREFUSED"*) ;; *) fail "something still answers on 8080: $resp" ;; esac
ok "mounted config used: :8181 proxies (200), :8080 refused"
check_stop "$P-mounted"

# --- a broken mounted config: exits non-zero and names the problem
CURRENT=$P-broken
printf 'listen:\n  port: eighty\nupstreams:\n  app: { url: "http://127.0.0.1:3000" }\nbogus: 1\n' >"$WORK/broken.yaml"
chmod 644 "$WORK/broken.yaml"
docker run -d --name "$P-broken" "${NET[@]}" -e "ANTEROOM_SECRET=$SECRET" \
  -v "$WORK/broken.yaml:/etc/anteroom/anteroom.yaml:ro" "$IMAGE" >/dev/null
code=$(wait_exit "$P-broken")
[ "$code" != 0 ] || fail "a broken config exited 0"
logs=$(docker logs "$P-broken" 2>&1)
printf '%s' "$logs" | grep -q "refusing to start" && printf '%s' "$logs" | grep -q "listen.port" && printf '%s' "$logs" | grep -q "bogus: unknown key" \
  || fail "no clear error for a broken config"
ok "broken mounted config: exits $code, names listen.port and the unknown key"
CURRENT=""

echo "all checks passed"
