// The catalog (the original tool's repository listing): pick a repository, search it, open a job's
// versions. Repository, search, filters and page are in the URL.
import { Anchor, Badge, Button, Group, Select, Stack, Title } from "@mantine/core";
import { useQuery } from "@tanstack/react-query";
import { DataTable } from "mantine-datatable";
import { Link } from "react-router";
import { call, catalogApi, ApiError } from "../api/client";
import { ErrorView } from "../components/ErrorView";
import { FilterInput } from "../components/FilterInput";
import { useT } from "../i18n";
import { Time } from "../time";
import { useUrlState } from "../url";

const PAGE_SIZE = 50;

/** The group as a path segment: the empty group is `-` (docs/services/nexus-catalog.md). */
export function groupSegment(group: string): string {
  return group === "" ? "-" : group;
}

export default function CatalogPage() {
  const t = useT();
  const url = useUrlState();
  const repositories = useQuery({
    queryKey: ["repositories"],
    queryFn: () => call("GET /api/catalog/repositories", catalogApi.GET("/api/catalog/repositories")),
    staleTime: 60_000,
  });
  const repository = url.get("repo") || repositories.data?.[0]?.name || "";
  const q = url.get("q");
  const group = url.get("group");
  const name = url.get("name");
  const cursor = url.get("cursor");
  const artifacts = useQuery({
    queryKey: ["artifacts", repository, q, group, name, cursor],
    enabled: !!repository,
    queryFn: () =>
      call(
        "GET /api/catalog/repositories/{repository}/artifacts",
        catalogApi.GET("/api/catalog/repositories/{repository}/artifacts", {
          params: {
            path: { repository },
            query: { q: q || undefined, group: group || undefined, name: name || undefined, cursor: cursor || undefined, limit: PAGE_SIZE },
          },
        }),
      ),
    placeholderData: (previous) => previous,
  });
  const filterError = artifacts.error instanceof ApiError && artifacts.error.status === 400 ? artifacts.error : null;

  return (
    <Stack>
      <Title order={2}>{t("catalog.title")}</Title>
      {repositories.error && <ErrorView error={repositories.error} onRetry={() => repositories.refetch()} />}
      <Group align="flex-end" wrap="wrap">
        <Select
          label={t("catalog.repository")}
          data={(repositories.data ?? []).map((r) => ({ value: r.name, label: `${r.name} (${r.format}, ${r.type})` }))}
          value={repository || null}
          onChange={(value) => url.set({ repo: value, cursor: null })}
          allowDeselect={false}
          w={260}
        />
        <FilterInput label={t("catalog.search")} value={q} onChange={(value) => url.set({ q: value, cursor: null }, { replace: true })} error={filterError?.field === "q" ? filterError.message : undefined} />
        <FilterInput label={t("catalog.group")} value={group} placeholder="org.example*" onChange={(value) => url.set({ group: value, cursor: null }, { replace: true })} error={filterError?.field === "group" ? filterError.message : undefined} />
        <FilterInput label={t("catalog.name")} value={name} placeholder="hel?o" onChange={(value) => url.set({ name: value, cursor: null }, { replace: true })} error={filterError?.field === "name" ? filterError.message : undefined} />
      </Group>
      {artifacts.error && !filterError?.field && <ErrorView error={artifacts.error} onRetry={() => artifacts.refetch()} />}
      <div className="jo-scroll-x">
        <DataTable
          withTableBorder
          striped
          highlightOnHover
          minHeight={160}
          fetching={artifacts.isFetching}
          records={artifacts.data?.artifacts ?? []}
          idAccessor={(a) => `${a.group}:${a.name}`}
          noRecordsText={t("catalog.none")}
          columns={[
            {
              accessor: "name",
              title: t("catalog.artifact"),
              render: (a) => (
                <Anchor component={Link} to={`/catalog/${encodeURIComponent(repository)}/${encodeURIComponent(groupSegment(a.group))}/${encodeURIComponent(a.name)}`}>
                  {a.name}
                </Anchor>
              ),
            },
            { accessor: "group", title: t("catalog.group") },
            {
              accessor: "latestVersion",
              title: t("catalog.latest"),
              render: (a) => (
                <Anchor component={Link} to={`/catalog/${encodeURIComponent(repository)}/${encodeURIComponent(groupSegment(a.group))}/${encodeURIComponent(a.name)}?version=${encodeURIComponent(a.latestVersion)}`}>
                  <Badge variant="light">{a.latestVersion}</Badge>
                </Anchor>
              ),
            },
            { accessor: "versionCount", title: t("catalog.versions"), textAlign: "right" },
            { accessor: "lastModified", title: t("catalog.lastChange"), render: (a) => <Time value={a.lastModified} /> },
          ]}
        />
      </div>
      <Group justify="space-between">
        <span>{artifacts.data ? t("catalog.total", { total: artifacts.data.total }) : ""}</span>
        <Group>
          <Button variant="default" disabled={!cursor} onClick={() => url.set({ cursor: null })}>
            {t("common.firstPage")}
          </Button>
          <Button variant="default" disabled={!artifacts.data?.nextCursor} onClick={() => url.set({ cursor: artifacts.data?.nextCursor })}>
            {t("common.nextPage")}
          </Button>
        </Group>
      </Group>
    </Stack>
  );
}
