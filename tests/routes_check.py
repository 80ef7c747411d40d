#!/usr/bin/env python3
"""Every route a service registers is in its OpenAPI document, and every operation of the document
is registered: the routes (`.route("/path", web::get()...)` in the service's sources and service-kit's
operations endpoints) against openapi/<service>.json, which the services' conformance tests keep
equal to the document the code builds. A route added without its `#[utoipa::path]` in the ApiDoc's
list, or a documented operation no route serves, fails here naming it.

Left out, on purpose: the gateway's proxy (`web::resource([prefix, prefix/{tail}])`: the paths
behind it are the other services' documents) and its web UI (`web::route().guard(...)` and the
static files), which are pages, not API.

Usage: python3 tests/routes_check.py [REPOSITORY_ROOT]
"""

import json
import re
import sys
from pathlib import Path

SERVICES = ["auth-gateway", "nexus-catalog", "job-deployer", "job-history", "job-history-consumer"]
METHODS = {"get", "post", "put", "delete", "patch", "head", "options", "trace"}
# `.route("/v1/things/{id}", web::get().to(handler))`, across lines.
ROUTE = re.compile(r'\.route\(\s*"([^"]+)"\s*,\s*web::(\w+)\(\)')


def registered(sources: list[Path]) -> set[tuple[str, str]]:
    routes = set()
    for source in sources:
        for path, method in ROUTE.findall(source.read_text()):
            if method in METHODS:
                routes.add((path, method))
    return routes


def documented(document: Path) -> set[tuple[str, str]]:
    paths = json.loads(document.read_text())["paths"]
    return {(path, method) for path, item in paths.items() for method in item if method in METHODS}


def main() -> int:
    root = Path(sys.argv[1] if len(sys.argv) > 1 else Path(__file__).resolve().parent.parent)
    # Every service serves service-kit's operations endpoints (/healthz, /readyz, /metrics).
    common = registered(sorted((root / "crates/service-kit/src").rglob("*.rs")))
    problems = []
    for service in SERVICES:
        routes = common | registered(sorted((root / "services" / service / "src").rglob("*.rs")))
        document = documented(root / "openapi" / f"{service}.json")
        for path, method in sorted(routes - document):
            problems.append(f"{service}: {method.upper()} {path} is routed but not in openapi/{service}.json")
        for path, method in sorted(document - routes):
            problems.append(f"{service}: {method.upper()} {path} is documented but no route serves it")
    for problem in problems:
        print(problem, file=sys.stderr)
    if problems:
        print(f"routes check: {len(problems)} problem(s)", file=sys.stderr)
        return 1
    print(f"routes check: the routes of {len(SERVICES)} services equal their OpenAPI documents")
    return 0


if __name__ == "__main__":
    sys.exit(main())
