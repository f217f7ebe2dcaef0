import { DomainError } from '../../core/errors.ts';

/** The longest `error` a run records, in UTF-16 units (the sandbox bounds it first; this is the host's bound). */
export const maxRecordedErrorChars = 8 * 1024 + 64;

const truncatedMark = '… (truncated)';
const loneSurrogate = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;
const wellFormed = (s: string) => s.replace(loneSurrogate, '\uFFFD');

/**
 * An error text as a run records it: bounded, NUL and the other control characters except newline and tab
 * escaped as `\uXXXX` (PostgreSQL refuses U+0000 in text), lone surrogates replaced with U+FFFD. Whatever the
 * untrusted script threw, the result is storable.
 */
export function recordableError(text: string): string {
  let cut = text.length > maxRecordedErrorChars;
  let bounded = cut ? text.slice(0, maxRecordedErrorChars) : text;
  bounded = bounded.replace(
    // biome-ignore lint/suspicious/noControlCharactersInRegex: these are exactly the characters escaped here
    /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
  if (bounded.length > maxRecordedErrorChars) {
    cut = true;
    // Never in the middle of an escape.
    bounded = bounded.slice(0, maxRecordedErrorChars).replace(/\\u[0-9a-f]{0,3}$/, '');
  }
  // A cut in the middle of a surrogate pair leaves a lone high surrogate: replaced like any other.
  bounded = wellFormed(bounded);
  return cut && !bounded.endsWith(truncatedMark) ? `${bounded}${truncatedMark}` : bounded;
}

/**
 * What a run records when the host failed it (storing its heap, flushing its tree): the sentence, plus a domain
 * error's own message (limits, unknown snapshots). Anything else (storage, database, driver errors) may carry
 * paths, SQL or Prisma text, so only the sentence is recorded; the caller logs the details.
 */
export function hostFailure(sentence: string, err: unknown): string {
  return err instanceof DomainError ? recordableError(`${sentence}: ${err.message}`) : sentence;
}
