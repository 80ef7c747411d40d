// The history of every run: an RSQL query (text or builder), quick time ranges, the columns chosen,
// sort on any column, pages; saved searches and the original document's examples. All of it is
// in the URL, so a link gives the same search.
import { ActionIcon, Anchor, Badge, Button, Group, Menu, MultiSelect, SegmentedControl, Stack, Text, TextInput, Title } from "@mantine/core";
import { modals } from "@mantine/modals";
import { IconBookmark, IconTrash } from "@tabler/icons-react";
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { DataTable, type DataTableColumn } from "mantine-datatable";
import { useMemo, useState } from "react";
import { Link, useNavigate } from "react-router";
import { ApiError, call, historyApi, type History } from "../api/client";
import { useCanOperate } from "../auth";
import { ErrorView } from "../components/ErrorView";
import { RsqlEditor } from "../features/rsql/RsqlEditor";
import { SAMPLES } from "../features/rsql/rsql";
import { useI18n } from "../i18n";
import { formatDuration, Time } from "../time";
import { useUrlState } from "../url";

type Job = History["Job"];

export const COLUMNS = ["jobId", "groupId", "status", "exitStatus", "jobOwner", "submissionTime", "endTime", "wallclockTime", "exitCode", "algorithm", "parameters", "executionMachine", "numberOfAttempts", "jobType", "description", "priority"] as const;
const DEFAULT_COLUMNS = ["jobId", "groupId", "status", "exitStatus", "jobOwner", "submissionTime", "endTime", "wallclockTime", "algorithm"];
const RANGES: Record<string, number> = { "1h": 3600, "1d": 86400, "1w": 7 * 86400 };
const SAVED = "jo.savedSearches";
// A page of results at a time (the API pages): 100 rows show in well under a second (ui/scripts/bench.mjs).
const PAGE_SIZES = [20, 50, 100];

/** The query sent: the text, and the quick range as a condition on the submission time. */
export function effectiveQuery(q: string, range: string, now = Date.now()): string {
  const seconds = RANGES[range];
  if (!seconds) return q;
  const since = new Date(now - seconds * 1000).toISOString();
  const condition = `submissionTime=ge='${since}'`;
  return q ? `(${q});${condition}` : condition;
}

interface Saved {
  name: string;
  search: string;
}

function savedSearches(): Saved[] {
  try {
    return JSON.parse(localStorage.getItem(SAVED) ?? "[]") as Saved[];
  } catch {
    return [];
  }
}

export default function HistoryPage() {
  const { t, apiLocale } = useI18n();
  const url = useUrlState();
  const navigate = useNavigate();
  const client = useQueryClient();
  const canOperate = useCanOperate();
  const q = url.get("q");
  const range = url.get("range");
  const attr = url.get("attr", "submissionTime");
  const asc = url.get("asc") === "1";
  const page = url.getNumber("page", 1);
  const size = PAGE_SIZES.includes(url.getNumber("size", 50)) ? url.getNumber("size", 50) : 50;
  const columns = url.get("cols") ? url.get("cols").split(",") : DEFAULT_COLUMNS;
  const [saved, setSaved] = useState<Saved[]>(savedSearches);
  const [saveName, setSaveName] = useState("");

  const selectors = useQuery({ queryKey: ["selectors"], queryFn: () => call("GET /api/history/selectors", historyApi.GET("/api/history/selectors")), staleTime: 600_000 });
  const sortable = useMemo(() => new Set((selectors.data ?? []).filter((s) => s.sortable).map((s) => s.name)), [selectors.data]);
  const sent = effectiveQuery(q, range);
  const search = useQuery({
    queryKey: ["history", sent, attr, asc, page, size, apiLocale],
    queryFn: () =>
      call(
        "GET /api/history",
        historyApi.GET("/api/history", { params: { query: { q: sent || undefined, attr, asc, offset: (page - 1) * size, limit: size, showParam: true, locale: apiLocale } } }),
      ),
    placeholderData: (previous) => previous,
  });
  const queryError = search.error instanceof ApiError && search.error.status === 400 && search.error.field === "q" && !range ? search.error : null;

  const remove = (job: Job) =>
    modals.openConfirmModal({
      title: t("history.deleteTitle", { id: job.jobId }),
      children: <Text size="sm">{t("history.deleteText")}</Text>,
      labels: { confirm: t("actions.delete"), cancel: t("common.cancel") },
      confirmProps: { color: "red" },
      onConfirm: async () => {
        await call("DELETE /api/history/{jobId}", historyApi.DELETE("/api/history/{jobId}", { params: { path: { jobId: job.jobId } } }));
        await client.invalidateQueries({ queryKey: ["history"] });
      },
    });

  const allColumns: Record<string, DataTableColumn<Job>> = useMemo(
    () => ({
      jobId: { accessor: "jobId", title: "jobId", render: (j) => <Anchor component={Link} to={`/history/${encodeURIComponent(j.jobId)}`}>{j.jobId}</Anchor> },
      groupId: { accessor: "groupId", title: "groupId", render: (j) => (j.groupId ? <Anchor component={Link} to={`/deployments/${encodeURIComponent(j.groupId)}`}>{j.groupId}</Anchor> : "—") },
      status: { accessor: "status", title: t("history.status"), render: (j) => j.statusHistory.at(-1)?.status ?? "—" },
      exitStatus: { accessor: "exitStatus", title: "exitStatus", render: (j) => (j.exitStatus ? <Badge color={j.exitStatus === "SUCCESS" ? "green" : "red"} variant="light">{j.exitStatus}</Badge> : "—") },
      jobOwner: { accessor: "jobOwner", title: "jobOwner" },
      submissionTime: { accessor: "submissionTime", title: "submissionTime", render: (j) => <Time value={j.submissionTime} /> },
      endTime: { accessor: "endTime", title: "endTime", render: (j) => <Time value={j.endTime} /> },
      wallclockTime: { accessor: "wallclockTime", title: "wallclockTime", render: (j) => (j.wallclockTime !== null && j.wallclockTime !== undefined ? formatDuration(j.wallclockTime) : "—") },
      exitCode: { accessor: "exitCode", title: "exitCode" },
      algorithm: { accessor: "algorithm", title: t("history.algorithm"), render: (j) => j.algorithms.map((a) => `${a.algorithmName ?? a.algorithmId} ${a.algorithmVersion ?? ""}`).join(", ") },
      parameters: {
        accessor: "parameters",
        title: t("history.parameters"),
        render: (j) => j.algorithms.flatMap((a) => (a.parameters ?? []).map((p) => `${p.label ?? p.parameterId}=${p.value.join("|")}`)).join(" · "),
      },
      executionMachine: { accessor: "executionMachine", title: "executionMachine" },
      numberOfAttempts: { accessor: "numberOfAttempts", title: "numberOfAttempts" },
      jobType: { accessor: "jobType", title: "jobType" },
      description: { accessor: "description", title: "description" },
      priority: { accessor: "priority", title: "priority" },
    }),
    [t],
  );
  const shownColumns: DataTableColumn<Job>[] = [
    ...columns.filter((c) => allColumns[c]).map((c) => ({ ...allColumns[c]!, sortable: sortable.has(c) })),
    ...(canOperate
      ? [
          {
            accessor: "delete",
            title: <span className="sr-only">{t("history.delete")}</span>,
            render: (j: Job) =>
              j.isDeleted ? (
                <Badge color="gray">{t("history.deleted")}</Badge>
              ) : (
                <ActionIcon variant="subtle" color="red" aria-label={t("history.deleteOne", { id: j.jobId })} onClick={() => remove(j)}>
                  <IconTrash size={16} />
                </ActionIcon>
              ),
          } as DataTableColumn<Job>,
        ]
      : []),
  ];

  const save = () => {
    if (!saveName.trim()) return;
    const next = [...saved.filter((s) => s.name !== saveName.trim()), { name: saveName.trim(), search: url.params.toString() }];
    localStorage.setItem(SAVED, JSON.stringify(next));
    setSaved(next);
    setSaveName("");
  };
  const forget = (name: string) => {
    const next = saved.filter((s) => s.name !== name);
    localStorage.setItem(SAVED, JSON.stringify(next));
    setSaved(next);
  };

  return (
    <Stack>
      <Title order={2}>{t("history.title")}</Title>
      <RsqlEditor value={q} onChange={(text) => url.set({ q: text, page: null })} selectors={selectors.data ?? []} serverError={queryError ? { message: queryError.message, position: queryError.position } : null} />
      <Group wrap="wrap" align="flex-end">
        <SegmentedControl
          aria-label={t("history.range")}
          value={range || "all"}
          onChange={(value) => url.set({ range: value === "all" ? null : value, page: null })}
          data={[
            { value: "all", label: t("history.rangeAll") },
            { value: "1h", label: t("history.range1h") },
            { value: "1d", label: t("history.range1d") },
            { value: "1w", label: t("history.range1w") },
          ]}
        />
        <Menu>
          <Menu.Target>
            <Button variant="default">{t("history.samples")}</Button>
          </Menu.Target>
          <Menu.Dropdown>
            {SAMPLES.map((sample) => (
              <Menu.Item key={sample} ff="monospace" onClick={() => url.set({ q: sample, page: null })}>
                {sample}
              </Menu.Item>
            ))}
          </Menu.Dropdown>
        </Menu>
        <Menu>
          <Menu.Target>
            <Button variant="default" leftSection={<IconBookmark size={14} />}>
              {t("history.saved")}
            </Button>
          </Menu.Target>
          <Menu.Dropdown>
            {saved.length === 0 && <Menu.Label>{t("history.noSaved")}</Menu.Label>}
            {saved.map((s) => (
              <Menu.Item key={s.name} onClick={() => navigate(`/history?${s.search}`)} rightSection={<IconTrash size={12} aria-label={t("history.forget", { name: s.name })} onClick={(e) => { e.stopPropagation(); forget(s.name); }} />}>
                {s.name}
              </Menu.Item>
            ))}
          </Menu.Dropdown>
        </Menu>
        <Group gap={4}>
          <TextInput aria-label={t("history.saveName")} placeholder={t("history.saveName")} value={saveName} onChange={(e) => setSaveName(e.currentTarget.value)} w={180} />
          <Button variant="light" onClick={save} disabled={!saveName.trim()}>
            {t("history.save")}
          </Button>
        </Group>
        <MultiSelect
          label={t("history.columns")}
          data={COLUMNS.map((c) => ({ value: c, label: allColumns[c]?.title ? String(typeof allColumns[c]!.title === "string" ? allColumns[c]!.title : c) : c }))}
          value={columns}
          onChange={(value) => url.set({ cols: value.join(",") === DEFAULT_COLUMNS.join(",") ? null : value.join(",") }, { replace: true })}
          w={320}
          maw="100%"
        />
      </Group>
      {selectors.error && <ErrorView error={selectors.error} onRetry={() => selectors.refetch()} compact />}
      {search.error && !queryError && <ErrorView error={search.error} onRetry={() => search.refetch()} />}
      <div className="jo-scroll-x">
        <DataTable<Job>
          withTableBorder
          striped
          highlightOnHover
          minHeight={180}
          records={search.data?.jobs ?? []}
          idAccessor="jobId"
          fetching={search.isFetching}
          noRecordsText={t("history.none")}
          totalRecords={search.data?.total ?? 0}
          recordsPerPage={size}
          page={page}
          onPageChange={(p) => url.set({ page: p === 1 ? null : p })}
          recordsPerPageOptions={PAGE_SIZES}
          onRecordsPerPageChange={(s) => url.set({ size: s === 50 ? null : s, page: null })}
          recordsPerPageLabel={t("common.perPage")}
          paginationText={({ from, to, totalRecords }) => t("common.range", { from, to, total: totalRecords })}
          sortStatus={{ columnAccessor: attr, direction: asc ? "asc" : "desc" }}
          onSortStatusChange={(s) => url.set({ attr: s.columnAccessor === "submissionTime" ? null : String(s.columnAccessor), asc: s.direction === "asc" ? 1 : null, page: null })}
          rowClassName={(j) => (j.isDeleted ? "jo-deleted" : undefined)}
          columns={shownColumns}
        />
      </div>
      <Text size="xs" c="dimmed">{t("history.total", { total: search.data?.total ?? 0 })}</Text>
    </Stack>
  );
}

