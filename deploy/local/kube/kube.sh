# shellcheck shell=bash
# A real Kubernetes control plane without containers, for the dev and test stacks: etcd,
# kube-apiserver, kube-controller-manager and kube-scheduler built from source (go.mod here), and
# kwok (kwok/go.mod) playing the nodes and their kubelet, so that Jobs and CronJobs run "on
# Kubernetes" with pods that end the way stages.yaml says. Sourced by deploy/local/stack.sh, whose
# say, die, free_port and stop_processes it uses.
#
#   ensure_kube        builds the binaries once (cached, keyed by versions and go.mod); sets KUBE_BIN
#   start_kube DIR     starts everything under DIR/kube on 127.0.0.1; sets KUBE_PIDS and exports
#                      KUBECONFIG_ADMIN, the admin's kubeconfig (group system:masters); writes
#                      DIR/kube/kube-apiserver PORT, which starts one more API server on the same etcd
#   stop_kube          stops what start_kube started and removes DIR/kube
#   kube_deployer_namespace NS FILE
#                      namespace NS with the deployer's RBAC, and FILE a kubeconfig acting as its
#                      ServiceAccount there

KUBE_VERSION=v1.34.4
KUBE_SRC_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
KUBE_CACHE_DIR=${XDG_CACHE_HOME:-$HOME/.cache}/job-orchestrator

# Builds kube-apiserver, kube-controller-manager, kube-scheduler, kubectl, etcd and kwok into
# ~/.cache/job-orchestrator/kube-<version>-<hash of the go.mod files>/bin, once; the Go build and
# module caches live under ~/.cache/job-orchestrator/go, so a rebuild after a change of go.mod
# compiles only what changed. The first build takes about 10 minutes on 2 cores.
ensure_kube() {
    command -v go >/dev/null || die "Go is needed to build the Kubernetes control plane"
    command -v openssl >/dev/null || apt_install openssl
    command -v curl >/dev/null || apt_install curl
    local hash dir
    hash=$(cat "$KUBE_SRC_DIR"/go.mod "$KUBE_SRC_DIR"/go.sum "$KUBE_SRC_DIR"/etcd/main.go \
        "$KUBE_SRC_DIR"/kwok/go.mod "$KUBE_SRC_DIR"/kwok/go.sum | sha256sum | cut -c 1-12)
    dir="$KUBE_CACHE_DIR/kube-$KUBE_VERSION-$hash"
    KUBE_BIN="$dir/bin"
    [ -f "$dir/built" ] && return
    say "building the Kubernetes control plane $KUBE_VERSION, etcd and kwok into $dir (about 10 minutes on 2 cores, once)"
    local started=$SECONDS version_flags="" pkg
    for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
        version_flags+=" -X $pkg.gitVersion=$KUBE_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=34 -X $pkg.gitTreeState=clean"
    done
    rm -rf "$dir"
    mkdir -p "$dir/bin"
    (
        export GOMODCACHE="$KUBE_CACHE_DIR/go/mod" GOCACHE="$KUBE_CACHE_DIR/go/build" GOTOOLCHAIN=local GOFLAGS="-mod=readonly -buildvcs=false"
        cd "$KUBE_SRC_DIR" &&
            go build -trimpath -ldflags "-s -w$version_flags" -o "$dir/bin/" \
                k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager \
                k8s.io/kubernetes/cmd/kube-scheduler k8s.io/kubernetes/cmd/kubectl ./etcd &&
            cd kwok && go build -trimpath -ldflags '-s -w' -o "$dir/bin/" sigs.k8s.io/kwok/cmd/kwok
    ) || die "the Kubernetes control plane does not build (see above)"
    touch "$dir/built"
    say "Kubernetes control plane built in $((SECONDS - started)) s"
    # Builds of other versions (about 450 MB each) are not used any more.
    find "$KUBE_CACHE_DIR" -maxdepth 1 -name 'kube-*' ! -path "$dir" -exec rm -rf {} +
}

# The stack's fake nodes: kwok manages the nodes with this annotation (and only those).
KUBE_NODES="kwok-node-0 kwok-node-1"
KUBE_NODE_ANNOTATION="kwok.x-k8s.io/node=fake"

# Starts etcd, kube-apiserver, kube-controller-manager, kube-scheduler and kwok on 127.0.0.1
# (free ports) with their certificates, keys and logs under $1/kube, creates the fake nodes and
# waits until they are Ready. Sets KUBE_PIDS and KUBE_DIR; exports KUBECONFIG_ADMIN (an admin
# client certificate, group system:masters) and KUBECTL.
start_kube() {
    local dir started=$SECONDS
    dir=$(realpath -m "$1/kube")
    KUBE_DIR=$dir
    KUBE_PIDS=()
    mkdir -p "$dir/pki" "$dir/etcd" "$dir/logs" "$dir/kwok"
    chmod 700 "$dir"
    local etcd_port etcd_peer_port api_port cm_port sched_port kwok_port
    read -r etcd_port etcd_peer_port api_port cm_port sched_port kwok_port < <(kube_free_ports 6)
    local api="https://127.0.0.1:$api_port"
    kube_pki "$dir/pki"
    export KUBECONFIG_ADMIN="$dir/admin.kubeconfig" KUBECTL="$KUBE_BIN/kubectl"
    kube_kubeconfig "$KUBECONFIG_ADMIN" "$api" "$dir/pki" admin
    kube_kubeconfig "$dir/controller-manager.kubeconfig" "$api" "$dir/pki" controller-manager
    kube_kubeconfig "$dir/scheduler.kubeconfig" "$api" "$dir/pki" scheduler

    # The API server's storage, for this run only: no fsync (a crash loses a throwaway cluster).
    "$KUBE_BIN/etcd" --name default --data-dir "$dir/etcd" --log-level warn --unsafe-no-fsync \
        --listen-client-urls "http://127.0.0.1:$etcd_port" --advertise-client-urls "http://127.0.0.1:$etcd_port" \
        --listen-peer-urls "http://127.0.0.1:$etcd_peer_port" \
        --initial-advertise-peer-urls "http://127.0.0.1:$etcd_peer_port" \
        --initial-cluster "default=http://127.0.0.1:$etcd_peer_port" >"$dir/logs/etcd.log" 2>&1 &
    KUBE_PIDS+=($!)
    wait_for_port "$etcd_port" etcd "$!" || kube_failed etcd

    # The API server's command, as a script that takes the port to serve on: the deployer's tests
    # start a second API server on the same etcd (as a highly available control plane has two), so
    # that they can restart one. The endpoint reconciler is off: it would publish 127.0.0.1 as the
    # `kubernetes` Service's endpoint, which the API refuses (loopback), and nothing here runs in a
    # pod anyway.
    cat >"$dir/kube-apiserver" <<SCRIPT
#!/usr/bin/env bash
exec "$KUBE_BIN/kube-apiserver" --etcd-servers "http://127.0.0.1:$etcd_port" \\
    --bind-address 127.0.0.1 --secure-port "\$1" --advertise-address 127.0.0.1 \\
    --endpoint-reconciler-type none \\
    --tls-cert-file "$dir/pki/apiserver.crt" --tls-private-key-file "$dir/pki/apiserver.key" \\
    --client-ca-file "$dir/pki/ca.crt" \\
    --authorization-mode Node,RBAC --anonymous-auth=false \\
    --enable-admission-plugins NodeRestriction,OwnerReferencesPermissionEnforcement \\
    --service-account-issuer "$api" --service-account-key-file "$dir/pki/sa.pub" \\
    --service-account-signing-key-file "$dir/pki/sa.key" \\
    --service-cluster-ip-range 10.96.0.0/16 \\
    --kubelet-client-certificate "$dir/pki/apiserver-kubelet-client.crt" \\
    --kubelet-client-key "$dir/pki/apiserver-kubelet-client.key" \\
    --kubelet-certificate-authority "$dir/pki/ca.crt" --kubelet-preferred-address-types InternalIP \\
    --profiling=false
SCRIPT
    chmod 700 "$dir/kube-apiserver"
    "$dir/kube-apiserver" "$api_port" >"$dir/logs/kube-apiserver.log" 2>&1 &
    KUBE_PIDS+=($!)
    kube_wait_healthy "$api/readyz" kube-apiserver "$!" "$dir/pki"

    "$KUBE_BIN/kube-controller-manager" --kubeconfig "$dir/controller-manager.kubeconfig" \
        --authentication-kubeconfig "$dir/controller-manager.kubeconfig" \
        --authorization-kubeconfig "$dir/controller-manager.kubeconfig" \
        --bind-address 127.0.0.1 --secure-port "$cm_port" \
        --tls-cert-file "$dir/pki/loopback.crt" --tls-private-key-file "$dir/pki/loopback.key" \
        --leader-elect=false --use-service-account-credentials \
        --root-ca-file "$dir/pki/ca.crt" --service-account-private-key-file "$dir/pki/sa.key" \
        --cluster-signing-cert-file "$dir/pki/ca.crt" --cluster-signing-key-file "$dir/pki/ca.key" \
        --service-cluster-ip-range 10.96.0.0/16 --profiling=false \
        >"$dir/logs/kube-controller-manager.log" 2>&1 &
    KUBE_PIDS+=($!)
    "$KUBE_BIN/kube-scheduler" --kubeconfig "$dir/scheduler.kubeconfig" \
        --authentication-kubeconfig "$dir/scheduler.kubeconfig" \
        --authorization-kubeconfig "$dir/scheduler.kubeconfig" \
        --bind-address 127.0.0.1 --secure-port "$sched_port" \
        --tls-cert-file "$dir/pki/loopback.crt" --tls-private-key-file "$dir/pki/loopback.key" \
        --leader-elect=false --profiling=false >"$dir/logs/kube-scheduler.log" 2>&1 &
    KUBE_PIDS+=($!)

    # Every container's log, as kwok serves it at the kubelet's /containerLogs (kubectl logs): the
    # same CRI-format file for all, since no container really runs.
    printf '%s stdout F kwok: no container runs here; this is the log kwok serves for every container\n' \
        "$(date -u +%Y-%m-%dT%H:%M:%S.%NZ)" >"$dir/kwok/container.log"
    cat >"$dir/kwok/logs.yaml" <<YAML
apiVersion: kwok.x-k8s.io/v1alpha1
kind: ClusterLogs
metadata:
  name: every-container
spec:
  logs:
  - logsFile: $dir/kwok/container.log
YAML
    "$KUBE_BIN/kwok" --kubeconfig "$KUBECONFIG_ADMIN" \
        --config "$KUBE_SRC_DIR/stages.yaml" --config "$dir/kwok/logs.yaml" \
        --manage-all-nodes=false --manage-nodes-with-annotation-selector "$KUBE_NODE_ANNOTATION" \
        --node-ip 127.0.0.1 --node-port "$kwok_port" --server-address "127.0.0.1:$kwok_port" \
        --tls-cert-file "$dir/pki/loopback.crt" --tls-private-key-file "$dir/pki/loopback.key" \
        --node-lease-duration-seconds 40 --cidr 10.244.0.0/16 >"$dir/logs/kwok.log" 2>&1 &
    KUBE_PIDS+=($!)

    kube_wait_healthy "https://127.0.0.1:$cm_port/healthz" kube-controller-manager "${KUBE_PIDS[2]}" "$dir/pki"
    kube_wait_healthy "https://127.0.0.1:$sched_port/healthz" kube-scheduler "${KUBE_PIDS[3]}" "$dir/pki"
    local node
    for node in $KUBE_NODES; do
        "$KUBECTL" --kubeconfig "$KUBECONFIG_ADMIN" apply -f - >/dev/null <<YAML || kube_failed "node $node"
apiVersion: v1
kind: Node
metadata:
  name: $node
  annotations:
    ${KUBE_NODE_ANNOTATION%%=*}: "${KUBE_NODE_ANNOTATION#*=}"
  labels:
    kubernetes.io/hostname: $node
    kubernetes.io/os: linux
    kubernetes.io/arch: amd64
    type: kwok
YAML
    done
    # shellcheck disable=SC2086
    "$KUBECTL" --kubeconfig "$KUBECONFIG_ADMIN" wait --for condition=Ready --timeout 60s node $KUBE_NODES >/dev/null ||
        kube_failed "kwok (the nodes are not Ready)"
    say "Kubernetes $KUBE_VERSION ready in $((SECONDS - started)) s at $api (kubeconfig $KUBECONFIG_ADMIN, logs in $dir/logs)"
}

# Stops what start_kube started (etcd, the storage, last: the others stop in about 3 s, together)
# and removes its folder; fails if a process had to be killed.
stop_kube() {
    [ -n "${KUBE_DIR:-}" ] || return 0
    local stopped=0
    [ ${#KUBE_PIDS[@]} -le 1 ] || stop_processes "${KUBE_PIDS[@]:1}" || stopped=1
    [ ${#KUBE_PIDS[@]} -eq 0 ] || stop_processes "${KUBE_PIDS[0]}" || stopped=1
    rm -rf "$KUBE_DIR"
    KUBE_PIDS=()
    KUBE_DIR=
    return $stopped
}

# Namespace $1 with the deployer's ServiceAccount, Role and RoleBinding from
# deploy/kubernetes/job-deployer-rbac.yaml, and kubeconfig $2 that
# acts as that ServiceAccount in $1, with a token minted for it (valid 30 days: the cluster goes
# with the stack anyway).
kube_deployer_namespace() {
    local namespace=$1 file=$2 token server ca
    local kubectl=("$KUBECTL" --kubeconfig "$KUBECONFIG_ADMIN")
    "${kubectl[@]}" create namespace "$namespace" >/dev/null || die "cannot create the namespace $namespace"
    "${kubectl[@]}" -n "$namespace" apply -f "$KUBE_SRC_DIR/../../kubernetes/job-deployer-rbac.yaml" >/dev/null ||
        die "cannot apply the deployer's RBAC in $namespace"
    token=$("${kubectl[@]}" -n "$namespace" create token job-deployer --duration 720h) ||
        die "cannot mint a token for the deployer's ServiceAccount"
    server=$("${kubectl[@]}" config view -o jsonpath='{.clusters[0].cluster.server}')
    ca=$("${kubectl[@]}" config view --raw -o jsonpath='{.clusters[0].cluster.certificate-authority-data}')
    cat >"$file" <<YAML
apiVersion: v1
kind: Config
clusters:
- name: job-orchestrator
  cluster:
    server: $server
    certificate-authority-data: $ca
users:
- name: job-deployer
  user:
    token: $token
contexts:
- name: job-deployer
  context:
    cluster: job-orchestrator
    user: job-deployer
    namespace: $namespace
current-context: job-deployer
YAML
    chmod 600 "$file"
}

# $1 distinct free ports.
kube_free_ports() {
    local ports=() port
    while [ ${#ports[@]} -lt "$1" ]; do
        port=$(free_port)
        [[ " ${ports[*]} " == *" $port "* ]] || ports+=("$port")
    done
    echo "${ports[@]}"
}

# The cluster's CA and, signed by it, every certificate the control plane uses (ECDSA P-256, valid
# for a week), and the service accounts' token signing key, in folder $1.
kube_pki() {
    local pki=$1
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 7 \
        -keyout "$pki/ca.key" -out "$pki/ca.crt" -subj "/CN=job-orchestrator-kube-ca" \
        -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null ||
        die "openssl cannot make the cluster's CA"
    kube_cert "$pki" apiserver "/CN=kube-apiserver" serverAuth \
        "IP:127.0.0.1,IP:10.96.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc"
    # One serving certificate for what else listens on 127.0.0.1: the controller manager, the
    # scheduler and kwok's kubelet endpoint, which the API server reaches for logs.
    kube_cert "$pki" loopback "/CN=job-orchestrator-kube-loopback" serverAuth "IP:127.0.0.1,DNS:localhost"
    kube_cert "$pki" admin "/O=system:masters/CN=kubernetes-admin" clientAuth
    kube_cert "$pki" controller-manager "/CN=system:kube-controller-manager" clientAuth
    kube_cert "$pki" scheduler "/CN=system:kube-scheduler" clientAuth
    kube_cert "$pki" apiserver-kubelet-client "/O=system:masters/CN=kube-apiserver-kubelet-client" clientAuth
    openssl genpkey -algorithm ec -pkeyopt ec_paramgen_curve:prime256v1 -out "$pki/sa.key" 2>/dev/null &&
        openssl pkey -in "$pki/sa.key" -pubout -out "$pki/sa.pub" 2>/dev/null ||
        die "openssl cannot make the service accounts' signing key"
    chmod 600 "$pki"/*.key
}

# Certificate $2.crt (key $2.key) in folder $1 for subject $3, usage $4 and, for a server, names $5.
kube_cert() {
    local pki=$1 name=$2 subject=$3 usage=$4 names=${5:-}
    local extensions=(-addext "basicConstraints=critical,CA:FALSE" -addext "keyUsage=critical,digitalSignature"
        -addext "extendedKeyUsage=$usage")
    [ -z "$names" ] || extensions+=(-addext "subjectAltName=$names")
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 7 \
        -CA "$pki/ca.crt" -CAkey "$pki/ca.key" -keyout "$pki/$name.key" -out "$pki/$name.crt" \
        -subj "$subject" "${extensions[@]}" 2>/dev/null || die "openssl cannot make the certificate $name"
}

# Kubeconfig $1 for server $2 with client certificate $4 of folder $3 (the files' contents inside,
# so that the file can be read from anywhere).
kube_kubeconfig() {
    local file=$1 server=$2 pki=$3 user=$4
    cat >"$file" <<YAML
apiVersion: v1
kind: Config
clusters:
- name: job-orchestrator
  cluster:
    server: $server
    certificate-authority-data: $(base64 -w0 "$pki/ca.crt")
users:
- name: $user
  user:
    client-certificate-data: $(base64 -w0 "$pki/$user.crt")
    client-key-data: $(base64 -w0 "$pki/$user.key")
contexts:
- name: $user
  context:
    cluster: job-orchestrator
    user: $user
current-context: $user
YAML
    chmod 600 "$file"
}

# Waits up to 60 s for URL $1 to answer 200 (as the admin, trusting the cluster's CA in folder $4);
# stops waiting if process $3 ends.
kube_wait_healthy() {
    local url=$1 what=$2 pid=$3 pki=$4
    for _ in $(seq 1 300); do
        curl -fsS -o /dev/null --cacert "$pki/ca.crt" --cert "$pki/admin.crt" --key "$pki/admin.key" "$url" 2>/dev/null &&
            return 0
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.2
    done
    kube_failed "$what"
}

# Shows the end of $1's log and stops.
kube_failed() {
    local log="$KUBE_DIR/logs/${1%% *}.log"
    [ -f "$log" ] && tail -n 30 "$log" >&2
    die "$1 does not start (logs in $KUBE_DIR/logs)"
}
