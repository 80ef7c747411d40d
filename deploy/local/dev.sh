#!/usr/bin/env bash
# Starts the whole platform on this machine with its embedded defaults: the five services, an
# Apache Kafka broker (single node, its data in the stack's temporary folder) and a database in the
# local Postgres. It installs what is missing, prints where to point a browser and a REST client,
# and stops everything on Ctrl-C.
#
# The job deployer runs deployments as local processes (its local runtime), keeping them, their runs
# and logs under DEV_DATA_DIR, so that they outlive a restart. The catalog reads a local folder there
# instead of Nexus, holding a sample job in two versions; a deployment of it is ready to send. The
# gateway logs users in from a users file there (user DEV_USER, password DEV_PASSWORD, admin; both
# default to `dev`), signs tokens with a key kept there, and every service checks them.
#
# Settings: DEV_PORT_OFFSET (added to every service's default port), KAFKA_PORT (default 9092),
# DEV_DATA_DIR (default ~/.local/share/job-orchestrator/dev), DEV_DATABASE (default
# job_orchestrator_dev), DEV_USER and DEV_PASSWORD (default dev;
# used only when the users file is made), LOG_FORMAT (default compact), RUST_LOG.
#
# DEV_KUBERNETES=1 runs deployments "on Kubernetes" instead: a control plane started here
# (deploy/local/kube: etcd, kube-apiserver, controller-manager, scheduler, built from source the
# first time, about 10 minutes) with kwok playing the nodes, so that no container really runs (a
# pod ends as its image says, see deploy/local/kube/stages.yaml), and the deployer in its
# Kubernetes runtime as the ServiceAccount of deploy/kubernetes/job-deployer-rbac.yaml in the
# namespace job-orchestrator.
set -euo pipefail
cd "$(dirname "$0")/../.."
# shellcheck source=deploy/local/stack.sh
source deploy/local/stack.sh

OFFSET=${DEV_PORT_OFFSET:-0}
KAFKA_PORT=${KAFKA_PORT:-9092}
TARGET_DIR=${CARGO_TARGET_DIR:-target}
DEV_DATA_DIR=${DEV_DATA_DIR:-$HOME/.local/share/job-orchestrator/dev}
DEV_DATABASE=${DEV_DATABASE:-job_orchestrator_dev}
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
ensure_kafka
DEV_KUBERNETES=${DEV_KUBERNETES:-0}
[ "$DEV_KUBERNETES" != 1 ] || ensure_kube
say "building the services"
cargo build --workspace --bins
build_ui
export AUTH_GATEWAY_UI_DIR=${AUTH_GATEWAY_UI_DIR:-$PWD/ui/dist}

STACK_DIR=$(mktemp -d "${TMPDIR:-/tmp}/job-orchestrator-dev.XXXXXX")
PIDS=()
cleanup() {
    # A second Ctrl-C must not cut the cleanup short.
    trap '' INT TERM
    trap - EXIT
    say "stopping the platform"
    local killed=0
    stop_processes "${PIDS[@]}" || killed=1
    stop_kube || killed=1
    [ -z "${BROKER_PID:-}" ] || stop_processes "$BROKER_PID" || killed=1
    rm -rf "$STACK_DIR"
    # A process that ignored SIGTERM is a bug: the exit status says so.
    [ $killed -eq 0 ] || die "stopped, but a process had to be killed"
    say "stopped"
}
trap cleanup EXIT
trap 'exit 0' INT TERM

ensure_database "$DEV_DATABASE"
export NEXUS_CATALOG_FOLDER=${NEXUS_CATALOG_FOLDER:-$DEV_DATA_DIR/catalog}
sample_catalog "$NEXUS_CATALOG_FOLDER" "$DEV_DATA_DIR/samples/hello.json"
url() { echo "http://127.0.0.1:$(($2 + OFFSET))$3"; }
export AUTH_GATEWAY_USERS_FILE=${AUTH_GATEWAY_USERS_FILE:-$DEV_DATA_DIR/gateway/users.json}
export AUTH_GATEWAY_TOKEN_KEY_FILE=${AUTH_GATEWAY_TOKEN_KEY_FILE:-$DEV_DATA_DIR/gateway/token-key.pem}
if [ ! -e "$AUTH_GATEWAY_USERS_FILE" ]; then
    dev_users_file "$AUTH_GATEWAY_USERS_FILE" "${DEV_USER:-dev}" "${DEV_PASSWORD:-dev}" "$TARGET_DIR/debug/auth-gateway"
fi
export AUTH_GATEWAY_CATALOG_URL=$(url nexus-catalog 8081 "")
export AUTH_GATEWAY_DEPLOYER_URL=$(url job-deployer 8082 "")
export AUTH_GATEWAY_HISTORY_URL=$(url job-history 8086 "")
export AUTH_JWKS_URL=$(url auth-gateway 8080 /.well-known/jwks.json)
export JOB_DEPLOYER_RUNTIME=${JOB_DEPLOYER_RUNTIME:-local}
export JOB_DEPLOYER_LOCAL_DIR=${JOB_DEPLOYER_LOCAL_DIR:-$DEV_DATA_DIR/job-deployer}
export KAFKA_BROKERS="127.0.0.1:$KAFKA_PORT"
export DATABASE_URL="$POSTGRES_URL_BASE/$DEV_DATABASE"
export LOG_FORMAT=${LOG_FORMAT:-compact}
start_broker "$STACK_DIR" "$KAFKA_PORT"
SAMPLE_DEPLOYMENT=$DEV_DATA_DIR/samples/hello.json
SAMPLE_RUNS="every 20 s, as local processes"
RUNTIME="Deployments   $JOB_DEPLOYER_LOCAL_DIR (the deployer's local runtime)"
if [ "$DEV_KUBERNETES" = 1 ]; then
    start_kube "$STACK_DIR"
    kube_deployer_namespace job-orchestrator "$STACK_DIR/kube/job-deployer.kubeconfig"
    export JOB_DEPLOYER_RUNTIME=kubernetes JOB_DEPLOYER_NAMESPACE=job-orchestrator
    export KUBECONFIG="$STACK_DIR/kube/job-deployer.kubeconfig"
    # Kubernetes fires a CronJob at most once a minute and downloads over HTTP(S): the same sample
    # every minute, from a Nexus URL that kwok never fetches (no container runs).
    SAMPLE_DEPLOYMENT=$DEV_DATA_DIR/samples/hello-kubernetes.json
    python3 - "$DEV_DATA_DIR/samples/hello.json" "$SAMPLE_DEPLOYMENT" <<'PY'
import json, sys
deployment = json.load(open(sys.argv[1]))
deployment["schedule"]["cron"] = "* * * * *"
deployment["resource"]["downloadUrl"] = "https://nexus.invalid/repository/samples/" + deployment["resource"]["path"]
json.dump(deployment, open(sys.argv[2], "w"), indent=2)
PY
    SAMPLE_RUNS="every minute, on Kubernetes"
    RUNTIME="Kubernetes    $KUBE_VERSION, pods run by kwok (no container runs; deploy/local/kube/stages.yaml), the
                deployer as the ServiceAccount job-deployer of the namespace job-orchestrator; watch it with
                  KUBECONFIG=$KUBECONFIG_ADMIN \\
                  $KUBECTL -n job-orchestrator get cronjobs,jobs,pods"
fi

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

gateway=$(url auth-gateway 8080 "")
cat <<BANNER

Job Orchestrator is up, with its embedded defaults.
  Web UI        open $gateway/ in a browser
  Log in        the users file $AUTH_GATEWAY_USERS_FILE (docs/services/auth-gateway.md, "Users and roles"):
                TOKEN=\$(curl -s -H 'Content-Type: application/json' -d '{"username":"${DEV_USER:-dev}","password":"..."}' \\
                  $gateway/api/auth/login | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')
  REST clients  through the gateway, with -H "Authorization: Bearer \$TOKEN":
                  $gateway/api/history?limit=5      (job-history)
                  $gateway/api/deployments          (job-deployer)
                  $gateway/api/catalog/repositories (nexus-catalog)
                each service's API docs are at /docs/ on its own port (with the same token):
                  nexus-catalog         $(url nexus-catalog 8081 /docs/)
                  job-deployer          $(url job-deployer 8082 /docs/)
                  job-history           $(url job-history 8086 /docs/)
                  job-history-consumer  $(url job-history-consumer 8087 /docs/)
                  auth-gateway          $gateway/docs/
  Sample job    $gateway/api/catalog/repositories/samples/artifacts/org.example/hello/versions
                lists the versions of deploy/local/samples/hello in the catalog ($NEXUS_CATALOG_FOLDER);
                curl -X POST -H "Authorization: Bearer \$TOKEN" -H 'Content-Type: application/json' \\
                  -d @$SAMPLE_DEPLOYMENT $gateway/api/deployments
                deploys its version 1.1 ($SAMPLE_RUNS); then see
                  $gateway/api/deployments/hello/runs and .../logs
  $RUNTIME
  Broker        127.0.0.1:$KAFKA_PORT (Apache Kafka $KAFKA_VERSION, one KRaft node)
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
