#!/usr/bin/env bash
# Runs every check and test of the repository against real servers started here for the run: the
# machine's Postgres (tests create their own databases), an Apache Kafka broker, a Kubernetes control
# plane (etcd, kube-apiserver, controller-manager, scheduler, kwok's nodes) and, in the tests that need
# them, slapd and Debian's chromium. In order: formatting and lints; the workspace's checks (the
# common crate's dependencies, cargo deny, the RSQL fuzz target, the docs and the routes against the
# code); the web UI's types, lint and component tests; the dev command end to end (schemathesis on
# every service, the UI in chromium); the images and the Helm chart; then the test suite. Installs
# what is missing (cargo-nextest, Kafka's jars, the control plane built with Go, diesel_cli, Debian
# packages, the UI's npm packages, Airflow and the Kubernetes schemas in Python virtualenvs), caches
# it under ~/.cache/job-orchestrator, and cleans up after itself, test databases included.
# Arguments go to `cargo nextest run`.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=deploy/local/stack.sh
source deploy/local/stack.sh

# A full disk fails deep in a link step (an LLVM error): say it at once. A run takes about 7 GB for
# the build (target/) and, the first time, about 7 GB for the tools' caches (~/.cache/job-orchestrator).
free_gb=$(df --output=avail -BG . | tail -n 1 | tr -dc '0-9')
[ "$free_gb" -ge 14 ] || die "only $free_gb GB free on this disk: a run needs about 14 GB (the build about 7, the tools' caches about 7 the first time)"

ensure_curl
ensure_postgres
ensure_nextest
ensure_kafka
ensure_diesel_cli
ensure_python_tools
ensure_slapd
ensure_kube
ensure_ui
ensure_chromium
drop_test_databases

STACK_DIR=$(mktemp -d "${TMPDIR:-/tmp}/job-orchestrator-test.XXXXXX")
cleanup() {
    # A server of the test stack that had to be killed is reported, but the tests' verdict stands.
    stop_kube || true
    [ -z "${BROKER_PID:-}" ] || stop_processes "$BROKER_PID" || true
    rm -rf "$STACK_DIR"
    drop_test_databases
}
trap cleanup EXIT

KAFKA_PORT=$(free_port)
start_broker "$STACK_DIR" "$KAFKA_PORT"
export KAFKA_BROKERS="127.0.0.1:$KAFKA_PORT"
export TEST_POSTGRES_URL="$POSTGRES_URL_BASE"
say "broker on $KAFKA_BROKERS, Postgres at $TEST_POSTGRES_URL"
# The Kubernetes control plane (kwok's nodes): the tests read KUBECONFIG_ADMIN.
start_kube "$STACK_DIR"

say "checking formatting and lints"
cargo fmt --all --check
cargo clippy --workspace --all-targets --locked -- -D warnings

say "checking the workspace: the common crate's dependencies, cargo deny, the RSQL parser's fuzz target"
tests/workspace_checks.sh
python3 tests/docs_check.py  # the docs' paths, function names, links and settings tables against the code
python3 tests/routes_check.py  # every service's routes against its OpenAPI document

say "checking the web UI: its API types against openapi/, types, lint (jsx-a11y), component tests"
(cd ui && npm run --silent api:check && npx tsc -b && npx eslint . && npx vitest run)

say "checking the dev command: start, every service ready, the web UI in chromium, Ctrl-C, everything stopped"
tests/dev_stack_check.sh

say "checking the images (the binaries the dev command built) and the Helm chart (on the control plane)"
deploy/image/check.sh target/debug
deploy/helm/check.sh ${KUBECONFIG_ADMIN:+--cluster}

say "running the test suite"
# With arguments (`-p common`, `-E 'test(openapi)'`...), they choose what runs; without, everything.
if [ $# -eq 0 ]; then set -- --workspace; fi
cargo nextest run --locked --no-fail-fast "$@"
