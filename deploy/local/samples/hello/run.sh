#!/bin/sh
# The dev stack's sample job: greets, works for a few seconds, and exits with EXIT_CODE (0 unless
# "run now" sets it), so that a run's statuses, logs and failure reasons can be seen.
version=$(cat "$(dirname "$0")/VERSION" 2>/dev/null || echo unpublished)
echo "hello ${GREETING:-world}, from $(hostname) at $(date -u +%H:%M:%S) UTC (version $version)"
for step in 1 2 3; do
    echo "step $step of 3"
    sleep 1
done
echo "exiting with ${EXIT_CODE:-0}" >&2
exit "${EXIT_CODE:-0}"
