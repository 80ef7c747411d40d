#!/usr/bin/env bash
# Fuzzes every service of a running platform from its own OpenAPI document with schemathesis:
# examples, boundary values and random data, valid and invalid, each answer checked against the
# document (status codes, content types, headers, schemas; invalid data refused; no 5xx). A fixed
# seed and example count keep it repeatable and to a couple of minutes.
#
# Usage: tests/schemathesis.sh TOKEN_FILE PORT_OFFSET (the dev stack's, as tests/dev_stack_check.sh
# starts it). Operations that would run commands on this machine (the deployer's local runtime
# runs what a deployment says) or change the stack under the other checks are left out.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=deploy/local/stack.sh
source deploy/local/stack.sh

token_file=$1
offset=$2
ensure_schemathesis
logs=$(mktemp -d)
trap 'rm -rf "$logs"' EXIT

# The one check left out: "a request the document allows is accepted". An RSQL query, a cron
# pattern or a deployment spec has rules that JSON Schema cannot say, so valid-looking values are
# rightly refused with a 400 that says why.
checks=(--checks all --exclude-checks positive_data_acceptance)
# service:port:operations left out (a regular expression on "METHOD /path")
targets=(
    "auth-gateway:8080:"
    "nexus-catalog:8081:"
    "job-deployer:8082:^(POST|PUT) /v1/deployments(/\\{name\\})?\$|/(run|resume|rollback)\$"
    "job-history:8086:"
    "job-history-consumer:8087:"
)
failed=()
for target in "${targets[@]}"; do
    IFS=: read -r name port excluded <<<"$target"
    port=$((port + offset))
    args=("openapi/$name.json" --url "http://127.0.0.1:$port" -H "Authorization: Bearer $(cat "$token_file")"
        "${checks[@]}" --seed 20261206 --max-examples 25 --generation-deterministic --workers 1
        --phases examples,coverage,fuzzing --request-timeout 10 --no-color --suppress-health-check all)
    [ -z "$excluded" ] || args+=(--exclude-name-regex "$excluded")
    started=$SECONDS
    if "$SCHEMATHESIS" run "${args[@]}" >"$logs/$name.log" 2>&1; then
        say "schemathesis: $name: $(grep -E '^  [0-9]+ generated' "$logs/$name.log" | sed 's/^ *//') in $((SECONDS - started)) s"
    else
        sed "s/^/    $name> /" "$logs/$name.log" | tail -n 80 >&2
        failed+=("$name")
    fi
done
[ ${#failed[@]} -eq 0 ] || die "schemathesis found answers that contradict the documents of: ${failed[*]}"
