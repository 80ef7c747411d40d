// A cron schedule in words (cronstrue), kept apart from the cron editor so that the lists showing
// schedules do not load the editor's croner. Each schedule is read once per language: a list
// shows the same few schedules on many rows, and is drawn again on every refresh.
import cronstrue from "cronstrue";
import "cronstrue/locales/fr";
import "cronstrue/locales/pt_BR";

/** The shorthands Kubernetes accepts, as the five fields they stand for. */
export const ALIASES: Record<string, string> = {
  "@yearly": "0 0 1 1 *",
  "@annually": "0 0 1 1 *",
  "@monthly": "0 0 1 * *",
  "@weekly": "0 0 * * 0",
  "@daily": "0 0 * * *",
  "@midnight": "0 0 * * *",
  "@hourly": "0 * * * *",
};

const read = new Map<string, string | null>();

/** `cron` in words in `language`, or null when it cannot be read. */
export function cronInWords(cron: string, language: string): string | null {
  const key = `${language} ${cron}`;
  const known = read.get(key);
  if (known !== undefined) return known;
  const pattern = ALIASES[cron.trim()] ?? cron.trim();
  let words: string | null;
  try {
    words = cronstrue.toString(pattern, { locale: language.replace("-", "_"), use24HourTimeFormat: true, throwExceptionOnParseError: true });
  } catch {
    words = null;
  }
  if (read.size > 1_000) read.clear();
  read.set(key, words);
  return words;
}
