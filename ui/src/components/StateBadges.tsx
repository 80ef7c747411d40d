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
// A state is one short word: in a table the badge keeps all of it (Mantine's label ends in an
// ellipsis, which let a squeezed column show "AC…" for Active).
const WHOLE_WORD = { label: { overflow: "visible" } };

export function StateBadge({ state }: { state: Deployer["DeploymentState"] }) {
  const t = useT();
  return <Badge color={state === "Active" ? "green" : "gray"} variant="light" styles={WHOLE_WORD}>{t(`state.${state}` as Key)}</Badge>;
}

export function ContainerBadge({ state }: { state: Deployer["ContainerState"] }) {
  const t = useT();
  return <Badge color={CONTAINER_COLORS[state]} variant="dot" styles={WHOLE_WORD}>{t(`container.${state}` as Key)}</Badge>;
}

export function RunBadge({ state }: { state: Deployer["RunState"] }) {
  const t = useT();
  return <Badge color={RUN_COLORS[state]} variant="light" styles={WHOLE_WORD}>{t(`run.${state}` as Key)}</Badge>;
}
