// One log line with its ANSI colours (as CSS classes that follow the colour scheme) and the
// search's matches marked.
import Anser from "anser";
import { memo, type ReactNode } from "react";

/** A pattern as the server reads it (a regular expression), or the plain text when it is none. */
export function matcher(pattern: string): RegExp | null {
  if (!pattern) return null;
  try {
    return new RegExp(pattern, "gi");
  } catch {
    return new RegExp(pattern.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"), "gi");
  }
}

function marked(text: string, pattern: RegExp | null, key: string): ReactNode {
  if (!pattern || text === "") return text;
  const parts: ReactNode[] = [];
  let last = 0;
  pattern.lastIndex = 0;
  for (let m = pattern.exec(text); m; m = pattern.exec(text)) {
    if (m[0] === "") {
      pattern.lastIndex++;
      continue;
    }
    if (m.index > last) parts.push(text.slice(last, m.index));
    parts.push(
      <mark className="jo-hit" key={`${key}-${m.index}`}>
        {m[0]}
      </mark>,
    );
    last = m.index + m[0].length;
  }
  if (parts.length === 0) return text;
  if (last < text.length) parts.push(text.slice(last));
  return parts;
}

// Lines read once: a line scrolled out of view and back (or drawn again) is not parsed again.
type Entries = ReturnType<typeof Anser.ansiToJson>;
const parsed = new Map<string, Entries>();
const PARSED_KEPT = 5_000;
function parse(text: string): Entries {
  let entries = parsed.get(text);
  if (!entries) {
    entries = Anser.ansiToJson(text, { use_classes: true, remove_empty: true });
    if (parsed.size >= PARSED_KEPT) parsed.delete(parsed.keys().next().value!);
    parsed.set(text, entries);
  }
  return entries;
}

export const AnsiLine = memo(function AnsiLine({ text, pattern }: { text: string; pattern: RegExp | null }) {
  if (!text.includes("\x1b")) return <>{marked(text, pattern, "p")}</>;
  const entries = parse(text);
  return (
    <>
      {entries.map((entry, index) => {
        const classes = [
          entry.fg ? `${entry.fg}-fg` : "",
          entry.bg ? `${entry.bg}-bg` : "",
          ...(entry.decorations ?? []).map((d) => `ansi-${d}`),
        ]
          .filter(Boolean)
          .join(" ");
        return (
          <span key={index} className={classes || undefined}>
            {marked(entry.content, pattern, String(index))}
          </span>
        );
      })}
    </>
  );
});
