#!/usr/bin/env bash
# Fuzzes the RSQL parser with libFuzzer: for $1 seconds (default 300), or with libFuzzer's own
# options when $1 starts with `-` (`-runs=200000`: that many inputs, what the test command does).
# Installs cargo-fuzz if missing.
# cargo-fuzz needs nightly-only flags; RUSTC_BOOTSTRAP lets the stable toolchain take them.
set -euo pipefail
cd "$(dirname "$0")"
export PATH="$HOME/.cargo/bin:$PATH"
cargo fuzz --version >/dev/null 2>&1 || cargo install cargo-fuzz --locked
mkdir -p corpus/rsql
# The corpus starts from the original history service's example queries.
printf '%s' 'description=="Teste Yade com batch"' >corpus/rsql/seed-1
printf '%s' "(paramLabel=='Sleeps');(paramValue=in=('3','1'))" >corpus/rsql/seed-2
printf '%s' "endTime=gt='2019/06/12 21:00+03';endTime=lt='2019/06/12 22:00+03'" >corpus/rsql/seed-3
printf '%s' 'priority==1,jobOwner=="adm*";(a=out=(x,"y\*"))' >corpus/rsql/seed-4
case "${1:-300}" in
    -*) limits=("$@") ;;
    *) limits=(-max_total_time="${1:-300}") ;;
esac
# A fixed seed: the same inputs on every run of the test command.
RUSTC_BOOTSTRAP=1 cargo fuzz run rsql corpus/rsql -- -seed=1 "${limits[@]}"
