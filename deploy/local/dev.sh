#!/usr/bin/env bash
# Starts the whole platform on this machine with its embedded defaults: the five services, a
# Kafka-compatible broker (tansu, in memory) and a database in the local Postgres. It installs what
# is missing, prints where to point a browser and a REST client, and stops everything on Ctrl-C.
#
# The job deployer runs deployments as local processes (its local runtime), keeping them, their runs
# and logs under DEV_DATA_DIR, so that they outlive a restart. The catalog reads a local folder there
# instead of Nexus, holding a sample job in two versions; a deployment of it is ready to send.
#
# Settings: DEV_PORT_OFFSET (added to every service's default port), KAFKA_PORT (default 9092),
# DEV_DATA_DIR (default ~/.local/share/job-orchestrator/dev), LOG_FORMAT (default compact), RUST_LOG.
set -euo pipefail
cd "$(dirname "$0")/../.."
# shellcheck source=deploy/local/stack.sh
source deploy/local/stack.sh

OFFSET=${DEV_PORT_OFFSET:-0}
KAFKA_PORT=${KAFKA_PORT:-9092}
TARGET_DIR=${CARGO_TARGET_DIR:-target}
DEV_DATA_DIR=${DEV_DATA_DIR:-$HOME/.local/share/job-orchestrator/dev}
# name:default port:settings prefix
SERVICES=(
    auth-gateway:8080:AUTH_GATEWAY
    nexus-catalog:8081:NEXUS_CATALOG
    job-deployer:8082:JOB_DEPLOYER
    job-history:8086:JOB_HISTORY
    job-history-consumer:8087:JOB_HISTORY_CONSUMER
)

ensure_curl
ensure_unzip
ensure_postgres
ensure_tansu
say "building the services"
cargo build --workspace --bins

STACK_DIR=$(mktemp -d "${TMPDIR:-/tmp}/job-orchestrator-dev.XXXXXX")
PIDS=()
cleanup() {
    # A second Ctrl-C must not cut the cleanup short.
    trap '' INT TERM
    trap - EXIT
    say "stopping the platform"
    stop_processes "${PIDS[@]}"
    [ -z "${BROKER_PID:-}" ] || stop_processes "$BROKER_PID"
    rm -rf "$STACK_DIR"
    say "stopped"
}
trap cleanup EXIT
trap 'exit 0' INT TERM

ensure_database job_orchestrator_dev
export NEXUS_CATALOG_FOLDER=${NEXUS_CATALOG_FOLDER:-$DEV_DATA_DIR/catalog}
sample_catalog "$NEXUS_CATALOG_FOLDER" "$DEV_DATA_DIR/samples/hello.json"
export JOB_DEPLOYER_RUNTIME=${JOB_DEPLOYER_RUNTIME:-local}
export JOB_DEPLOYER_LOCAL_DIR=${JOB_DEPLOYER_LOCAL_DIR:-$DEV_DATA_DIR/job-deployer}
export KAFKA_BROKERS="127.0.0.1:$KAFKA_PORT"
export DATABASE_URL="$POSTGRES_URL_BASE/job_orchestrator_dev"
export LOG_FORMAT=${LOG_FORMAT:-compact}
start_broker "$STACK_DIR" "$KAFKA_PORT"

for entry in "${SERVICES[@]}"; do
    IFS=: read -r name port prefix <<<"$entry"
    port=$((port + OFFSET))
    port_is_free "$port" || die "port $port for $name is taken (DEV_PORT_OFFSET moves every service)"
    env "${prefix}_LISTEN=127.0.0.1:$port" "$TARGET_DIR/debug/$name" >"$STACK_DIR/$name.log" 2>&1 &
    PIDS+=($!)
done

for index in "${!SERVICES[@]}"; do
    IFS=: read -r name port _ <<<"${SERVICES[$index]}"
    port=$((port + OFFSET))
    ready=0
    for _ in $(seq 1 300); do
        kill -0 "${PIDS[$index]}" 2>/dev/null || { tail -n 20 "$STACK_DIR/$name.log" >&2; die "$name stopped"; }
        if curl -fsS --max-time 2 -o /dev/null "http://127.0.0.1:$port/readyz"; then ready=1; break; fi
        sleep 0.2
    done
    [ $ready -eq 1 ] || die "$name is not ready after 60 s; its log: $STACK_DIR/$name.log"
done

url() { echo "http://127.0.0.1:$(($2 + OFFSET))$3"; }
cat <<BANNER

Job Orchestrator is up, with its embedded defaults.
  Browser       $(url job-history 8086 /docs/)  (the job history's API docs; the web UI will be
                served by the gateway, $(url auth-gateway 8080 /), in a later release)
  REST clients  curl '$(url job-history 8086 "/v1/jobs/history?limit=5")'
                each service answers on its own port, with its API docs at /docs/:
                  nexus-catalog         $(url nexus-catalog 8081 /docs/)
                  job-deployer          $(url job-deployer 8082 /docs/)
                  job-history           $(url job-history 8086 /docs/)
                  job-history-consumer  $(url job-history-consumer 8087 /docs/)
                  auth-gateway          $(url auth-gateway 8080 /docs/)
  Sample job    curl '$(url nexus-catalog 8081 /v1/repositories/samples/artifacts/org.example/hello/versions)'
                lists the versions of deploy/local/samples/hello in the catalog ($NEXUS_CATALOG_FOLDER);
                curl -X POST -H 'Content-Type: application/json' -d @$DEV_DATA_DIR/samples/hello.json \\
                  '$(url job-deployer 8082 /v1/deployments)'
                deploys its version 1.1 (every 20 s, as local processes); then see
                  '$(url job-deployer 8082 /v1/deployments/hello/runs)' and '.../logs'
  Deployments   $JOB_DEPLOYER_LOCAL_DIR (the deployer's local runtime)
  Broker        127.0.0.1:$KAFKA_PORT (tansu, in memory)
  Postgres      $DATABASE_URL
  Logs          $STACK_DIR/*.log
Press Ctrl-C to stop everything.
BANNER

while true; do
    for index in "${!SERVICES[@]}"; do
        if ! kill -0 "${PIDS[$index]}" 2>/dev/null; then
            name=${SERVICES[$index]%%:*}
            tail -n 20 "$STACK_DIR/$name.log" >&2
            die "$name stopped unexpectedly"
        fi
    done
    sleep 1
done
