// One display time zone for every time the UI shows (the browser's by default, UTC or any IANA
// zone when chosen), with the UTC time on hover: the answer to "which zone is this in?".
import { createContext, useContext, useMemo, useState, useSyncExternalStore, type ReactNode } from "react";
import { useI18n } from "./i18n";

const STORAGE = "jo.timeZone";

export function browserTimeZone(): string {
  return Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
}

export function allTimeZones(): string[] {
  const zones = (Intl as unknown as { supportedValuesOf?: (key: string) => string[] }).supportedValuesOf?.("timeZone") ?? [];
  return zones.includes("UTC") ? zones : ["UTC", ...zones];
}

interface TimeZoneState {
  /** The zone chosen, or null for the browser's. */
  chosen: string | null;
  zone: string;
  setZone: (zone: string | null) => void;
}

const Context = createContext<TimeZoneState | null>(null);

export function TimeZoneProvider({ children, zone: fixed }: { children: ReactNode; zone?: string }) {
  const [chosen, setChosen] = useState<string | null>(() => fixed ?? localStorage.getItem(STORAGE));
  const value = useMemo<TimeZoneState>(
    () => ({
      chosen,
      zone: chosen ?? browserTimeZone(),
      setZone: (zone) => {
        if (zone) localStorage.setItem(STORAGE, zone);
        else localStorage.removeItem(STORAGE);
        setChosen(zone);
      },
    }),
    [chosen],
  );
  return <Context.Provider value={value}>{children}</Context.Provider>;
}

export function useTimeZone(): TimeZoneState {
  const value = useContext(Context);
  if (!value) throw new Error("useTimeZone outside TimeZoneProvider");
  return value;
}

// Making an Intl.DateTimeFormat costs far more than using one: one per zone, language and form.
const formats = new Map<string, Intl.DateTimeFormat>();
function formatter(zone: string, locale: string, withZone: boolean): Intl.DateTimeFormat {
  const key = `${zone} ${locale} ${withZone}`;
  let format = formats.get(key);
  if (!format) {
    format = makeFormatter(zone, locale, withZone);
    formats.set(key, format);
  }
  return format;
}

/** `2026-12-06 09:14:05` in the zone, with its abbreviation when asked. */
export function formatTime(value: string | number | Date, zone: string, locale: string, withZone = false): string {
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) return String(value);
  return formatter(zone, locale, withZone).format(date).replace(",", "");
}

function makeFormatter(zone: string, locale: string, withZone: boolean): Intl.DateTimeFormat {
  return new Intl.DateTimeFormat(locale === "en" ? "en-CA" : locale, {
    timeZone: zone,
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
    hour: "2-digit",
    minute: "2-digit",
    second: "2-digit",
    hourCycle: "h23",
    ...(withZone ? { timeZoneName: "short" } : {}),
  });
}

export function utcTooltip(value: string | number | Date): string {
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? String(value) : date.toISOString().replace("T", " ").replace(/\.\d+Z$/, " UTC");
}

/** A duration in words: `3 min 05 s`, `1 h 02 min`, `12 s`. */
export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, "0")} s`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ${String(Math.floor((s % 3600) / 60)).padStart(2, "0")} min`;
  return `${Math.floor(s / 86400)} d ${Math.floor((s % 86400) / 3600)} h`;
}

/**
 * A time in the display zone; UTC on hover (a native title: a Mantine tooltip per cell made a list
 * of 1,000 rows take seconds to appear).
 */
export function Time({ value, withZone }: { value?: string | number | Date | null; withZone?: boolean }) {
  const { zone } = useTimeZone();
  const { language } = useI18n();
  if (value === null || value === undefined || value === "") return <span>—</span>;
  const utc = utcTooltip(value);
  return (
    <time dateTime={String(value)} title={utc}>
      {formatTime(value, zone, language, withZone)}
    </time>
  );
}

// One clock for every countdown on the page (a list has one per row): it ticks each second while
// one is shown.
let clock = Date.now();
let ticking: number | null = null;
const watchers = new Set<() => void>();
function watchClock(watcher: () => void): () => void {
  watchers.add(watcher);
  if (ticking === null) {
    clock = Date.now();
    ticking = window.setInterval(() => {
      clock = Date.now();
      watchers.forEach((w) => w());
    }, 1000);
  }
  return () => {
    watchers.delete(watcher);
    if (watchers.size === 0 && ticking !== null) {
      window.clearInterval(ticking);
      ticking = null;
    }
  };
}

/** Now, to the second, from the page's one clock. */
export function useNow(): number {
  return useSyncExternalStore(watchClock, () => clock);
}

/** Seconds until a time, counting down every second ("in 12 s"); "due" once passed. */
export function Countdown({ to }: { to?: string | null }) {
  const { t } = useI18n();
  const now = useNow();
  if (!to) return null;
  const left = (new Date(to).getTime() - now) / 1000;
  return <span>{left > 0 ? t("time.in", { duration: formatDuration(left) }) : t("time.due")}</span>;
}
