// The lines of a log held by the viewer: appended as they stream in (in batches, once per frame,
// so that 10,000 lines a second do not mean 10,000 renders), earlier ones prepended as the user
// scrolls up. A bounded number is kept: the oldest go first.
import { useCallback, useEffect, useRef, useState } from "react";

export const MAX_LINES = 500_000;

export interface LogBuffer {
  lines: string[];
  /** How many lines of the log come before lines[0], when known (0: lines[0] is line 1). */
  offset: number | null;
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

export function useLogBuffer() {
  const state = useRef<LogBuffer>({ lines: [], offset: null, version: 0 });
  const pending = useRef<string[]>([]);
  const frame = useRef<number | null>(null);
  const [, setVersion] = useState(0);

  const publish = useCallback(() => {
    state.current = { ...state.current, version: state.current.version + 1 };
    setVersion(state.current.version);
  }, []);

  const flush = useCallback(() => {
    frame.current = null;
    if (pending.current.length === 0) return;
    const lines = state.current.lines;
    for (const line of pending.current) lines.push(line);
    pending.current = [];
    if (lines.length > MAX_LINES) {
      const dropped = lines.length - MAX_LINES;
      lines.splice(0, dropped);
      if (state.current.offset !== null) state.current.offset += dropped;
    }
    publish();
  }, [publish]);

  const append = useCallback(
    (lines: string[]) => {
      for (const line of lines) pending.current.push(line);
      if (frame.current === null) frame.current = requestAnimationFrame(flush);
    },
    [flush],
  );

  const prepend = useCallback(
    (lines: string[], reachedStart: boolean) => {
      state.current.lines = [...lines, ...state.current.lines];
      state.current.offset = reachedStart ? 0 : null;
      publish();
    },
    [publish],
  );

  const reset = useCallback(
    (lines: string[] = [], offset: number | null = null) => {
      if (frame.current !== null) cancelAnimationFrame(frame.current);
      frame.current = null;
      pending.current = [];
      state.current = { lines: [...lines], offset, version: state.current.version + 1 };
      setVersion(state.current.version);
    },
    [],
  );

  useEffect(() => () => { if (frame.current !== null) cancelAnimationFrame(frame.current); }, []);

  return { buffer: state.current, append, prepend, reset, flush };
}
