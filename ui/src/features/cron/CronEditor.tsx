// The schedule of a CronJob: the cron text with presets, its meaning in words, its IANA time zone,
// and its next 5 runs in that zone and in the viewer's, as the deployer computes them (it decides;
// the browser's own computation is shown only while the deployer cannot answer, and a difference
// between the two is pointed out).
import { Alert, Group, Select, Stack, Table, Text, TextInput } from "@mantine/core";
import { useDebouncedValue } from "@mantine/hooks";
import { useQuery } from "@tanstack/react-query";
import { Cron } from "croner";
import { useMemo } from "react";
import { ApiError, call, deployerApi } from "../../api/client";
import { useI18n, type Key } from "../../i18n";
import { allTimeZones, formatTime, useTimeZone } from "../../time";
import { ALIASES, cronInWords } from "./words";

export const PRESETS: { cron: string; label: Key }[] = [
  { cron: "*/20 * * * * *", label: "cron.preset.every20s" },
  { cron: "* * * * *", label: "cron.preset.everyMinute" },
  { cron: "*/15 * * * *", label: "cron.preset.every15m" },
  { cron: "0 * * * *", label: "cron.preset.hourly" },
  { cron: "0 2 * * *", label: "cron.preset.daily" },
  { cron: "30 6 * * 1-5", label: "cron.preset.weekdays" },
  { cron: "0 3 * * 1", label: "cron.preset.weekly" },
  { cron: "0 4 1 * *", label: "cron.preset.monthly" },
];

/** The browser's reading of a schedule: the next runs, or why it cannot read it. */
export function localRuns(cron: string, zone: string, count: number): { times: Date[]; error?: string } {
  const pattern = ALIASES[cron.trim()] ?? cron.trim();
  try {
    const job = new Cron(pattern, { timezone: zone || undefined });
    return { times: job.nextRuns(count) };
  } catch (error) {
    return { times: [], error: error instanceof Error ? error.message.replace(/^CronPattern: /, "") : String(error) };
  }
}

export interface ScheduleValue {
  cron: string;
  timeZone: string;
}

export function CronEditor({
  value,
  onChange,
  cronError,
  zoneError,
}: {
  value: ScheduleValue;
  onChange: (value: ScheduleValue) => void;
  cronError?: string;
  zoneError?: string;
}) {
  const { t, language } = useI18n();
  const viewer = useTimeZone().zone;
  const [debounced] = useDebouncedValue(value, 300);
  const local = useMemo(() => localRuns(value.cron, value.timeZone, 5), [value.cron, value.timeZone]);
  const server = useQuery({
    queryKey: ["schedule-preview", debounced.cron, debounced.timeZone],
    enabled: debounced.cron.trim().length > 0,
    queryFn: async ({ signal }) => {
      const query = { cron: debounced.cron.trim(), timeZone: debounced.timeZone || undefined, count: 5 };
      const answer = await call("GET /api/schedules/preview", deployerApi.GET("/api/schedules/preview", { params: { query }, signal }));
      return answer.times;
    },
    retry: false,
    staleTime: 10_000,
  });
  // A 400 is the deployer refusing the schedule; any other failure means it cannot answer now.
  const serverError = server.error instanceof ApiError && server.error.status === 400 ? server.error : null;
  const serverTimes = server.data ?? null;
  const words = cronInWords(value.cron, language);
  const shownError = cronError ?? (serverError && serverError.field !== "timeZone" ? serverError.message : undefined) ?? (serverTimes === null && local.error ? local.error : undefined);
  const shownZoneError = zoneError ?? (serverError?.field === "timeZone" ? serverError.message : undefined);
  const times = serverTimes ?? (shownError ? [] : local.times.map((d) => d.toISOString()));
  const disagree =
    serverTimes !== null && !local.error && serverTimes.some((time, i) => local.times[i] && Math.abs(new Date(time).getTime() - local.times[i]!.getTime()) > 999);

  return (
    <Stack gap="xs">
      <Group align="flex-start" wrap="wrap">
        <Select
          label={t("cron.preset")}
          placeholder={t("cron.presetPlaceholder")}
          data={PRESETS.map((p) => ({ value: p.cron, label: `${t(p.label)} (${p.cron})` }))}
          value={PRESETS.some((p) => p.cron === value.cron) ? value.cron : null}
          onChange={(cron) => cron && onChange({ ...value, cron })}
          w={280}
        />
        <TextInput
          label={t("cron.expression")}
          description={t("cron.expressionHelp")}
          value={value.cron}
          onChange={(e) => onChange({ ...value, cron: e.currentTarget.value })}
          error={shownError}
          ff="monospace"
          w={260}
          data-field="schedule.cron"
        />
        <Select
          label={t("cron.zone")}
          data={allTimeZones()}
          value={value.timeZone || null}
          onChange={(zone) => onChange({ ...value, timeZone: zone ?? "" })}
          searchable
          // Picking the zone already chosen keeps it (Mantine's default would clear it: UTC).
          allowDeselect={false}
          error={shownZoneError}
          w={240}
          data-field="schedule.timeZone"
        />
      </Group>
      {words && !shownError && (
        <Text size="sm" data-testid="cron-words">
          {words} ({value.timeZone || "UTC"})
        </Text>
      )}
      {serverTimes === null && !server.isPending && !shownError && (
        <Text size="xs" c="dimmed">
          {t("cron.browserOnly")}
        </Text>
      )}
      {disagree && (
        <Alert color="yellow" role="status" data-testid="cron-disagree">
          {t("cron.disagree")}
        </Alert>
      )}
      {times.length > 0 && (
        <Table withTableBorder striped w="auto" aria-label={t("cron.nextRuns")} data-testid="cron-next-runs">
          <Table.Thead>
            <Table.Tr>
              <Table.Th>#</Table.Th>
              <Table.Th>{t("cron.inZone", { zone: value.timeZone || "UTC" })}</Table.Th>
              <Table.Th>{t("cron.inViewerZone", { zone: viewer })}</Table.Th>
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {times.map((time, index) => (
              <Table.Tr key={time}>
                <Table.Td>{index + 1}</Table.Td>
                <Table.Td ff="monospace">{formatTime(time, value.timeZone || "UTC", language, true)}</Table.Td>
                <Table.Td ff="monospace">{formatTime(time, viewer, language, true)}</Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      )}
    </Stack>
  );
}
