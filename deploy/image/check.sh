#!/usr/bin/env bash
# Checks the services' images without building them (no container engine runs here), and the
# pipeline that builds them: hadolint on the Dockerfile; each service binary against the base
# image: every shared library its ELF NEEDED list names must be one that
# gcr.io/distroless/cc-debian12 provides (base-libraries.txt), and no symbol version it needs
# (GLIBC_, GLIBCXX_, OPENSSL_) may be newer than that image's; .gitlab-ci.yml against GitLab CI's
# JSON schema (the one check-jsonschema vendors) and yamllint.
#
#   deploy/image/check.sh [BIN_DIR]
#
# BIN_DIR defaults to target/debug, which tests/run.sh has built. The images carry release builds:
# the NEEDED list and the symbol versions do not depend on the profile (the same crates link the same
# C libraries, with the same features, in debug and release; the optimisation level changes no link).
set -euo pipefail
cd "$(dirname "$0")/../.."
# shellcheck source=deploy/local/stack.sh
source deploy/local/stack.sh

SERVICES=(auth-gateway nexus-catalog job-deployer job-history job-history-consumer)
BIN_DIR=${1:-target/debug}
BASE=deploy/image/base-libraries.txt

ensure_packaging_tools
command -v readelf >/dev/null || apt_install binutils

# Seconds since $1 (an ${EPOCHREALTIME/./}), to the hundredth.
since() {
    local took=$((${EPOCHREALTIME/./} - $1))
    printf '%d.%02d s' $((took / 1000000)) $((took % 1000000 / 10000))
}

started=${EPOCHREALTIME/./}
"$PACKAGING_TOOLS/hadolint" deploy/image/Dockerfile
say "hadolint: deploy/image/Dockerfile clean ($(since "$started"))"

started=${EPOCHREALTIME/./}
"$PACKAGING_TOOLS/check-jsonschema" --builtin-schema vendor.gitlab-ci --data-transform gitlab-ci .gitlab-ci.yml >/dev/null ||
    die ".gitlab-ci.yml does not follow GitLab CI's schema"
"$PACKAGING_TOOLS/yamllint" --strict -d '{extends: default, rules: {line-length: {max: 120}, document-start: disable, truthy: {check-keys: false}}}' .gitlab-ci.yml
say "check-jsonschema (GitLab CI's schema) and yamllint: .gitlab-ci.yml valid ($(since "$started"))"

started=${EPOCHREALTIME/./}
allowed=$(grep -v '^#' "$BASE")
# The newest symbol version of each family the base defines, from the list's comment.
newest=$(sed -n 's/^#   \(GLIBC_.*\)$/\1/p' "$BASE")
[ -n "$newest" ] || die "$BASE: the line of the newest symbol versions is missing"
failed=0
for service in "${SERVICES[@]}"; do
    binary="$BIN_DIR/$service"
    [ -x "$binary" ] || die "no $binary: build the services first (cargo build --workspace --bins)"
    needed=$(readelf -d "$binary" | sed -n 's/.*(NEEDED).*\[\(.*\)\]$/\1/p')
    interpreter=$(readelf -l "$binary" | sed -n 's/.*Requesting program interpreter: \(.*\)\]$/\1/p')
    for library in $needed $(basename "${interpreter:-ld-linux-x86-64.so.2}"); do
        if ! grep -qxF "$library" <<<"$allowed"; then
            printf 'error: %s needs %s, which gcr.io/distroless/cc-debian12 does not have\n' "$service" "$library" >&2
            failed=1
        fi
    done
    versions=$(readelf -V "$binary" | sed -n 's/.*Name: \(\(GLIBC\|GLIBCXX\|OPENSSL\)_[0-9.]*\).*/\1/p' | sort -u)
    for limit in $newest; do
        family=${limit%_*}
        wanted=$(grep "^${family}_[0-9]" <<<"$versions" | sort -V | tail -n 1 || true)
        if [ -n "$wanted" ] && [ "$(printf '%s\n%s\n' "$wanted" "$limit" | sort -V | tail -n 1)" != "$limit" ]; then
            printf 'error: %s needs %s, newer than the base image'"'"'s %s\n' "$service" "$wanted" "$limit" >&2
            failed=1
        fi
    done
    say "$service needs $(echo $needed | tr ' ' ','); newest versions: $(echo "$versions" | sort -V | awk -F_ '{v[$1]=$0} END {for (f in v) printf "%s ", v[f]}')"
done
[ $failed -eq 0 ] || die "a service would not start on the base image: link what it lacks statically, or change the base"
say "the binaries need nothing the base image lacks ($(since "$started"))"
