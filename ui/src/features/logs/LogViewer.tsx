// The log viewer: follows a live run (new lines on screen as they are written), pauses and
// resumes, opens at the tail and loads earlier lines when scrolled to the top, shows ANSI colours,
// wraps and numbers lines on demand, searches on the server with the matches marked and
// next/previous, downloads the whole log. It shows a finished run's log from the pod while it
// exists and from the history's archive after, and says which. Its settings are in the URL.
import { ActionIcon, Alert, Badge, Button, Group, Loader, Stack, Switch, Text, TextInput, Tooltip } from "@mantine/core";
import { IconArrowDown, IconArrowUp, IconDownload, IconPlayerPause, IconPlayerPlay, IconSearch } from "@tabler/icons-react";
import { useCallback, useEffect, useMemo, useRef, useState } from "react";
import { Virtuoso, type VirtuosoHandle } from "react-virtuoso";
import { ApiError, fetchRaw } from "../../api/client";
import { searchLog, type LogMatch } from "../../api/extras";
import { ErrorView } from "../../components/ErrorView";
import { useT } from "../../i18n";
import { useUrlState } from "../../url";
import { AnsiLine, matcher, stripAnsi } from "./ansi";
import { readLines, useLogBuffer } from "./buffer";

export interface LogSource {
  kind: "live" | "archived";
  /** The endpoint (`/api/deployments/x/logs`, `/api/history/{jobId}/logs`). */
  url: string;
  /** Which log: run, container, previous attempt... */
  params: Record<string, string>;
  /** A run still going: its log can be followed. */
  running: boolean;
}

/** Lines asked for when opening (the tail) and for each scroll to the top. */
export const TAIL = 5_000;
const TOP = 1_000_000_000;

const query = (params: Record<string, string>, extra: Record<string, string>) => new URLSearchParams({ ...params, ...extra });

export function LogViewer({ sources, fileName, height = "calc(100vh - 300px)" }: { sources: LogSource[]; fileName: string; height?: string | number }) {
  const t = useT();
  const url = useUrlState();
  const wrap = url.get("wrap") === "1";
  const numbers = url.get("numbers") !== "0";
  const paused = url.get("paused") === "1";
  const search = url.get("grep");
  const matchIndex = url.getNumber("match", 0);

  const { buffer, append, prepend, reset } = useLogBuffer();
  const virtuoso = useRef<VirtuosoHandle>(null);
  const [sourceIndex, setSourceIndex] = useState(0);
  const [state, setState] = useState<"loading" | "streaming" | "ended" | "error" | "gone">("loading");
  const [error, setError] = useState<ApiError | null>(null);
  const [prependedTotal, setPrependedTotal] = useState(0);
  const [loadingEarlier, setLoadingEarlier] = useState(false);
  const [atBottom, setAtBottom] = useState(true);
  const [generation, setGeneration] = useState(0);
  const [searchText, setSearchText] = useState(search);
  const [matches, setMatches] = useState<LogMatch[] | null>(null);
  const [searching, setSearching] = useState(false);
  const source = sources[sourceIndex];
  const sourceKey = JSON.stringify(sources);

  useEffect(() => setSourceIndex(0), [sourceKey]);

  // Open the log: the tail, followed while the run goes on.
  useEffect(() => {
    if (!source) return;
    const abort = new AbortController();
    reset();
    setPrependedTotal(0);
    setState("loading");
    setError(null);
    const follow = source.kind === "live" && source.running;
    (async () => {
      try {
        const response = await fetchRaw(`${source.url}?${query(source.params, follow ? { follow: "true", tailLines: String(TAIL) } : { tailLines: String(TAIL) })}`, { signal: abort.signal });
        if (follow) {
          setState("streaming");
          await readLines(response, append);
          setState("ended");
        } else {
          const lines: string[] = [];
          await readLines(response, (chunk) => lines.push(...chunk));
          reset(lines, lines.length < TAIL ? 0 : null);
          setState("ended");
        }
      } catch (caught) {
        if (abort.signal.aborted) return;
        if (caught instanceof ApiError && caught.status === 404) {
          // Gone from the pod: the next source (the history's archive), or a clear message.
          if (sourceIndex + 1 < sources.length) setSourceIndex(sourceIndex + 1);
          else setState("gone");
          return;
        }
        setError(caught instanceof ApiError ? caught : new ApiError({ status: 0, code: "unreachable", message: String(caught), request: source.url }));
        setState("error");
      }
    })();
    return () => abort.abort();
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [source?.url, JSON.stringify(source?.params), source?.kind, source?.running, generation]);

  // Scrolled to the top: the lines before, until the log's first.
  const loadEarlier = useCallback(async () => {
    if (!source || loadingEarlier || buffer.offset !== null || buffer.lines.length === 0) return;
    setLoadingEarlier(true);
    const have = buffer.lines.length;
    const wanted = have + TAIL;
    try {
      const response = await fetchRaw(`${source.url}?${query(source.params, { tailLines: String(wanted) })}`);
      const lines: string[] = [];
      await readLines(response, (chunk) => lines.push(...chunk));
      const earlier = lines.slice(0, Math.max(0, lines.length - have));
      prepend(earlier, lines.length < wanted);
      setPrependedTotal((n) => n + earlier.length);
    } catch (caught) {
      setError(caught instanceof ApiError ? caught : null);
    } finally {
      setLoadingEarlier(false);
    }
  }, [source, loadingEarlier, buffer, prepend]);

  // The whole log, when a match lies before what is loaded.
  const loadAll = useCallback(async () => {
    if (!source) return;
    const response = await fetchRaw(`${source.url}?${query(source.params, { all: "true" })}`);
    const lines: string[] = [];
    await readLines(response, (chunk) => lines.push(...chunk));
    reset(lines, 0);
    setPrependedTotal(0);
    setState("ended");
  }, [source, reset]);

  // Search on the server (or, when it cannot, in the whole log here).
  useEffect(() => {
    if (!source || !search) {
      setMatches(null);
      return;
    }
    const abort = new AbortController();
    setSearching(true);
    (async () => {
      try {
        let found = await searchLog(source.url, query(source.params, {}), search, abort.signal);
        if (found === null) {
          const response = await fetchRaw(`${source.url}?${query(source.params, { all: "true" })}`, { signal: abort.signal });
          const pattern = matcher(search);
          found = [];
          let number = 0;
          await readLines(response, (chunk) => {
            for (const line of chunk) {
              number++;
              pattern!.lastIndex = 0;
              if (pattern!.test(stripAnsi(line))) found!.push({ line: number, text: line });
            }
          });
        }
        if (!abort.signal.aborted) setMatches(found);
      } catch (caught) {
        if (!abort.signal.aborted) setError(caught instanceof ApiError ? caught : null);
      } finally {
        if (!abort.signal.aborted) setSearching(false);
      }
    })();
    return () => abort.abort();
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [search, source?.url, JSON.stringify(source?.params)]);

  const current = matches && matches.length > 0 ? matches[Math.min(matchIndex, matches.length - 1)] : undefined;
  const goTo = useCallback(
    async (match: LogMatch | undefined) => {
      if (!match) return;
      if (buffer.offset === null || match.line <= buffer.offset) await loadAll();
      // The index after loading: read from the ref'd buffer on the next frame.
      requestAnimationFrame(() => {
        const offset = bufferRef.current.offset ?? 0;
        virtuoso.current?.scrollToIndex({ index: Math.max(0, match.line - 1 - offset), align: "center" });
      });
    },
    [buffer.offset, loadAll],
  );
  const bufferRef = useRef(buffer);
  bufferRef.current = buffer;
  useEffect(() => {
    if (current) {
      if (!paused) url.set({ paused: 1 }, { replace: true });
      void goTo(current);
    }
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [current?.line]);

  const pattern = useMemo(() => matcher(search), [search]);
  const download = async () => {
    if (!source) return;
    const response = await fetchRaw(`${source.url}?${query(source.params, { all: "true" })}`);
    const link = document.createElement("a");
    link.href = URL.createObjectURL(await response.blob());
    link.download = fileName;
    link.click();
    URL.revokeObjectURL(link.href);
  };

  const following = source?.kind === "live" && state === "streaming" && !paused;
  const firstItemIndex = TOP - prependedTotal;
  const currentLine = current?.line ?? null;

  return (
    <Stack gap="xs">
      <Group justify="space-between" wrap="wrap" gap="xs">
        <Group gap="xs" wrap="wrap">
          <Badge color={source?.kind === "archived" ? "grape" : state === "streaming" ? "blue" : "gray"} data-testid="log-source">
            {source?.kind === "archived" ? t("logs.archived") : state === "streaming" ? (paused ? t("logs.livePaused") : t("logs.live")) : t("logs.fromPod")}
          </Badge>
          {state === "streaming" && (
            <Button size="xs" variant="light" leftSection={paused ? <IconPlayerPlay size={14} /> : <IconPlayerPause size={14} />} onClick={() => { url.set({ paused: paused ? null : 1 }, { replace: true }); if (paused) virtuoso.current?.scrollToIndex({ index: "LAST" }); }}>
              {paused ? t("logs.resume") : t("logs.pause")}
            </Button>
          )}
          <Switch size="xs" label={t("logs.wrap")} checked={wrap} onChange={(e) => url.set({ wrap: e.currentTarget.checked ? 1 : null }, { replace: true })} />
          <Switch size="xs" label={t("logs.numbers")} checked={numbers} onChange={(e) => url.set({ numbers: e.currentTarget.checked ? null : "0" }, { replace: true })} />
          <Tooltip label={t("logs.download")}>
            <ActionIcon variant="default" onClick={download} aria-label={t("logs.download")}>
              <IconDownload size={16} />
            </ActionIcon>
          </Tooltip>
        </Group>
        <form
          onSubmit={(e) => {
            e.preventDefault();
            url.set({ grep: searchText, match: null }, { replace: true });
          }}
          role="search"
        >
          <Group gap={4} wrap="nowrap">
            <TextInput size="xs" aria-label={t("logs.search")} placeholder={t("logs.searchPlaceholder")} value={searchText} onChange={(e) => setSearchText(e.currentTarget.value)} leftSection={<IconSearch size={14} />} w={220} />
            <Text size="xs" miw={70} aria-live="polite" data-testid="log-match-count">
              {searching ? <Loader size={12} /> : matches ? (matches.length > 0 ? t("logs.matchOf", { n: Math.min(matchIndex, matches.length - 1) + 1, total: matches.length }) : t("logs.noMatch")) : ""}
            </Text>
            <ActionIcon variant="default" aria-label={t("logs.previousMatch")} disabled={!matches?.length} onClick={() => url.set({ match: (matchIndex - 1 + matches!.length) % matches!.length }, { replace: true })}>
              <IconArrowUp size={14} />
            </ActionIcon>
            <ActionIcon variant="default" aria-label={t("logs.nextMatch")} disabled={!matches?.length} onClick={() => url.set({ match: (matchIndex + 1) % matches!.length }, { replace: true })}>
              <IconArrowDown size={14} />
            </ActionIcon>
          </Group>
        </form>
      </Group>
      {error && <ErrorView error={error} onRetry={() => setGeneration((g) => g + 1)} />}
      {state === "gone" ? (
        <Alert color="yellow" role="status" data-testid="log-gone">
          {t("logs.gone")}
        </Alert>
      ) : (
        <div className={`jo-pane${wrap ? " jo-log-wrap" : ""}`} style={{ position: "relative" }}>
          {buffer.offset === null && buffer.lines.length > 0 && (
            <Text size="xs" c="dimmed" px="xs" py={2}>
              {loadingEarlier ? t("logs.loadingEarlier") : t("logs.earlierOnScroll")}
            </Text>
          )}
          <Virtuoso
            key={`${sourceIndex}-${generation}`}
            ref={virtuoso}
            style={{ height, minHeight: 240 }}
            data={buffer.lines}
            firstItemIndex={firstItemIndex}
            initialTopMostItemIndex={Math.max(0, buffer.lines.length - 1)}
            followOutput={following ? "auto" : false}
            atBottomStateChange={setAtBottom}
            startReached={() => void loadEarlier()}
            increaseViewportBy={400}
            tabIndex={0}
            aria-label={t("logs.pane")}
            data-testid="log-pane"
            data-lines={buffer.lines.length}
            itemContent={(index, line) => {
              const position = index - firstItemIndex;
              const number = buffer.offset !== null ? buffer.offset + position + 1 : null;
              return (
                <div className={`jo-log-line${number !== null && number === currentLine ? " jo-log-current" : ""}`} data-line={number ?? undefined}>
                  {numbers && <span className="jo-log-number">{number ?? "·"}</span>}
                  <span>
                    <AnsiLine text={line} pattern={pattern} />
                  </span>
                </div>
              );
            }}
          />
          {state === "loading" && (
            <Group justify="center" p="xs">
              <Loader size="sm" aria-label={t("common.loading")} />
            </Group>
          )}
          {state !== "loading" && buffer.lines.length === 0 && (
            <Text size="sm" c="dimmed" p="xs">
              {t("logs.empty")}
            </Text>
          )}
          {!atBottom && state === "streaming" && (
            <Button size="xs" style={{ position: "absolute", right: 16, bottom: 12 }} onClick={() => { url.set({ paused: null }, { replace: true }); virtuoso.current?.scrollToIndex({ index: "LAST" }); }}>
              {t("logs.toEnd")}
            </Button>
          )}
        </div>
      )}
      <Text size="xs" c="dimmed" data-testid="log-status">
        {t("logs.status", { lines: buffer.lines.length })}
        {state === "ended" && source?.kind === "live" && source.running ? ` · ${t("logs.streamEnded")}` : ""}
      </Text>
    </Stack>
  );
}
