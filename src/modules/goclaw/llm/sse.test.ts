import { describe, expect, it } from 'vitest';
import { parseSse } from './http.ts';

async function collect(parts: string[]) {
  async function* body() {
    for (const p of parts) yield Buffer.from(p, 'utf8');
  }
  const out = [];
  for await (const ev of parseSse(body())) out.push(ev);
  return out;
}

describe('parseSse', () => {
  it('splits events on blank lines, across chunk boundaries, with LF, CRLF and CR', async () => {
    expect(await collect(['data: a\n\nda', 'ta: b\r', '\n\r\nevent: x\rdata: c\r\r'])).toEqual([
      { event: 'message', data: 'a' },
      { event: 'message', data: 'b' },
      { event: 'x', data: 'c' },
    ]);
  });

  it('joins multi-line data, skips comments and field-less lines, flushes a last event without a blank line', async () => {
    expect(await collect([': keep-alive\n', 'data: one\ndata:two\nretry: 5\n\n', 'data: tail'])).toEqual([
      { event: 'message', data: 'one\ntwo' },
      { event: 'message', data: 'tail' },
    ]);
  });

  it('decodes UTF-8 split inside a character', async () => {
    const bytes = Buffer.from('data: héllo\n\n', 'utf8');
    async function* body() {
      yield bytes.subarray(0, 8);
      yield bytes.subarray(8);
    }
    const out = [];
    for await (const ev of parseSse(body())) out.push(ev.data);
    expect(out).toEqual(['héllo']);
  });
});
