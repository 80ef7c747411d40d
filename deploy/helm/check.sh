#!/usr/bin/env bash
# The Helm chart's checks (deploy/helm/job-orchestrator), each timed:
#   - helm lint --strict and helm template of each scenario of ci/ (values.schema.json included),
#     and helm package (what the pipeline pushes) rendering the same;
#   - kubernetes-validate --strict of each rendering (Kubernetes 1.34's schemas);
#   - pytest assertions on the rendered objects (deploy/helm/tests);
#   - the chart's README against values.yaml, deploy/helm/rendered/minimal.yaml against the chart;
#   - with --cluster, against the stack's Kubernetes control plane (start_kube: KUBECONFIG_ADMIN and
#     KUBECTL exported, kwok's nodes): kubectl create --dry-run=server of every rendering; helm
#     install (every Deployment Available, the migration hook Job complete); helm upgrade with a
#     changed value (every Deployment rolls); helm uninstall (nothing of the release left).
#
#   deploy/helm/check.sh [--cluster] [--update]
#
# --update rewrites the README's table of values and the committed rendering instead of comparing.
set -euo pipefail
cd "$(dirname "$0")/../.."
# shellcheck source=deploy/local/stack.sh
source deploy/local/stack.sh

CHART=deploy/helm/job-orchestrator
RENDERED=deploy/helm/rendered/minimal.yaml
KUBE_VERSION_CHECKED=1.34.0
cluster=0 update=0
for argument in "$@"; do
    case $argument in
        --cluster) cluster=1 ;;
        --update) update=1 ;;
        *) die "unknown argument $argument (--cluster, --update)" ;;
    esac
done

ensure_helm
ensure_packaging_tools
ensure_python_tools
WORK=$(mktemp -d "${TMPDIR:-/tmp}/job-orchestrator-chart.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
# Helm's own state stays in the run's folder: no repository, plugin or registry login is used.
export HELM_CACHE_HOME="$WORK/helm" HELM_CONFIG_HOME="$WORK/helm" HELM_DATA_HOME="$WORK/helm"

TIMINGS=()
# Runs "${@:2}" and records how long it took, named $1.
timed() {
    local what=$1 started=${EPOCHREALTIME/./} took
    shift
    "$@"
    took=$((${EPOCHREALTIME/./} - started))
    TIMINGS+=("$(printf '%4d.%02d s  %s' $((took / 1000000)) $((took % 1000000 / 10000)) "$what")")
}

scenarios=()
for values in "$CHART"/ci/*-values.yaml; do
    scenarios+=("$(basename "$values" -values.yaml)")
done

# Helm says so each time it follows files/job-deployer-rbac.yaml's link: known, and no finding.
without_link_notice() {
    grep -v 'found symbolic link in path' | grep . || true
}

lint() {
    local scenario output
    for scenario in "${scenarios[@]}"; do
        output=$("$HELM" lint --strict --quiet -f "$CHART/ci/$scenario-values.yaml" "$CHART" 2>&1) ||
            { without_link_notice <<<"$output" >&2; die "helm lint --strict fails with ci/$scenario-values.yaml"; }
        without_link_notice <<<"$output" >&2
    done
}

# Renders each scenario as release $1 in namespace $2 into $WORK/$2/<scenario>.yaml.
render() {
    local release=$1 namespace=$2 scenario
    mkdir -p "$WORK/$namespace"
    for scenario in "${scenarios[@]}"; do
        "$HELM" template "$release" "$CHART" --namespace "$namespace" --kube-version "$KUBE_VERSION_CHECKED" \
            -f "$CHART/ci/$scenario-values.yaml" >"$WORK/$namespace/$scenario.yaml" 2>"$WORK/template.log" ||
            { without_link_notice <"$WORK/template.log" >&2; die "helm template fails with ci/$scenario-values.yaml"; }
    done
}

validate() {
    local scenario output
    for scenario in "${scenarios[@]}"; do
        output=$("$KUBERNETES_VALIDATE" --strict --quiet -k "$KUBE_VERSION_CHECKED" "$WORK/job-orchestrator/$scenario.yaml" 2>&1) ||
            { printf '%s\n' "$output" >&2; die "kubernetes-validate refuses the rendering of ci/$scenario-values.yaml"; }
        # Only the Prometheus Operator's and Gateway API's kinds have no schema there; say so.
        grep -v "Couldn't find schema for kind \(ServiceMonitor\|HTTPRoute\)" <<<"$output" | grep . >&2 &&
            die "kubernetes-validate warns about ci/$scenario-values.yaml's rendering"
        grep -q "Couldn't find schema" <<<"$output" &&
            say "kubernetes-validate has no schema for ServiceMonitor and HTTPRoute (CRDs): ci/$scenario-values.yaml's are checked by the pytest assertions"
    done
    return 0
}

# The chart as the pipeline pushes it (a package, the RBAC file's link resolved) renders the same.
package() {
    "$HELM" package "$CHART" --destination "$WORK/package" >/dev/null 2>"$WORK/package.log" ||
        { without_link_notice <"$WORK/package.log" >&2; die "helm package fails"; }
    "$HELM" template job-orchestrator "$WORK"/package/job-orchestrator-*.tgz --namespace job-orchestrator \
        --kube-version "$KUBE_VERSION_CHECKED" -f "$CHART/ci/minimal-values.yaml" >"$WORK/package.yaml"
    cmp -s "$WORK/package.yaml" "$WORK/job-orchestrator/minimal.yaml" ||
        die "the packaged chart renders differently from its folder: $(diff "$WORK/job-orchestrator/minimal.yaml" "$WORK/package.yaml" | head -n 20)"
}

assertions() {
    HELM="$HELM" PYTHONDONTWRITEBYTECODE=1 "$PACKAGING_TOOLS/pytest" -q -p no:cacheprovider deploy/helm/tests
}

readme() {
    if [ $update -eq 1 ]; then
        "$PACKAGING_TOOLS/python" deploy/helm/readme.py
    else
        "$PACKAGING_TOOLS/python" deploy/helm/readme.py --check
    fi
}

rendering() {
    {
        echo "# What the chart renders with ci/minimal-values.yaml (release and namespace job-orchestrator):"
        echo "# written by deploy/helm/check.sh --update, compared by deploy/helm/check.sh. Do not edit."
        cat "$WORK/job-orchestrator/minimal.yaml"
    } >"$WORK/rendered.yaml"
    if [ $update -eq 1 ]; then
        mkdir -p "$(dirname "$RENDERED")"
        cp "$WORK/rendered.yaml" "$RENDERED"
    elif ! diff -u "$RENDERED" "$WORK/rendered.yaml" >"$WORK/rendering.diff"; then
        head -n 40 "$WORK/rendering.diff" >&2
        die "$RENDERED is not what the chart renders: run deploy/helm/check.sh --update and commit it"
    fi
}

timed "helm lint --strict (${#scenarios[@]} scenarios)" lint
timed "helm template (${#scenarios[@]} scenarios)" render job-orchestrator job-orchestrator
timed "helm package, and its rendering" package
timed "kubernetes-validate --strict (${#scenarios[@]} renderings)" validate
timed "pytest assertions on the renderings" assertions
timed "README drift" readme
timed "rendering drift ($RENDERED)" rendering

if [ $cluster -eq 0 ]; then
    say "the install, upgrade and uninstall checks need the control plane (--cluster after start_kube): not run"
else
    [ -n "${KUBECONFIG_ADMIN:-}" ] && [ -n "${KUBECTL:-}" ] ||
        die "--cluster needs the stack's control plane: start_kube (deploy/local/stack.sh) exports KUBECONFIG_ADMIN and KUBECTL"
    # shellcheck source=deploy/helm/cluster.sh
    source deploy/helm/cluster.sh
    cluster_checks
fi

say "chart checks passed; time taken:"
printf '    %s\n' "${TIMINGS[@]}" >&2
