# shellcheck shell=bash
# The chart against the stack's real Kubernetes control plane (API server, controller-manager,
# scheduler; kwok plays the nodes and runs the pods without running their images). Sourced by
# deploy/helm/check.sh --cluster, whose CHART, WORK, HELM, scenarios, render and timed it uses, with
# KUBECONFIG_ADMIN and KUBECTL from start_kube.

CHECK_RELEASE=jo
CHECK_NAMESPACE=jo-chart-check
CHECK_JOBS_NAMESPACE=jo-chart-check-jobs
DRY_RUN_NAMESPACE=jo-chart-dry-run
RELEASE_SELECTOR=app.kubernetes.io/instance=$CHECK_RELEASE
# What a release could leave behind: every kind the chart makes, and the pods of its workloads.
RELEASE_KINDS=deployments,replicasets,pods,services,serviceaccounts,roles,rolebindings,networkpolicies,poddisruptionbudgets,horizontalpodautoscalers,ingresses,jobs,configmaps,secrets

kube() {
    "$KUBECTL" --kubeconfig "$KUBECONFIG_ADMIN" "$@"
}

khelm() {
    "$HELM" --kubeconfig "$KUBECONFIG_ADMIN" "$@"
}

# The rendering $1 without the kinds whose definitions (CRDs) this cluster does not have: the
# Prometheus Operator's ServiceMonitor and the Gateway API's HTTPRoute.
without_crd_kinds() {
    "$PACKAGING_TOOLS/python" - "$1" <<'PY'
import sys, yaml
objects = [o for o in yaml.safe_load_all(open(sys.argv[1])) if o]
kept = [o for o in objects if o["kind"] not in ("ServiceMonitor", "HTTPRoute")]
print(yaml.safe_dump_all(kept, sort_keys=False), end="")
print(f"{len(objects) - len(kept)} object(s) of CRD kinds left out", file=sys.stderr)
PY
}

# The API server's own validation (and admission) of every object of every rendering: what a schema
# cannot tell (a label selector that does not match, an immutable field, a quantity out of range).
server_dry_run() {
    local scenario objects
    for scenario in "${scenarios[@]}"; do
        without_crd_kinds "$WORK/$DRY_RUN_NAMESPACE/$scenario.yaml" 2>"$WORK/left-out.log" >"$WORK/$scenario.server.yaml"
        objects=$(kube create --dry-run=server -o name -f "$WORK/$scenario.server.yaml") ||
            die "the API server refuses the rendering of ci/$scenario-values.yaml"
        say "kubectl create --dry-run=server: ci/$scenario-values.yaml's $(wc -l <<<"$objects") objects accepted ($(cat "$WORK/left-out.log"))"
    done
}

# The Secrets the minimal scenario names, made as an operator would before installing.
install_secrets() {
    openssl genpkey -algorithm ed25519 -out "$WORK/token-key.pem" 2>/dev/null
    kube -n "$CHECK_NAMESPACE" create secret generic job-orchestrator-token-key --from-file=token-key.pem="$WORK/token-key.pem" >/dev/null
    kube -n "$CHECK_NAMESPACE" create secret generic job-orchestrator-database --from-literal=password="$(openssl rand -hex 16)" >/dev/null
    kube -n "$CHECK_NAMESPACE" create secret generic job-orchestrator-users --from-literal=users.json='{"users": []}' >/dev/null
}

# How many times the job controller reported the migration Job complete in the release's namespace
# (each run is a new Job of the same name).
migrations_completed() {
    kube -n "$CHECK_NAMESPACE" get events --field-selector involvedObject.kind=Job,reason=Completed \
        -o jsonpath='{range .items[*]}{.involvedObject.name}{"\n"}{end}' | grep -cx "$CHECK_RELEASE-job-orchestrator-migrate" || true
}

deployments_available() {
    local total available
    total=$(kube -n "$CHECK_NAMESPACE" get deployments -l "$RELEASE_SELECTOR" -o name | wc -l)
    [ "$total" -eq 5 ] || die "the release has $total Deployments, not 5"
    kube -n "$CHECK_NAMESPACE" wait --for=condition=Available --timeout=60s deployment -l "$RELEASE_SELECTOR" >/dev/null ||
        die "not every Deployment became Available"
    available=$(kube -n "$CHECK_NAMESPACE" get deployments -l "$RELEASE_SELECTOR" \
        -o jsonpath='{range .items[*]}{.metadata.name}={.status.availableReplicas}/{.spec.replicas} {end}')
    say "Available: $available"
}

helm_install() {
    kube create namespace "$CHECK_NAMESPACE" >/dev/null
    kube create namespace "$CHECK_JOBS_NAMESPACE" >/dev/null
    install_secrets
    khelm install "$CHECK_RELEASE" "$CHART" --namespace "$CHECK_NAMESPACE" -f "$CHART/ci/minimal-values.yaml" \
        --set deployer.namespace="$CHECK_JOBS_NAMESPACE" --wait --timeout 3m >/dev/null 2>"$WORK/helm.log" ||
        { without_link_notice <"$WORK/helm.log" >&2; die "helm install fails"; }
    deployments_available
    # The hook Job is deleted once it succeeded (hook-succeeded); the job controller's event stays.
    [ "$(migrations_completed)" -eq 1 ] || die "the migration hook Job did not complete"
    [ -z "$(kube -n "$CHECK_NAMESPACE" get jobs -o name)" ] || die "the migration Job was not deleted after it succeeded"
    kube -n "$CHECK_JOBS_NAMESPACE" get role,rolebinding "$CHECK_RELEASE-job-orchestrator-job-deployer" >/dev/null ||
        die "job-deployer's Role is not in the jobs' namespace"
    say "helm install: 5 Deployments Available, the migration hook Job complete, the Role in $CHECK_JOBS_NAMESPACE"
}

# The pods' RUST_LOG values, one per line, with how many pods have each.
release_pod_filters() {
    kube -n "$CHECK_NAMESPACE" get pods -l "$RELEASE_SELECTOR" \
        -o jsonpath='{range .items[*]}{.spec.containers[0].env[?(@.name=="RUST_LOG")].value}{"\n"}{end}' | sort | uniq -c
}

helm_upgrade() {
    local before after name
    before=$(kube -n "$CHECK_NAMESPACE" get deployments -l "$RELEASE_SELECTOR" -o jsonpath='{range .items[*]}{.metadata.name}={.metadata.generation} {end}')
    khelm upgrade "$CHECK_RELEASE" "$CHART" --namespace "$CHECK_NAMESPACE" -f "$CHART/ci/minimal-values.yaml" \
        --set deployer.namespace="$CHECK_JOBS_NAMESPACE" --set logging.filter=debug --wait --timeout 3m >/dev/null 2>"$WORK/helm.log" ||
        { without_link_notice <"$WORK/helm.log" >&2; die "helm upgrade fails"; }
    for name in $(kube -n "$CHECK_NAMESPACE" get deployments -l "$RELEASE_SELECTOR" -o name); do
        kube -n "$CHECK_NAMESPACE" rollout status "$name" --timeout=60s >/dev/null || die "$name did not roll"
    done
    after=$(kube -n "$CHECK_NAMESPACE" get deployments -l "$RELEASE_SELECTOR" -o jsonpath='{range .items[*]}{.metadata.name}={.metadata.generation} {end}')
    for name in $before; do
        grep -qF "$name " <<<"$after " && die "${name%=*} did not change with the new value (generation ${name#*=})"
    done
    # The old pods go (kwok kills and removes them as a kubelet would): every pod left has the new value.
    for _ in $(seq 1 60); do
        [ "$(release_pod_filters | awk '{print $2}')" = debug ] && break
        sleep 1
    done
    [ "$(release_pod_filters | awk '{print $2}')" = debug ] || die "pods without the new value remain: $(release_pod_filters)"
    deployments_available
    [ "$(migrations_completed)" -eq 2 ] || die "the migration hook Job did not run again before the upgrade"
    say "helm upgrade --set logging.filter=debug: every Deployment rolled (generations $before-> $after), the migrations ran again"
}

helm_uninstall() {
    local left
    khelm uninstall "$CHECK_RELEASE" --namespace "$CHECK_NAMESPACE" --wait --timeout 2m >/dev/null 2>"$WORK/helm.log" ||
        { without_link_notice <"$WORK/helm.log" >&2; die "helm uninstall fails"; }
    for _ in $(seq 1 60); do
        left=$(kube get "$RELEASE_KINDS" --all-namespaces -l "$RELEASE_SELECTOR" -o name)
        [ -z "$left" ] && break
        sleep 1
    done
    [ -z "$left" ] || die "helm uninstall left: $(echo $left)"
    # Helm's own record of the release goes too (no --keep-history).
    left=$(kube -n "$CHECK_NAMESPACE" get secrets -l "owner=helm,name=$CHECK_RELEASE" -o name)
    [ -z "$left" ] || die "helm uninstall left its release records: $left"
    say "helm uninstall: nothing of the release is left in any namespace"
}

cluster_cleanup() {
    kube delete namespace "$DRY_RUN_NAMESPACE" data-jobs "$CHECK_NAMESPACE" "$CHECK_JOBS_NAMESPACE" \
        --ignore-not-found --wait=false >/dev/null || true
}

cluster_checks() {
    trap 'cluster_cleanup; rm -rf "$WORK"' EXIT
    render "$CHECK_RELEASE" "$DRY_RUN_NAMESPACE"
    # The namespaces the renderings name (high-availability's jobs run in data-jobs).
    kube create namespace "$DRY_RUN_NAMESPACE" >/dev/null
    kube create namespace data-jobs >/dev/null
    timed "kubectl create --dry-run=server (${#scenarios[@]} renderings)" server_dry_run
    timed "helm install (kwok nodes)" helm_install
    timed "helm upgrade with a changed value" helm_upgrade
    timed "helm uninstall" helm_uninstall
}
