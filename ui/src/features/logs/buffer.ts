// The lines of a log the viewer holds: one stretch of the log, numbered when its place in the log
// is known. Streamed lines are appended in batches, at an animation frame at most every 100 ms
// (10,000 lines a second are then 1,000 lines and one render each tenth of a second, not 10,000
// renders: each render replaces the lines on screen, and 60 a second took more than the main
// thread had); earlier or later stretches are added as the user scrolls. A bounded number is kept:
// the oldest go first.
import { useCallback, useEffect, useRef, useState } from "react";

export const MAX_LINES = 500_000;
/** The shortest time between two batches of streamed lines (ms). */
export const BATCH_EVERY = 100;

export interface LogBuffer {
  lines: string[];
  /** The number of lines[0] in the whole log (1-based), or null while it is not known. */
  first: number | null;
  /** lines[0] is the log's first line (nothing earlier to load). */
  atStart: boolean;
  /** The last line held is the log's last one, as far as is known. */
  atEnd: boolean;
  /** Bumped on every change, for React. */
  version: number;
}

/** Splits streamed text into lines, keeping a partial last line for the next chunk. */
export class LineSplitter {
  private rest = "";
  push(chunk: string): string[] {
    const parts = (this.rest + chunk).split("\n");
    this.rest = parts.pop() ?? "";
    return parts.map((line) => (line.endsWith("\r") ? line.slice(0, -1) : line));
  }
  end(): string[] {
    const rest = this.rest;
    this.rest = "";
    return rest ? [rest] : [];
  }
}

/** Reads a streamed answer line by line, calling `onLines` with each chunk's complete lines. */
export async function readLines(response: Response, onLines: (lines: string[]) => void): Promise<void> {
  if (!response.body) {
    onLines(new LineSplitter().push(`${await response.text()}\n`));
    return;
  }
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  const splitter = new LineSplitter();
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    const lines = splitter.push(value);
    if (lines.length > 0) onLines(lines);
  }
  const rest = splitter.end();
  if (rest.length > 0) onLines(rest);
}

/** How many of a window's first lines must be found together to place it. */
const ANCHOR = 20;
/** How far back from the end of the held lines a window is looked for. */
const SEARCH_BACK = 50_000;

/**
 * The number of `lines[0]`, found by placing a numbered window of the same log (its first lines,
 * `first` being the number of the first) among `lines`, nearest the end first; null while they are
 * not all there. A followed log arrives without numbers: this gives them.
 */
export function numberFrom(lines: string[], window: { first: number; lines: string[] }): number | null {
  const anchor = window.lines.slice(0, ANCHOR);
  if (anchor.length === 0) return null;
  const lowest = Math.max(0, lines.length - SEARCH_BACK);
  for (let at = lines.length - anchor.length; at >= lowest; at--) {
    let same = true;
    for (let i = 0; i < anchor.length && same; i++) same = lines[at + i] === anchor[i];
    if (same) return window.first - at;
  }
  return null;
}

export function useLogBuffer() {
  const state = useRef<LogBuffer>({ lines: [], first: null, atStart: false, atEnd: true, version: 0 });
  const pending = useRef<string[]>([]);
  const frame = useRef<number | null>(null);
  const lastFlush = useRef(0);
  const listener = useRef<(() => void) | null>(null);
  const [, setVersion] = useState(0);

  const publish = useCallback(() => {
    state.current = { ...state.current, version: state.current.version + 1 };
    setVersion(state.current.version);
  }, []);

  const trim = () => {
    const lines = state.current.lines;
    if (lines.length <= MAX_LINES) return;
    const dropped = lines.length - MAX_LINES;
    lines.splice(0, dropped);
    state.current.atStart = false;
    if (state.current.first !== null) state.current.first += dropped;
  };

  const flush = useCallback(() => {
    if (frame.current !== null) cancelAnimationFrame(frame.current);
    frame.current = null;
    lastFlush.current = performance.now();
    if (pending.current.length === 0) return;
    const lines = state.current.lines;
    for (const line of pending.current) lines.push(line);
    pending.current = [];
    trim();
    listener.current?.();
    publish();
  }, [publish]);

  /** Streamed lines, shown at the first frame BATCH_EVERY ms after the last batch. */
  const append = useCallback(
    (lines: string[]) => {
      for (const line of lines) pending.current.push(line);
      if (frame.current !== null) return;
      const onFrame = (time: number) => {
        if (time - lastFlush.current < BATCH_EVERY) frame.current = requestAnimationFrame(onFrame);
        else flush();
      };
      frame.current = requestAnimationFrame(onFrame);
    },
    [flush],
  );

  /** A stretch just before the first line held. */
  const prepend = useCallback(
    (lines: string[], atStart: boolean) => {
      const current = state.current;
      current.lines = [...lines, ...current.lines];
      if (current.first !== null) current.first -= lines.length;
      current.atStart = atStart;
      publish();
    },
    [publish],
  );

  /** A stretch just after the last line held. */
  const extend = useCallback(
    (lines: string[], atEnd: boolean) => {
      for (const line of lines) state.current.lines.push(line);
      state.current.atEnd = atEnd;
      trim();
      publish();
    },
    [publish],
  );

  /** Numbers the lines held (once a followed log is placed). */
  const number = useCallback(
    (first: number, atStart: boolean) => {
      state.current.first = first;
      state.current.atStart = atStart;
      publish();
    },
    [publish],
  );

  const reset = useCallback((next: Partial<Omit<LogBuffer, "version">> = {}) => {
    if (frame.current !== null) cancelAnimationFrame(frame.current);
    frame.current = null;
    pending.current = [];
    state.current = { lines: [], first: null, atStart: false, atEnd: true, ...next, version: state.current.version + 1 };
    setVersion(state.current.version);
  }, []);

  /** Called after each batch of streamed lines is added (to place a followed log). */
  const onAppend = useCallback((callback: (() => void) | null) => {
    listener.current = callback;
  }, []);

  useEffect(
    () => () => {
      if (frame.current !== null) cancelAnimationFrame(frame.current);
    },
    [],
  );

  return { buffer: state.current, current: state, append, flush, prepend, extend, number, reset, onAppend };
}
