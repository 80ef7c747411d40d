# The init container of every run: downloads the resource from Nexus, checks its checksum and
# unpacks it next to itself. Every value comes from the environment (never from this text):
# RESOURCE_URL, RESOURCE_FILE, RESOURCE_DIR, RESOURCE_CHECKSUM_COMMAND (sha256sum...),
# RESOURCE_CHECKSUM (lower-case hex), and optionally NEXUS_USERNAME/NEXUS_PASSWORD.
# A failure ends the run with a message saying so in the pod's status (the termination log):
# exit 1 for a download that a retry may fix, 3 for a resource that is wrong (no retry helps).
set -u
TERMINATION_LOG=${TERMINATION_LOG:-/dev/termination-log}
fail() {
    code=$1
    shift
    printf 'fetch failed: %s\n' "$*" >&2
    printf 'fetch failed: %s' "$*" >"$TERMINATION_LOG" 2>/dev/null || true
    exit "$code"
}
target="$RESOURCE_DIR/$RESOURCE_FILE"
# The URL as the output shows it (the run's log goes to the job history): without credentials or a
# query, which may hold a token. The deployer refuses such URLs; this holds whatever reaches here.
shown_url=$(printf '%s' "$RESOURCE_URL" | sed -e 's#^\([A-Za-z][A-Za-z0-9+.-]*://\)[^/@]*@#\1#' -e 's|[?#].*$||')
mkdir -p "$RESOURCE_DIR" || fail 1 "cannot create $RESOURCE_DIR"
if [ -n "${NEXUS_USERNAME:-}" ]; then
    # The credentials go to curl on its standard input, so they appear in no process listing.
    escape() { printf '%s' "$1" | sed 's/\\/\\\\/g; s/"/\\"/g'; }
    printf 'user = "%s:%s"\n' "$(escape "$NEXUS_USERNAME")" "$(escape "${NEXUS_PASSWORD:-}")" |
        curl --config - --fail --silent --show-error --location --retry 3 --output "$target" "$RESOURCE_URL"
else
    curl --fail --silent --show-error --location --retry 3 --output "$target" "$RESOURCE_URL"
fi
status=$?
[ "$status" -eq 0 ] || fail 1 "could not download $shown_url (curl exit code $status)"
actual=$("$RESOURCE_CHECKSUM_COMMAND" "$target" | cut -d ' ' -f 1) || fail 3 "could not compute the checksum"
[ "$actual" = "$RESOURCE_CHECKSUM" ] ||
    fail 3 "checksum mismatch for $RESOURCE_FILE: expected $RESOURCE_CHECKSUM, got $actual ($RESOURCE_CHECKSUM_COMMAND)"
case "$RESOURCE_FILE" in
*.zip) unzip -q -o "$target" -d "$RESOURCE_DIR" || fail 3 "could not unzip $RESOURCE_FILE" ;;
*.tar.gz | *.tgz) tar -xzf "$target" -C "$RESOURCE_DIR" || fail 3 "could not unpack $RESOURCE_FILE" ;;
*.tar) tar -xf "$target" -C "$RESOURCE_DIR" || fail 3 "could not unpack $RESOURCE_FILE" ;;
esac
echo "fetched $RESOURCE_FILE ($RESOURCE_CHECKSUM_COMMAND $actual) into $RESOURCE_DIR"
