#!/usr/bin/env bash
# Checks of the workspace as a whole, beside its tests: the common crate stays free of I/O
# frameworks, cargo deny (licenses, sources, duplicate versions), and the RSQL parser's fuzz target
# built and run for a fixed number of inputs, so that a crash fails the run.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=deploy/local/stack.sh
source deploy/local/stack.sh

say "the common crate depends on no I/O framework"
# Its models and parser are shared by every service and by tests; a runtime, a database driver or a
# client library there would reach all of them.
forbidden='^(actix[a-z-]*|diesel-async|tokio-postgres|rdkafka|kube|kube-[a-z]+|ldap3|reqwest|hyper|tokio) '
found=$(cargo tree -p common -e normal,build --all-features --prefix none --locked | grep -E "$forbidden" | sort -u || true)
[ -z "$found" ] || die "the common crate depends on an I/O framework: $found"

say "cargo deny: licenses, sources, duplicate versions"
ensure_cargo_deny
report=$(mktemp)
if ! cargo deny --locked check --hide-inclusion-graph licenses sources bans >"$report" 2>&1; then
    cat "$report" >&2
    rm -f "$report"
    die "cargo deny refused the dependencies"
fi
say "cargo deny: $(grep -c '^warning\[duplicate\]' "$report") crates in two or more versions (deny.toml says why they are allowed)"
rm -f "$report"

say "fuzzing the RSQL parser (a fixed number of inputs)"
log=$(mktemp)
if ! crates/common/fuzz/run.sh -runs="${FUZZ_RUNS:-50000}" >"$log" 2>&1; then
    tail -n 60 "$log" >&2
    rm -f "$log"
    die "the RSQL parser's fuzz target failed (its input is in crates/common/fuzz/artifacts/)"
fi
say "fuzz: $(grep -E '^Done [0-9]+ runs' "$log")"
rm -f "$log"
