#!/usr/bin/env bash
# Starts the README's dev command as a person would, waits until it says the platform is up, checks
# that every service's /readyz answers 200, logs in through the gateway as the dev user, checks that
# a call without the token is refused, that the catalog offers the sample job as its deployment names
# it, deploys it and sees its first run succeed (all through the gateway, with the token), fuzzes
# every service from its OpenAPI document (tests/schemathesis.sh), presses Ctrl-C (SIGINT to the
# command) and checks that everything it started has stopped: every port free again and its
# temporary directory gone.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=deploy/local/stack.sh
source deploy/local/stack.sh

PORTS=(8080 8081 8082 8086 8087)
# Other ports than the defaults, so that a dev stack already running here is left alone; all below
# Linux's ephemeral range (32768 and up), where an outgoing connection could take one between the
# check and the bind.
for _ in $(seq 1 50); do
    offset=$((10000 + (RANDOM % 1300) * 10))
    kafka=$((9092 + offset))
    all_free=1
    for port in "${PORTS[@]}" "$((kafka - offset))"; do port_is_free $((port + offset)) || all_free=0; done
    [ $all_free -eq 1 ] && break
done
[ "$all_free" -eq 1 ] || die "dev stack check: no free set of ports found"

log=$(mktemp)
data=$(mktemp -d)
# A database of its own, empty as on a fresh machine, so that what the fuzzing meets here is what it
# meets in CI (named like the tests' databases, which tests/run.sh drops if it is left behind).
database=jh_dev_check_$$
dev=
# Whatever happens, the dev command does not outlive this check.
trap '[ -z "$dev" ] || { kill -TERM "$dev" 2>/dev/null && wait "$dev"; } || true; rm -rf "$log" "$data"
    psql "$POSTGRES_URL_BASE/postgres" -qc "DROP DATABASE IF EXISTS $database WITH (FORCE)" >/dev/null || true' EXIT
# The users of the web UI's browser tests: dev (admin, as the dev command would make it), viewer and
# operator (passwords as their names); the dev command keeps a users file it finds.
mkdir -p "$data/gateway" && cp ui/e2e/users.json "$data/gateway/users.json"
started=$SECONDS
# Job control gives the command its own process group, as a terminal would; without it a
# background command starts with SIGINT ignored and Ctrl-C could not be tested. SIGINT is also set
# back to its default before the command starts: a check itself started in the background (by a
# CI runner, or `cmd &` in a script) inherits SIGINT ignored, which no shell can trap again.
set -m
DEV_PORT_OFFSET=$offset KAFKA_PORT=$kafka DEV_DATA_DIR=$data DEV_DATABASE=$database python3 -c '
import os, signal, sys
signal.signal(signal.SIGINT, signal.SIG_DFL)
os.execv(sys.argv[1], sys.argv[1:])' deploy/local/dev.sh >"$log" 2>&1 &
dev=$!
set +m

fail() {
    kill -TERM "$dev" 2>/dev/null && wait "$dev" || true
    sed 's/^/    dev> /' "$log" >&2
    die "dev stack check: $*"
}

for _ in $(seq 1 1200); do
    grep -q "Press Ctrl-C to stop everything" "$log" && break
    kill -0 "$dev" 2>/dev/null || fail "the dev command ended before the platform was up"
    sleep 0.5
done
grep -q "Press Ctrl-C to stop everything" "$log" || fail "the platform was not up within 10 minutes"
up_after=$((SECONDS - started))

for port in "${PORTS[@]}"; do
    code=$(curl -s --max-time 5 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$((port + offset))/readyz" || true)
    [ "$code" = 200 ] || fail "/readyz on port $((port + offset)) answered $code"
done
gateway="http://127.0.0.1:$((8080 + offset))"
curl -fsS --max-time 10 -o "$data/login" -H 'Content-Type: application/json' \
    -d '{"username":"dev","password":"dev"}' "$gateway/api/auth/login" || fail "the dev user cannot log in"
token=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["token"])' "$data/login")
auth=(-H "Authorization: Bearer $token")
code=$(curl -s --max-time 5 -o /dev/null -w '%{http_code}' "$gateway/api/history" || true)
[ "$code" = 401 ] || fail "the history answered $code to a call without a token"
# The sample deployment runs what the catalog offers for version 1.1, exactly.
catalog="$gateway/api/catalog/repositories/samples/artifacts/org.example/hello/versions"
curl -fsS --max-time 10 "${auth[@]}" -o "$data/versions" "$catalog" || fail "the catalog does not list the sample job's versions"
curl -fsS --max-time 10 "${auth[@]}" -o "$data/version" "$catalog/1.1" || fail "the catalog does not show the sample job's version 1.1"
python3 - "$data/versions" "$data/version" "$data/samples/hello.json" <<'PY' || fail "the catalog does not offer the sample job's deployment"
import json, sys
versions, version, deployment = (json.load(open(path)) for path in sys.argv[1:])
assert [v["version"] for v in versions["versions"]] == ["1.1", "1.0"], versions
assert version["toRun"] == deployment["resource"], (version, deployment["resource"])
PY
deployer="$gateway/api/deployments"
code=$(curl -s --max-time 10 "${auth[@]}" -o "$data/answer" -w '%{http_code}' -H 'Content-Type: application/json' \
    -d @"$data/samples/hello.json" "$deployer" || true)
[ "$code" = 201 ] || fail "deploying the sample answered $code: $(cat "$data/answer")"
sample_ran=0
for _ in $(seq 1 120); do
    curl -s --max-time 5 "${auth[@]}" "$deployer/hello/runs" | grep -q '"state":"Succeeded"' && { sample_ran=1; break; }
    sleep 0.5
done
[ $sample_ran -eq 1 ] || fail "the sample's first run did not succeed within 60 s: $(curl -s "${auth[@]}" "$deployer/hello/runs")"
# Every service fuzzed from its OpenAPI document while the platform runs (a couple of minutes).
printf '%s' "$token" >"$data/token"
tests/schemathesis.sh "$data/token" "$offset" || fail "schemathesis found answers that contradict the API documents"
# The web UI in Debian's chromium, light and dark, against this stack: the whole path of a user
# (ui/e2e; screenshots of every page kept in ui/e2e-artifacts).
(cd ui && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 JO_BASE_URL="$gateway" npx playwright test) ||
    fail "the web UI's browser tests failed (screenshots and traces under ui/test-results)"
stack_dir=$(sed -n 's/^  Logs *\(.*\)\/\*\.log$/\1/p' "$log")
[ -d "$stack_dir" ] || fail "the banner names no log directory"

kill -INT "$dev"
stopping=$SECONDS
# The dev command gives the services 10 s to stop, then the broker 10 s, before it kills anything
# (and says so, which fails below): 40 s leaves room for both on two busy cores.
for _ in $(seq 1 200); do kill -0 "$dev" 2>/dev/null || break; sleep 0.2; done
kill -0 "$dev" 2>/dev/null && fail "still running 40 s after Ctrl-C"
wait "$dev" && status=0 || status=$?
dev=
[ "$status" -eq 0 ] || fail "the dev command exited with $status after Ctrl-C"
for port in "${PORTS[@]}" "$((kafka - offset))"; do
    port_is_free $((port + offset)) || fail "port $((port + offset)) is still taken after Ctrl-C"
done
[ ! -e "$stack_dir" ] || fail "$stack_dir was left behind"
say "dev stack: up in ${up_after} s, 5 services ready, logged in through the gateway, the catalog offers the sample job, which ran, stopped by Ctrl-C in $((SECONDS - stopping)) s"
