import { Badge } from "@mantine/core";
import type { Deployer } from "../api/client";
import { useT, type Key } from "../i18n";

const CONTAINER_COLORS: Record<Deployer["ContainerState"], string> = {
  Scheduled: "gray",
  Initiated: "cyan",
  Running: "blue",
  Failed: "red",
  Stopped: "green",
};
const RUN_COLORS: Record<Deployer["RunState"], string> = { Pending: "gray", Running: "blue", Succeeded: "green", Failed: "red" };

export function StateBadge({ state }: { state: Deployer["DeploymentState"] }) {
  const t = useT();
  return <Badge color={state === "Active" ? "green" : "gray"} variant="light">{t(`state.${state}` as Key)}</Badge>;
}

export function ContainerBadge({ state }: { state: Deployer["ContainerState"] }) {
  const t = useT();
  return <Badge color={CONTAINER_COLORS[state]} variant="dot">{t(`container.${state}` as Key)}</Badge>;
}

export function RunBadge({ state }: { state: Deployer["RunState"] }) {
  const t = useT();
  return <Badge color={RUN_COLORS[state]} variant="light">{t(`run.${state}` as Key)}</Badge>;
}
