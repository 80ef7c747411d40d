"""The environment variables each service's code reads, found in its sources (python3's standard
library only). Used by tests/docs_check.py (each service page's settings table) and by
deploy/helm/tests/test_chart.py (the chart sets each of them or says why not)."""

import re

# Settings every service may share: the Kafka and database settings of both sides of the topics.
SHARED_SETTINGS = re.compile(r"^(KAFKA_BROKERS|JOB_(EVENTS|LOGS)_[A-Z_]+|DATABASE_URL)$")


def sources_of(root, service):
    """The service's sources and those of crates/kafka-kit when it depends on it (the brokers' and
    topics' settings are read there for the producer and the consumer alike)."""
    sources = list((root / "services" / service / "src").rglob("*.rs"))
    if "kafka-kit" in (root / "services" / service / "Cargo.toml").read_text():
        sources += (root / "crates" / "kafka-kit" / "src").rglob("*.rs")
    return sources


def settings_read_by(root, service):
    """The variables the service reads: its own prefix's, the shared ones, HOME where it reads it,
    and service-kit's (LOG_FORMAT, AUTH_JWKS_*, <PREFIX>_LISTEN and _SHUTDOWN_TIMEOUT_SECS)."""
    prefix = service.upper().replace("-", "_") + "_"
    names = {prefix + "LISTEN", prefix + "SHUTDOWN_TIMEOUT_SECS", "LOG_FORMAT", "AUTH_JWKS_URL", "AUTH_JWKS_FILE"}
    for source in sources_of(root, service):
        text = source.read_text()
        if '"HOME"' in text:
            names.add("HOME")
        for name in re.findall(r'"([A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+)"', text):
            # job-history's prefix is also the start of the consumer's.
            own = name.startswith(prefix) and not (service == "job-history" and name.startswith("JOB_HISTORY_CONSUMER"))
            if own or SHARED_SETTINGS.match(name):
                names.add(name)
        if service == "auth-gateway":
            # LDAP settings are named by a helper: p("URL") is AUTH_GATEWAY_LDAP_URL.
            names.update("AUTH_GATEWAY_LDAP_" + n for n in re.findall(r'\bp\("([A-Z_]+)"\)', text))
            if re.search(r'p\(&format!\("\{\}_GROUPS"', text):
                names.update(f"AUTH_GATEWAY_LDAP_{role}_GROUPS" for role in ["VIEWER", "OPERATOR", "ADMIN"])
    return names
