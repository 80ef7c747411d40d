"""What an operator would check in the chart's renderings: secure defaults, probes on the ports the
binaries serve, every setting the services read, secrets by reference only, the migration hook,
RBAC scope and the NetworkPolicies. Run by deploy/helm/check.sh (HELM names the helm binary)."""

import json
import os
import re
import subprocess
import sys
from functools import cache
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT / "tests"))
from service_settings import settings_read_by  # noqa: E402 (found through the path above)
CHART = ROOT / "deploy/helm/job-orchestrator"
SCENARIOS = sorted(p.name.removesuffix("-values.yaml") for p in (CHART / "ci").glob("*-values.yaml"))
SERVICES = ["auth-gateway", "nexus-catalog", "job-deployer", "job-history", "job-history-consumer"]
STATELESS = {"auth-gateway", "nexus-catalog", "job-history"}
RELEASE, NAMESPACE = "jo", "platform"

# Settings the chart leaves unset on purpose, and why.
NOT_FOR_OPERATORS = {
    "HOME": "the image's (the chart names every file the services read)",
    "AUTH_JWKS_FILE": "the services fetch the gateway's keys from AUTH_JWKS_URL",
    "AUTH_GATEWAY_TOKEN_KEY": "the key is mounted from its Secret as AUTH_GATEWAY_TOKEN_KEY_FILE",
    "AUTH_GATEWAY_LDAP_BIND_PASSWORD": "mounted from its Secret as AUTH_GATEWAY_LDAP_BIND_PASSWORD_FILE",
    "NEXUS_CATALOG_NEXUS_PASSWORD": "mounted from its Secret as NEXUS_CATALOG_NEXUS_PASSWORD_FILE",
    "NEXUS_CATALOG_FOLDER": "a local folder instead of Nexus is for the dev stack",
    "JOB_DEPLOYER_LOCAL_DIR": "the local runtime is for a laptop, the chart runs the Kubernetes one",
}
# Variables the chart sets that no service reads by name: the log filter (tracing-subscriber's
# RUST_LOG) and the password that DATABASE_URL takes by Kubernetes' $(VAR) expansion.
SET_FOR_OTHER_READERS = {"RUST_LOG", "DATABASE_PASSWORD"}


def helm(*args, check=True):
    command = [os.environ.get("HELM", "helm"), *args]
    return subprocess.run(command, capture_output=True, text=True, check=check)


@cache
def render(scenario, *extra):
    result = helm("template", RELEASE, str(CHART), "--namespace", NAMESPACE, "--kube-version", "1.34.0",
                  "-f", str(CHART / "ci" / f"{scenario}-values.yaml"), *extra)
    return [o for o in yaml.safe_load_all(result.stdout) if o]


def refused(scenario, *extra):
    """helm's error for a rendering that must fail."""
    result = helm("template", RELEASE, str(CHART), "-n", NAMESPACE, "-f",
                  str(CHART / "ci" / f"{scenario}-values.yaml"), *extra, check=False)
    assert result.returncode != 0, f"rendered although it should not: {extra}"
    return result.stderr


def of_kind(objects, kind):
    return [o for o in objects if o["kind"] == kind]


def component(o):
    return o["metadata"]["labels"]["app.kubernetes.io/component"]


def deployments(objects):
    return {component(d): d for d in of_kind(objects, "Deployment")}


def pod_specs(objects):
    """Every pod the release runs: the services' and the migration Job's."""
    specs = {component(d): d["spec"]["template"]["spec"] for d in of_kind(objects, "Deployment")}
    specs.update({"migrations": j["spec"]["template"]["spec"] for j in of_kind(objects, "Job")})
    return specs


def env_of(container):
    return {e["name"]: e for e in container.get("env", [])}


def default_port(service):
    """The port the binary serves on by default, from its ServerSettings::from_env call."""
    prefix = service.upper().replace("-", "_")
    for source in (ROOT / "services" / service / "src").rglob("*.rs"):
        found = re.search(rf'ServerSettings::from_env\(\s*env,\s*"{prefix}",\s*(\d+)\)', source.read_text())
        if found:
            return int(found.group(1))
    raise AssertionError(f"{service}: no ServerSettings::from_env call found")


# ---- secure defaults -------------------------------------------------------------------------

@pytest.mark.parametrize("scenario", SCENARIOS)
def test_every_pod_runs_restricted(scenario):
    for name, spec in pod_specs(render(scenario)).items():
        assert spec["securityContext"]["runAsNonRoot"] is True, name
        assert spec["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}, name
        for container in spec["containers"]:
            security = container["securityContext"]
            assert security["readOnlyRootFilesystem"] is True, name
            assert security["allowPrivilegeEscalation"] is False, name
            assert security["capabilities"]["drop"] == ["ALL"], name
            assert "add" not in security["capabilities"], name
            resources = container["resources"]
            assert resources["requests"]["cpu"] and resources["requests"]["memory"], name
            assert resources["limits"]["memory"], name
            mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
            volumes = {v["name"]: v for v in spec["volumes"]}
            assert "emptyDir" in volumes[mounts["/tmp"]], f"{name}: /tmp must be an emptyDir"
        # Only the deployer talks to Kubernetes.
        assert spec["automountServiceAccountToken"] is (name == "job-deployer"), name
        assert not spec.get("hostNetwork") and not spec.get("hostPID"), name


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_images_are_the_services_own_at_one_tag(scenario):
    for name, spec in pod_specs(render(scenario)).items():
        image = spec["containers"][0]["image"]
        expected = "job-history" if name == "migrations" else name
        assert re.fullmatch(rf"registry\.gitlab\.example\.com/data/job-orchestrator/{expected}:0\.1\.0", image), image


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_logs_are_json(scenario):
    for name, spec in pod_specs(render(scenario)).items():
        assert env_of(spec["containers"][0])["LOG_FORMAT"]["value"] == "json", name


# ---- secrets ---------------------------------------------------------------------------------

@pytest.mark.parametrize("scenario", SCENARIOS)
def test_secrets_only_by_reference(scenario):
    objects = render(scenario)
    assert not of_kind(objects, "Secret"), "the chart must not make Secrets: they exist before the install"
    values = yaml.safe_load((CHART / "ci" / f"{scenario}-values.yaml").read_text())
    named = set(re.findall(r"'(?:existingSecret|jobsSecret|name|tlsSecret)': '([^']+)'", str(values)))
    for name, spec in pod_specs(objects).items():
        for container in spec["containers"]:
            for variable in container.get("env", []):
                secret = variable.get("valueFrom", {}).get("secretKeyRef")
                if secret:
                    assert secret["name"] in named, f"{name}: {secret['name']} is not a Secret the values name"
                elif re.search(r"PASSWORD|SECRET|TOKEN_KEY|PRIVATE", variable["name"]):
                    # Only where a secret is (a file from a Secret) or which Secret, never the secret.
                    value = variable["value"]
                    where = variable["name"].endswith("_FILE") and value.startswith("/etc/job-orchestrator/")
                    which = variable["name"] == "JOB_DEPLOYER_NEXUS_SECRET" and value in named
                    assert where or which, f"{name}: {variable['name']} has a value in the manifest"
        for volume in spec.get("volumes", []):
            if "secret" in volume:
                assert volume["secret"]["secretName"] in named, f"{name}: {volume['secret']['secretName']}"
                assert volume["secret"]["defaultMode"] == 0o440


def test_database_url_takes_the_password_from_the_secret():
    spec = pod_specs(render("minimal"))["job-history"]
    env = env_of(spec["containers"][0])
    assert env["DATABASE_PASSWORD"]["valueFrom"]["secretKeyRef"] == {"name": "job-orchestrator-database", "key": "password"}
    # Kubernetes expands $(DATABASE_PASSWORD), declared before it.
    assert env["DATABASE_URL"]["value"] == \
        "postgres://job_orchestrator:$(DATABASE_PASSWORD)@postgres.databases.svc:5432/job_orchestrator"
    names = [e["name"] for e in spec["containers"][0]["env"]]
    assert names.index("DATABASE_PASSWORD") < names.index("DATABASE_URL")
    whole = env_of(pod_specs(render("external-secrets"))["job-history"]["containers"][0])
    assert whole["DATABASE_URL"]["valueFrom"]["secretKeyRef"] == {"name": "vault-database", "key": "DATABASE_URL"}
    assert "DATABASE_PASSWORD" not in whole


def test_the_gateway_reads_its_key_and_passwords_as_files():
    spec = pod_specs(render("high-availability"))["auth-gateway"]
    container = spec["containers"][0]
    env = env_of(container)
    mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
    volumes = {v["name"]: v for v in spec["volumes"]}
    for variable, volume, source in [
        ("AUTH_GATEWAY_TOKEN_KEY_FILE", "token-key", "job-orchestrator-token-key"),
        ("AUTH_GATEWAY_LDAP_BIND_PASSWORD_FILE", "ldap-bind-password", "job-orchestrator-ldap"),
    ]:
        key = volumes[volume]["secret"]["items"][0]["path"]
        assert env[variable]["value"] == f"{mounts[volume]}/{key}"
        assert volumes[volume]["secret"]["secretName"] == source
    assert volumes["ldap-ca"]["configMap"]["name"] == "corporate-ca"
    assert "AUTH_GATEWAY_USERS_FILE" not in env


@pytest.mark.parametrize("extra, message", [
    (["--set", "token.existingSecret="], "token.existingSecret is required"),
    (["--set", "postgres.existingSecret="], "postgres.existingSecret is required"),
    (["--set", "kafka.brokers="], "kafka.brokers is required"),
    (["--set", "nexus.url="], "nexus.url is required"),
    (["--set", "usersFile.existingSecret="], "usersFile.existingSecret is required without LDAP"),
    (["--set", "ldap.enabled=true,ldap.url=ldap://x,ldap.userBase=dc=x"], "ldap.allowedGroups is required"),
    (["--set-json", 'common.extraEnv=[{"name":"NEXUS_PASSWORD","value":"hunter2"}]'], "extraEnv/0"),
    (["--set", "services.job-deployer.hpa.enabled=true"], "an HPA is offered for auth-gateway, nexus-catalog and job-history only"),
    (["--set", "services.job-history.replicaz=2"], "additional properties 'replicaz' not allowed"),
    (["--set", "logging.format=text"], "value must be one of 'json', 'compact'"),
    (["--set", "gateway.links.airflow=airflow.example.com"], "/gateway/links/airflow"),
    (["--set", "common.tmpSizeLimit=lots"], "/common/tmpSizeLimit"),
    (["--set", "services.job-history.resources.limits.memory=1 GB"], "/services/job-history/resources/limits/memory"),
])
def test_a_wrong_or_missing_value_is_refused_by_name(extra, message):
    assert message in refused("minimal", *extra)


# ---- probes, ports and settings -------------------------------------------------------------

@pytest.mark.parametrize("scenario", SCENARIOS)
def test_probes_on_the_ports_the_binaries_serve(scenario):
    objects = render(scenario)
    services = {component(s): s for s in of_kind(objects, "Service")}
    for name, deployment in deployments(objects).items():
        container = deployment["spec"]["template"]["spec"]["containers"][0]
        port = default_port(name)
        assert container["ports"] == [{"name": "http", "containerPort": port, "protocol": "TCP"}], name
        assert env_of(container)[name.upper().replace("-", "_") + "_LISTEN"]["value"] == f"0.0.0.0:{port}"
        assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}, name
        assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}, name
        assert container["startupProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}, name
        assert services[name]["spec"]["ports"][0]["port"] == port
        assert services[name]["spec"]["selector"] == deployment["spec"]["selector"]["matchLabels"]


def test_every_setting_the_services_read_is_set_or_left_out_on_purpose():
    """A setting added to a service must be mapped from the values (or listed above, with why)."""
    set_by_chart = {service: set() for service in SERVICES}
    for scenario in SCENARIOS:
        for name, deployment in deployments(render(scenario)).items():
            set_by_chart[name] |= set(env_of(deployment["spec"]["template"]["spec"]["containers"][0]))
    for service in SERVICES:
        read = settings_read_by(ROOT, service)
        unset = sorted(read - set_by_chart[service] - set(NOT_FOR_OPERATORS))
        assert not unset, f"{service} reads {unset}, which no value of the chart sets"
        unknown = sorted(set_by_chart[service] - read - SET_FOR_OTHER_READERS)
        assert not unknown, f"the chart sets {unknown} on {service}, which does not read them"


def test_services_find_each_other_and_the_keys_by_service_name():
    objects = render("minimal")
    env = {name: env_of(d["spec"]["template"]["spec"]["containers"][0]) for name, d in deployments(objects).items()}
    for name in SERVICES:
        assert env[name]["AUTH_JWKS_URL"]["value"] == "http://jo-job-orchestrator-auth-gateway:8080/.well-known/jwks.json"
    assert env["auth-gateway"]["AUTH_GATEWAY_CATALOG_URL"]["value"] == "http://jo-job-orchestrator-nexus-catalog:8081"
    assert env["auth-gateway"]["AUTH_GATEWAY_DEPLOYER_URL"]["value"] == "http://jo-job-orchestrator-job-deployer:8082"
    assert env["auth-gateway"]["AUTH_GATEWAY_HISTORY_URL"]["value"] == "http://jo-job-orchestrator-job-history:8086"
    assert env["auth-gateway"]["AUTH_GATEWAY_UI_DIR"]["value"] == "/app/ui"
    assert env["auth-gateway"]["AUTH_GATEWAY_COOKIE_SECURE"]["value"] == "true"
    assert env["job-deployer"]["JOB_DEPLOYER_RUNTIME"]["value"] == "kubernetes"
    assert env["job-deployer"]["JOB_DEPLOYER_NAMESPACE"]["value"] == NAMESPACE


def test_ldap_and_proxies_from_values():
    env = env_of(deployments(render("high-availability"))["auth-gateway"]["spec"]["template"]["spec"]["containers"][0])
    assert env["AUTH_GATEWAY_LDAP_URL"]["value"] == "ldaps://ldap.example.com"
    assert env["AUTH_GATEWAY_LDAP_ALLOWED_GROUPS"]["value"] == \
        "cn=data,ou=groups,dc=example,dc=com;cn=auditors,ou=groups,dc=example,dc=com"
    assert env["AUTH_GATEWAY_TRUSTED_PROXIES"]["value"] == "10.0.0.10,10.0.0.11"
    assert env["AUTH_GATEWAY_LDAP_NESTED_GROUPS"]["value"] == "false"


# ---- availability ------------------------------------------------------------------------------

def test_high_availability_scales_the_stateless_services_and_protects_all():
    objects = render("high-availability")
    hpas = {component(h): h for h in of_kind(objects, "HorizontalPodAutoscaler")}
    assert set(hpas) == STATELESS
    assert hpas["auth-gateway"]["spec"]["minReplicas"] == 3
    for name, deployment in deployments(objects).items():
        assert ("replicas" in deployment["spec"]) == (name not in STATELESS), f"{name}: the HPA owns replicas"
        spread = deployment["spec"]["template"]["spec"]["topologySpreadConstraints"][0]
        assert spread["labelSelector"]["matchLabels"] == deployment["spec"]["selector"]["matchLabels"]
    pdbs = {component(p): p for p in of_kind(objects, "PodDisruptionBudget")}
    assert set(pdbs) == set(SERVICES)
    assert all(p["spec"]["maxUnavailable"] == 1 for p in pdbs.values())


def test_a_single_replica_has_no_pdb_that_would_block_a_drain():
    objects = render("minimal")
    assert not of_kind(objects, "PodDisruptionBudget")
    assert not of_kind(objects, "HorizontalPodAutoscaler")
    assert all(d["spec"]["replicas"] == 1 for d in of_kind(objects, "Deployment"))


# ---- migrations --------------------------------------------------------------------------------

def test_migrations_are_a_hook_job_with_the_databases_secret():
    objects = render("minimal")
    [job] = of_kind(objects, "Job")
    annotations = job["metadata"]["annotations"]
    assert annotations["helm.sh/hook"] == "pre-install,pre-upgrade"
    assert annotations["helm.sh/hook-delete-policy"] == "before-hook-creation,hook-succeeded"
    spec = job["spec"]["template"]["spec"]
    container = spec["containers"][0]
    assert container["args"] == ["migrate"]
    assert spec["restartPolicy"] == "Never"
    assert job["spec"]["backoffLimit"] >= 1 and job["spec"]["activeDeadlineSeconds"] > 0
    history = env_of(pod_specs(objects)["job-history"]["containers"][0])
    migration = env_of(container)
    assert migration["DATABASE_URL"] == history["DATABASE_URL"]
    assert migration["DATABASE_PASSWORD"] == history["DATABASE_PASSWORD"]
    # The hook runs before the release's ServiceAccounts exist.
    assert "serviceAccountName" not in spec


def test_without_hooks_the_migration_job_is_named_after_the_version():
    jobs = of_kind(render("network-policy-off"), "Job")
    assert len(jobs) == 1 and "annotations" not in jobs[0]["metadata"]
    assert re.fullmatch(r"jo-job-orchestrator-migrate-[0-9a-f]{10}", jobs[0]["metadata"]["name"])
    other = of_kind(render("network-policy-off", "--set", "image.tag=0.2.0"), "Job")
    assert other[0]["metadata"]["name"] != jobs[0]["metadata"]["name"], "a Job's template cannot change"
    assert not of_kind(render("minimal", "--set", "migrations.enabled=false"), "Job")


# ---- RBAC --------------------------------------------------------------------------------------

def rbac_file_rules():
    documents = yaml.safe_load_all((ROOT / "deploy/kubernetes/job-deployer-rbac.yaml").read_text())
    [role] = [d for d in documents if d and d["kind"] == "Role"]
    return role["rules"]


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_only_the_deployer_gets_a_role_in_the_jobs_namespace_only(scenario):
    objects = render(scenario)
    jobs_namespace = "data-jobs" if scenario == "high-availability" else NAMESPACE
    assert not of_kind(objects, "ClusterRole") and not of_kind(objects, "ClusterRoleBinding")
    [role] = of_kind(objects, "Role")
    [binding] = of_kind(objects, "RoleBinding")
    assert role["metadata"]["namespace"] == binding["metadata"]["namespace"] == jobs_namespace
    assert role["rules"] == rbac_file_rules(), "one list of rules: deploy/kubernetes/job-deployer-rbac.yaml's"
    assert binding["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": role["metadata"]["name"]}
    deployer = deployments(objects)["job-deployer"]["spec"]["template"]["spec"]
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": deployer["serviceAccountName"], "namespace": NAMESPACE}]
    others = {spec.get("serviceAccountName") for name, spec in pod_specs(objects).items() if name != "job-deployer"}
    assert deployer["serviceAccountName"] not in others
    for rule in role["rules"]:
        assert "*" not in rule["verbs"] and "*" not in rule["resources"], rule


# ---- NetworkPolicies ---------------------------------------------------------------------------

def egress_ports(policy):
    return {(p["port"], p.get("protocol", "TCP")) for rule in policy["spec"]["egress"] for p in rule["ports"]}


@pytest.mark.parametrize("scenario", [s for s in SCENARIOS if s != "network-policy-off"])
def test_network_policies_let_each_pod_talk_only_to_its_own(scenario):
    objects = render(scenario)
    policies = {component(p): p for p in of_kind(objects, "NetworkPolicy")}
    labels = {name: d["spec"]["selector"]["matchLabels"] for name, d in deployments(objects).items()}
    [job] = of_kind(objects, "Job")
    labels["migrations"] = job["spec"]["template"]["metadata"]["labels"]
    assert set(policies) == set(labels), "every pod is selected by a policy of its own"
    dns = {(53, "UDP"), (53, "TCP")}
    expected = {
        "auth-gateway": dns | {(8081, "TCP"), (8082, "TCP"), (8086, "TCP")} | ({(636, "TCP")} if scenario == "high-availability" else set()),
        "nexus-catalog": dns | {(8080, "TCP"), (443, "TCP")} | ({(8081, "TCP")} if scenario != "high-availability" else set()),
        "job-deployer": dns | {(8080, "TCP"), (443, "TCP"), (6443, "TCP"), (9092, "TCP")},
        "job-history": dns | {(8080, "TCP"), (5432, "TCP")},
        "job-history-consumer": dns | {(8080, "TCP"), (5432, "TCP"), (9092, "TCP")},
        "migrations": dns | {(5432, "TCP")},
    }
    if scenario == "external-secrets":
        expected["auth-gateway"] |= {(389, "TCP"), (636, "TCP")}
    for name, policy in policies.items():
        spec = policy["spec"]
        assert spec["podSelector"]["matchLabels"] == labels[name]
        assert spec["policyTypes"] == ["Ingress", "Egress"]
        assert egress_ports(policy) == expected[name], name
        if name == "migrations":
            assert spec["ingress"] == []
        elif name != "auth-gateway":
            # Only the gateway reaches a service (and Prometheus, when let in).
            from_gateway = spec["ingress"][0]["from"]
            assert from_gateway == [{"podSelector": {"matchLabels": labels["auth-gateway"]}}], name
            metrics = spec["ingress"][1:]
            assert all(rule["from"][0].get("namespaceSelector") for rule in metrics), name
    if scenario == "high-availability":
        gateway_from = policies["auth-gateway"]["spec"]["ingress"][0]["from"]
        assert {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "ingress-nginx"}}} in gateway_from
        deployer_rules = policies["job-deployer"]["spec"]["egress"]
        assert {"ipBlock": {"cidr": "10.96.0.1/32"}} in [peer for rule in deployer_rules for peer in rule.get("to", [])]


def test_network_policy_off():
    assert not of_kind(render("network-policy-off"), "NetworkPolicy")


# ---- the way in ----------------------------------------------------------------------------------

def test_ingress_and_route_lead_to_the_gateway_only():
    objects = render("high-availability")
    [ingress] = of_kind(objects, "Ingress")
    [route] = of_kind(objects, "HTTPRoute")
    backends = [p["backend"]["service"] for rule in ingress["spec"]["rules"] for p in rule["http"]["paths"]]
    assert backends == [{"name": "jo-job-orchestrator-auth-gateway", "port": {"number": 8080}}]
    assert ingress["spec"]["tls"] == [{"hosts": ["jobs.example.com"], "secretName": "jobs-example-com-tls"}]
    assert [b["name"] for rule in route["spec"]["rules"] for b in rule["backendRefs"]] == ["jo-job-orchestrator-auth-gateway"]
    monitors = of_kind(objects, "ServiceMonitor")
    assert {component(m) for m in monitors} == set(SERVICES)
    assert all(m["spec"]["endpoints"][0]["path"] == "/metrics" for m in monitors)
    assert not of_kind(render("network-policy-off"), "Ingress")


def test_values_schema_is_valid_json():
    json.loads((CHART / "values.schema.json").read_text())


def test_runner_images_are_a_configmap_whose_change_rolls_the_deployer():
    objects = render("high-availability")
    [config] = of_kind(objects, "ConfigMap")
    values = yaml.safe_load((CHART / "ci/high-availability-values.yaml").read_text())
    assert json.loads(config["data"]["runners.json"]) == values["deployer"]["runners"]
    template = deployments(objects)["job-deployer"]["spec"]["template"]
    container = template["spec"]["containers"][0]
    mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
    assert env_of(container)["JOB_DEPLOYER_RUNNERS_FILE"]["value"] == f"{mounts['runners']}/runners.json"
    assert env_of(container)["JOB_DEPLOYER_RUN_AS_USER"]["value"] == "1000"
    changed = deployments(render("high-availability", "--set", "deployer.runners[0].description=other"))
    assert changed["job-deployer"]["spec"]["template"]["metadata"]["annotations"]["checksum/runners"] != \
        template["metadata"]["annotations"]["checksum/runners"]
    minimal = render("minimal")
    assert not of_kind(minimal, "ConfigMap")
    assert "JOB_DEPLOYER_RUNNERS_FILE" not in env_of(pod_specs(minimal)["job-deployer"]["containers"][0])
