// What an operator does to a deployment, from the list (one or several rows) or its page: run now
// (with one-off env and args), suspend with a reason, resume, the Airflow DAG, delete (confirmed by
// typing the name). Each asks the deployer and says what happened, item by item.
import { Center, Loader, Text } from "@mantine/core";
import { modals } from "@mantine/modals";
import { notifications } from "@mantine/notifications";
import { useQueryClient } from "@tanstack/react-query";
import { lazy, Suspense, useEffect, useRef, type ReactNode } from "react";
import { ApiError, call, deployerApi } from "../../api/client";
import { useT, type Translate } from "../../i18n";

// The dialogs' forms load when one is first opened: the lists that offer them stay small.
const forms = () => import("./ActionForms");
const SuspendForm = lazy(() => forms().then((m) => ({ default: m.SuspendForm })));
const DeleteForm = lazy(() => forms().then((m) => ({ default: m.DeleteForm })));
const RunForm = lazy(() => forms().then((m) => ({ default: m.RunForm })));
const AirflowDag = lazy(() => forms().then((m) => ({ default: m.AirflowDag })));
const Outcomes = lazy(() => forms().then((m) => ({ default: m.Outcomes })));

function later(node: ReactNode) {
  return (
    <Suspense
      fallback={
        <Center p="md">
          <Loader size="sm" />
        </Center>
      }
    >
      <Focused>{node}</Focused>
    </Suspense>
  );
}

/** The dialog focused its first field on opening, before the form came: the form's field takes it. */
function Focused({ children }: { children: ReactNode }) {
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => box.current?.querySelector<HTMLElement>("[data-autofocus]")?.focus(), []);
  return <div ref={box}>{children}</div>;
}

export type Action = "suspend" | "resume" | "delete" | "run";

export async function perform(action: Action, name: string, body?: { reason?: string; env?: { name: string; value: string }[]; args?: string[] | null }) {
  const path = { params: { path: { name } } };
  switch (action) {
    case "suspend":
      return call(`POST /api/deployments/${name}/suspend`, deployerApi.POST("/api/deployments/{name}/suspend", { ...path, body: { reason: body?.reason || null } }));
    case "resume":
      return call(`POST /api/deployments/${name}/resume`, deployerApi.POST("/api/deployments/{name}/resume", path));
    case "run":
      return call(`POST /api/deployments/${name}/run`, deployerApi.POST("/api/deployments/{name}/run", { ...path, body: { env: body?.env ?? [], args: body?.args ?? null } }));
    case "delete":
      return call(`DELETE /api/deployments/${name}`, deployerApi.DELETE("/api/deployments/{name}", path));
  }
}

export interface Outcome {
  name: string;
  error: ApiError | null;
}

/** Does `action` on each name in turn, collecting each result (one failure does not stop the others). */
export async function performAll(action: Action, names: string[], body?: { reason?: string }): Promise<Outcome[]> {
  const outcomes: Outcome[] = [];
  for (const name of names) {
    try {
      await perform(action, name, body);
      outcomes.push({ name, error: null });
    } catch (error) {
      outcomes.push({ name, error: error instanceof ApiError ? error : new ApiError({ status: 0, code: "unreachable", message: String(error), request: action }) });
    }
  }
  return outcomes;
}

function showOutcomes(t: Translate, action: Action, outcomes: Outcome[]) {
  modals.open({ title: t("actions.results", { action: t(`actions.${action}`) }), children: later(<Outcomes outcomes={outcomes} />) });
}

export function useDeploymentActions() {
  const t = useT();
  const client = useQueryClient();
  const refresh = () => client.invalidateQueries({ queryKey: ["deployments"] });

  const run = async (action: Action, names: string[], body?: { reason?: string; env?: { name: string; value: string }[]; args?: string[] | null }) => {
    if (names.length === 1 && names[0]) {
      try {
        await perform(action, names[0], body);
        notifications.show({ color: "green", message: t(`actions.${action}Done`, { name: names[0] }) });
      } catch (error) {
        notifications.show({ color: "red", title: t(`actions.${action}`), message: error instanceof Error ? error.message : String(error) });
      }
    } else {
      showOutcomes(t, action, await performAll(action, names, body));
    }
    await refresh();
  };

  return {
    suspend: (names: string[]) =>
      modals.open({
        title: t("actions.suspendTitle", { count: names.length }),
        children: later(<SuspendForm names={names} onDone={(reason) => { modals.closeAll(); void run("suspend", names, { reason }); }} />),
      }),
    resume: (names: string[]) =>
      names.length === 1
        ? void run("resume", names)
        : modals.openConfirmModal({
            title: t("actions.resumeTitle", { count: names.length }),
            children: <Text size="sm">{names.join(", ")}</Text>,
            labels: { confirm: t("actions.resume"), cancel: t("common.cancel") },
            onConfirm: () => void run("resume", names),
          }),
    remove: (names: string[], after?: () => void) =>
      modals.open({
        title: t("actions.deleteTitle", { count: names.length }),
        children: later(<DeleteForm names={names} onDone={() => { modals.closeAll(); void run("delete", names).then(after); }} />),
      }),
    runNow: (name: string) =>
      modals.open({
        title: t("actions.runTitle", { name }),
        size: "lg",
        children: later(<RunForm onDone={(env, args) => { modals.closeAll(); void run("run", [name], { env, args }); }} />),
      }),
    airflow: (name: string) => modals.open({ title: t("actions.airflowTitle", { name }), size: "xl", children: later(<AirflowDag name={name} />) }),
  };
}

