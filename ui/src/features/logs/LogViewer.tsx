// The log viewer: follows a live run (new lines on screen as they are written, the pane pinned
// to the end until the user scrolls up or pauses), opens at the tail and loads earlier lines, by
// number, when scrolled to the top; shows ANSI colours, wraps and numbers lines on demand;
// searches on the server with the matches marked and next/previous (a match outside the lines
// held opens the stretch around it); downloads the whole log. It shows a finished run's log from
// the pod while it exists and from the history's archive after, and says which. Its settings are
// in the URL.
import { ActionIcon, Alert, Badge, Button, Group, Loader, Stack, Switch, Text, TextInput, Tooltip } from "@mantine/core";
import { IconArrowDown, IconArrowUp, IconDownload, IconPlayerPause, IconPlayerPlay, IconSearch } from "@tabler/icons-react";
import { useCallback, useEffect, useMemo, useRef, useState, type KeyboardEvent, type MouseEvent, type WheelEvent } from "react";
import { Virtuoso, type VirtuosoHandle } from "react-virtuoso";
import { ApiError } from "../../api/client";
import { ErrorView } from "../../components/ErrorView";
import { useT } from "../../i18n";
import { useUrlState } from "../../url";
import { AnsiLine, matcher } from "./ansi";
import { numberFrom, useLogBuffer } from "./buffer";
import { LOST, MAX_WINDOW, type LogMatch, type LogSource, type LogWindow } from "./sources";

/** Lines read when opening (the tail), and for each scroll past the top or the bottom. */
export const TAIL = 5_000;
const CHUNK = 2_000;
/** Virtuoso's index of the first line before anything is prepended (it counts down from there). */
const TOP = 1_000_000_000;
/** Lines of a followed log's end read to number it. */
const PLACE = 200;

type State = "loading" | "streaming" | "ended" | "error" | "gone" | "waiting";

export function LogViewer({
  sources,
  fileName,
  height = "calc(100vh - 300px)",
  onRunEnded,
}: {
  sources: LogSource[];
  fileName: string;
  height?: string | number;
  /** A followed run's log came to its end (the run ended): its page reads the run's state again. */
  onRunEnded?: () => void;
}) {
  const t = useT();
  const url = useUrlState();
  const wrap = url.get("wrap") === "1";
  const numbers = url.get("numbers") !== "0";
  const paused = url.get("paused") === "1";
  const search = url.get("grep");
  const matchIndex = url.getNumber("match", 0);

  const { buffer, current: held, append, flush, prepend, extend, number, reset, onAppend } = useLogBuffer();
  const virtuoso = useRef<VirtuosoHandle>(null);
  const stream = useRef<AbortController | null>(null);
  const [sourceIndex, setSourceIndex] = useState(0);
  const [state, setState] = useState<State>("loading");
  const [error, setError] = useState<ApiError | null>(null);
  const [prepended, setPrepended] = useState(0);
  const [loading, setLoading] = useState<"earlier" | "later" | null>(null);
  const [generation, setGeneration] = useState(0);
  const [searchText, setSearchText] = useState(search);
  const [matches, setMatches] = useState<{ matches: LogMatch[]; truncated: boolean } | null>(null);
  const [searching, setSearching] = useState(false);
  const source = sources[sourceIndex];
  const sourceKeys = sources.map((s) => s.key).join("|");

  useEffect(() => setSourceIndex(0), [sourceKeys]);

  const failed = useCallback(
    (caught: unknown, request: string) => {
      // A finished run whose pod is gone (or never came) will not get a log there: like a 404.
      const never = caught instanceof ApiError && caught.code === "log_not_ready" && !source?.running;
      if (caught instanceof ApiError && (caught.status === 404 || never)) {
        // Gone from the pod: the next source (the history's archive), or a clear message.
        if (sourceIndex + 1 < sources.length) setSourceIndex(sourceIndex + 1);
        else {
          setError(caught);
          setState("gone");
        }
      } else if (caught instanceof ApiError && caught.code === "log_not_ready") {
        // The container has not started yet: said why, asked again shortly.
        setError(caught);
        setState("waiting");
      } else {
        setError(caught instanceof ApiError ? caught : new ApiError({ status: 0, code: "unreachable", message: String(caught), request }));
        setState("error");
      }
    },
    [sourceIndex, sources.length, source?.running],
  );

  // Open the log: its tail, followed while the run goes on.
  useEffect(() => {
    if (!source) return;
    const abort = new AbortController();
    stream.current = abort;
    reset();
    setPrepended(0);
    setState("loading");
    setError(null);
    (async () => {
      try {
        if (source.running && source.follow) {
          // The followed lines come without numbers: a numbered read of the end places them.
          let window: LogWindow | null = null;
          let asked = 0;
          const place = () => {
            if (held.current.first !== null || !window) return;
            const first = numberFrom(held.current.lines, window);
            if (first !== null) number(first, first <= window.start);
          };
          const askWindow = async () => {
            if (asked >= 5 || abort.signal.aborted) return;
            asked++;
            try {
              window = await source.tail(PLACE, abort.signal);
              place();
            } catch {
              // Numbers are a comfort: the log shows without them.
            }
            if (held.current.first === null && !abort.signal.aborted) setTimeout(() => void askWindow(), 2_000);
          };
          onAppend(() => {
            if (asked === 0) void askWindow();
            else place();
          });
          setState("streaming");
          await source.follow(TAIL, abort.signal, append);
          if (abort.signal.aborted) return;
          // The last lines shown (and followed to the end) before the log is said to have ended.
          flush();
          await new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve)));
          if (abort.signal.aborted) return;
          setState("ended");
          onRunEnded?.();
        } else {
          const window = await source.tail(TAIL, abort.signal);
          reset({ lines: window.lines, first: window.first, atStart: window.first <= window.start, atEnd: true });
          setState("ended");
        }
      } catch (caught) {
        if (!abort.signal.aborted) failed(caught, source.key);
      }
    })();
    return () => {
      abort.abort();
      onAppend(null);
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [source?.key, generation]);

  // A followed stream that broke shows an error; when the run then ends, its log is whole and is
  // read again at once (a press on "Retry" or a reload did it before).
  useEffect(() => {
    if (source && !source.running && state === "error") setGeneration((g) => g + 1);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [source?.running]);

  // A container not started yet: asked again every 3 s.
  useEffect(() => {
    if (state !== "waiting") return;
    const timer = window.setTimeout(() => setGeneration((g) => g + 1), 3_000);
    return () => window.clearTimeout(timer);
  }, [state]);

  // Scrolled to the top: the lines before, by number, until the log's first.
  const loadEarlier = useCallback(async () => {
    const { first, atStart } = held.current;
    if (!source || loading || first === null || atStart) return;
    setLoading("earlier");
    try {
      const from = Math.max(1, first - CHUNK);
      const window = await source.range(from, first - from);
      const earlier = window.lines.slice(0, Math.max(0, first - window.first));
      prepend(earlier, window.first <= window.start);
      setPrepended((n) => n + earlier.length);
    } catch (caught) {
      setError(caught instanceof ApiError ? caught : null);
    } finally {
      setLoading(null);
    }
  }, [source, loading, held, prepend]);

  // Scrolled to the bottom of a stretch that is not the log's end: the lines after.
  const loadLater = useCallback(async () => {
    const { first, atEnd, lines } = held.current;
    if (!source || loading || first === null || atEnd) return;
    setLoading("later");
    try {
      const from = first + lines.length;
      const window = await source.range(from, CHUNK);
      const later = window.lines.slice(Math.max(0, from - window.first));
      extend(later, later.length === 0 || window.first + window.lines.length - 1 >= window.total);
    } catch (caught) {
      setError(caught instanceof ApiError ? caught : null);
    } finally {
      setLoading(null);
    }
  }, [source, loading, held, extend]);

  // Search on the server.
  useEffect(() => {
    if (!source || !search) {
      setMatches(null);
      return;
    }
    const abort = new AbortController();
    setSearching(true);
    source
      .search(search, abort.signal)
      .then((found) => !abort.signal.aborted && setMatches(found))
      .catch((caught) => !abort.signal.aborted && setError(caught instanceof ApiError ? caught : null))
      .finally(() => !abort.signal.aborted && setSearching(false));
    return () => abort.abort();
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [search, source?.key]);

  // The current match on screen: in the lines held, or the stretch around it read (which stops
  // following: "Follow" reopens the end).
  const currentMatch = matches && matches.matches.length > 0 ? matches.matches[Math.min(matchIndex, matches.matches.length - 1)] : undefined;
  const currentLine = currentMatch?.line ?? null;
  useEffect(() => {
    if (currentLine === null || !source) return;
    if (!paused) url.set({ paused: 1 }, { replace: true });
    const { first, lines } = held.current;
    if (first !== null && currentLine >= first && currentLine < first + lines.length) {
      virtuoso.current?.scrollToIndex({ index: currentLine - first, align: "center" });
      return;
    }
    stream.current?.abort();
    const abort = new AbortController();
    stream.current = abort;
    const from = Math.max(1, currentLine - CHUNK / 2);
    source
      .range(from, Math.min(CHUNK, MAX_WINDOW))
      .then((window) => {
        if (abort.signal.aborted) return;
        reset({ lines: window.lines, first: window.first, atStart: window.first <= window.start, atEnd: window.first + window.lines.length - 1 >= window.total });
        setPrepended(0);
        setState("ended");
        requestAnimationFrame(() => virtuoso.current?.scrollToIndex({ index: currentLine - window.first, align: "center" }));
      })
      .catch((caught) => !abort.signal.aborted && setError(caught instanceof ApiError ? caught : null));
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [currentLine]);

  const pattern = useMemo(() => matcher(search), [search]);
  const download = async () => {
    if (!source) return;
    try {
      const link = document.createElement("a");
      link.href = URL.createObjectURL(await source.download());
      link.download = fileName;
      link.click();
      URL.revokeObjectURL(link.href);
    } catch (caught) {
      setError(caught instanceof ApiError ? caught : null);
    }
  };

  const streaming = state === "streaming";
  const following = streaming && !paused;
  const follow = () => {
    url.set({ paused: null }, { replace: true });
    // A stretch read around a match is not the end: the end is reopened and followed.
    if (!streaming && source?.running) setGeneration((g) => g + 1);
    else virtuoso.current?.scrollToIndex({ index: "LAST" });
  };
  // Scrolling up (wheel, keys, the scroll bar) pauses a followed log, as in a terminal.
  const pauseOnWheel = (event: WheelEvent) => following && event.deltaY < 0 && url.set({ paused: 1 }, { replace: true });
  const pauseOnKey = (event: KeyboardEvent) => following && ["ArrowUp", "PageUp", "Home"].includes(event.key) && url.set({ paused: 1 }, { replace: true });
  const pauseOnScrollBar = (event: MouseEvent<HTMLDivElement>) => {
    const scroller = (event.target as HTMLElement).closest("[data-virtuoso-scroller]") as HTMLElement | null;
    if (following && scroller && event.nativeEvent.offsetX > scroller.clientWidth) url.set({ paused: 1 }, { replace: true });
  };

  const firstItemIndex = TOP - prepended;
  const info = source?.info?.() ?? null;
  const last = buffer.first !== null ? buffer.first + buffer.lines.length - 1 : null;

  return (
    <Stack gap="xs">
      <Group justify="space-between" wrap="wrap" gap="xs">
        <Group gap="xs" wrap="wrap">
          <Badge color={source?.kind === "archived" ? "grape" : streaming ? "blue" : "gray"} data-testid="log-source">
            {source?.kind === "archived" ? t("logs.archived") : streaming ? (paused ? t("logs.livePaused") : t("logs.live")) : t("logs.fromPod")}
          </Badge>
          {(streaming || source?.running) && (
            <Button size="xs" variant="light" leftSection={following ? <IconPlayerPause size={14} /> : <IconPlayerPlay size={14} />} onClick={() => (following ? url.set({ paused: 1 }, { replace: true }) : follow())}>
              {following ? t("logs.pause") : t("logs.resume")}
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
              {searching ? (
                <Loader size={12} />
              ) : matches ? (
                matches.matches.length > 0 ? (
                  t(matches.truncated ? "logs.matchOfMore" : "logs.matchOf", { n: Math.min(matchIndex, matches.matches.length - 1) + 1, total: matches.matches.length })
                ) : (
                  t("logs.noMatch")
                )
              ) : (
                ""
              )}
            </Text>
            <ActionIcon variant="default" aria-label={t("logs.previousMatch")} disabled={!matches?.matches.length} onClick={() => url.set({ match: (matchIndex - 1 + matches!.matches.length) % matches!.matches.length }, { replace: true })}>
              <IconArrowUp size={14} />
            </ActionIcon>
            <ActionIcon variant="default" aria-label={t("logs.nextMatch")} disabled={!matches?.matches.length} onClick={() => url.set({ match: (matchIndex + 1) % matches!.matches.length }, { replace: true })}>
              <IconArrowDown size={14} />
            </ActionIcon>
          </Group>
        </form>
      </Group>
      {info && info.droppedLines > 0 && (
        <Alert color="gray" role="status" data-testid="log-head-dropped">
          {t("logs.headDropped", { lines: info.droppedLines })}
        </Alert>
      )}
      {info && !info.complete && (
        <Alert color="yellow" role="status">
          {t("logs.incomplete", { ranges: info.missing.map((m) => `${m.from}–${m.to}`).join(", ") })}
        </Alert>
      )}
      {state === "waiting" && error && (
        <Alert color="blue" role="status" data-testid="log-waiting">
          {t("logs.notReady")} {error.message}
        </Alert>
      )}
      {error && state !== "gone" && state !== "waiting" && <ErrorView error={error} onRetry={() => setGeneration((g) => g + 1)} />}
      {state === "gone" ? (
        <Alert color="yellow" role="status" data-testid="log-gone">
          {error?.code === "no_previous_attempt" ? t("logs.noPrevious") : t("logs.gone")}
          {error?.message ? <Text size="sm" c="dimmed">{error.message}</Text> : null}
        </Alert>
      ) : (
        <div className={`jo-pane${wrap ? " jo-log-wrap" : ""}`} style={{ position: "relative" }}>
          {buffer.first !== null && !buffer.atStart && buffer.lines.length > 0 && (
            <Text size="xs" c="dimmed" px="xs" py={2}>
              {loading === "earlier" ? t("logs.loadingEarlier") : t("logs.earlierOnScroll")}
            </Text>
          )}
          <Virtuoso
            key={`${source?.key}-${generation}`}
            ref={virtuoso}
            style={{ height, minHeight: 240 }}
            totalCount={buffer.lines.length}
            firstItemIndex={firstItemIndex}
            initialTopMostItemIndex={Math.max(0, buffer.lines.length - 1)}
            fixedItemHeight={wrap ? undefined : LINE_HEIGHT}
            followOutput={() => (following ? "auto" : false)}
            startReached={() => void loadEarlier()}
            endReached={() => void loadLater()}
            increaseViewportBy={following ? 0 : 400}
            tabIndex={0}
            onWheel={pauseOnWheel}
            onKeyDown={pauseOnKey}
            onMouseDown={pauseOnScrollBar}
            aria-label={t("logs.pane")}
            data-testid="log-pane"
            data-lines={buffer.lines.length}
            itemContent={(index) => {
              const position = index - firstItemIndex;
              const line = buffer.lines[position] ?? "";
              const lineNumber = buffer.first !== null ? buffer.first + position : null;
              if (line === LOST) {
                return (
                  <div className="jo-log-line jo-log-lost" data-line={lineNumber ?? undefined}>
                    {numbers && <span className="jo-log-number">{lineNumber ?? "·"}</span>}
                    <span>{t("logs.lostLine")}</span>
                  </div>
                );
              }
              return (
                <div className={`jo-log-line${lineNumber !== null && lineNumber === currentLine ? " jo-log-current" : ""}`} data-line={lineNumber ?? undefined}>
                  {numbers && <span className="jo-log-number">{lineNumber ?? "·"}</span>}
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
          {(paused && streaming) || (!streaming && source?.running && state === "ended") ? (
            <Button size="xs" style={{ position: "absolute", right: 16, bottom: 12 }} onClick={follow}>
              {t("logs.toEnd")}
            </Button>
          ) : null}
        </div>
      )}
      <Text size="xs" c="dimmed" data-testid="log-status">
        {t("logs.status", { lines: buffer.lines.length })}
        {buffer.first !== null && last !== null && buffer.lines.length > 0 ? ` · ${t("logs.range", { first: buffer.first, last })}` : ""}
        {state === "ended" && source?.kind === "live" && source.running ? ` · ${t("logs.streamEnded")}` : ""}
      </Text>
    </Stack>
  );
}

/** A line's height without wrapping (styles.css says the same): Virtuoso need not measure lines. */
const LINE_HEIGHT = 18;
