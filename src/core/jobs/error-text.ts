/** Longest `last_error` we store, in characters. */
export const maxErrorLength = 1000;

// An absolute path (POSIX or Windows, optionally a file:// URL) standing on its own, with a :line:col tail.
const pathPattern = /(^|[\s('"`=])(?:file:\/\/)?(?:\/|[A-Za-z]:\\)[^\s'"`)]*/g;

/**
 * The text of a failure that may be shown to users: the message only (never the stack), lines that look
 * like stack frames dropped, absolute file paths replaced by `<path>`, whitespace collapsed, bounded.
 * The full error, stack included, goes to the server log only.
 */
export function errorText(e: unknown): string {
  const raw = e instanceof Error ? e.message || e.name : typeof e === 'string' ? e : safeJson(e);
  const text = raw
    .split('\n')
    .filter((line) => !/^\s*at\s/.test(line))
    .join(' ')
    .replace(pathPattern, '$1<path>')
    .replace(/\s+/g, ' ')
    .trim();
  const bounded = text === '' ? 'job failed' : text;
  return bounded.length > maxErrorLength ? `${bounded.slice(0, maxErrorLength - 1)}…` : bounded;
}

function safeJson(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}
