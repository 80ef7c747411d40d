#!/usr/bin/env bash
# Runs a single-node Apache Kafka (KRaft: one process is broker and controller) in the foreground:
# `broker.sh DIR PORT` listens on 127.0.0.1:PORT, keeps its data and configuration under DIR, and
# stops cleanly on SIGTERM (the java process replaces this script). The jars come from ensure_kafka
# (deploy/local/stack.sh). A topic that a client asks for and does not exist is created (one
# partition); the services create theirs with their own settings first.
# A DIR that already holds a broker's data is reused as it is.
set -euo pipefail
[ $# -eq 2 ] || { echo "usage: $0 DIR PORT" >&2; exit 2; }
# shellcheck source=deploy/local/stack.sh
source "$(dirname "${BASH_SOURCE[0]}")/../stack.sh"
dir=$(realpath -m "$1") port=$2
[ -d "$KAFKA_LIBS" ] || die "no Kafka jars in $KAFKA_LIBS: run ensure_kafka (deploy/local/stack.sh) first"
mkdir -p "$dir"
controller_port=$(free_port)
# The controller's quorum is the static list of voters, read again at every start: a restart may
# then take another controller port and keep the data.
cat >"$dir/server.properties" <<PROPERTIES
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$controller_port
listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$controller_port
advertised.listeners=PLAINTEXT://127.0.0.1:$port
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=$dir/data
auto.create.topics.enable=true
num.partitions=1
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
PROPERTIES
# The JIT's first tier only: on two busy cores the broker is ready in ~7 s instead of 9 to 21 s, and
# for runs as short as the stacks' it is even faster (200,000 records of 500 bytes produced at
# 18,000/s against 11,000/s with both tiers).
java_options=(-XX:TieredStopAtLevel=1 -Xms128m -Xmx512m -Djava.awt.headless=true
    "-Dlog4j2.configurationFile=$(realpath "$(dirname "${BASH_SOURCE[0]}")/log4j2.properties")" -cp "$KAFKA_LIBS/*")
if [ ! -e "$dir/data/meta.properties" ]; then
    # 16 random bytes in URL-safe base64, as Kafka's own ids; never starting with '-', which the
    # command line would take for an option (one start in 64 failed so).
    cluster_id=$(python3 -c 'import base64, os
while (id := base64.urlsafe_b64encode(os.urandom(16)).decode().rstrip("=")).startswith("-"): pass
print(id)')
    java "${java_options[@]}" kafka.tools.StorageTool format --cluster-id "$cluster_id" --config "$dir/server.properties"
fi
exec java "${java_options[@]}" kafka.Kafka "$dir/server.properties"
