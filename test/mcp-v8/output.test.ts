import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../kit/app.ts';
import { contractValidator } from '../kit/contract.ts';
import { mcpV8Client } from '../kit/mcp-v8.ts';

let t: TestApp;
const contract = await contractValidator('mcp_v8');
const { call, exec, waitDone, run } = mcpV8Client(
  () => t,
  () => t.adminKey,
);
const maxOutput = 200_000;

beforeAll(async () => {
  t = await startTestApp({ ATRIUM_RUNTIME_MAX_OUTPUT_BYTES: String(maxOutput) });
});
afterAll(async () => {
  await t?.close();
});

const page = async (id: string, query: string) => {
  const res = await call('GET', `/api/executions/${id}/output?${query}`, { contract });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body;
};

/** The expected stream for the script below: console formatting per upstream (prefixes, JSON, trailing \n). */
const script = `
console.log("a", 1, {b: [2]}, null, undefined);
console.info("héllo");
console.warn("日本語");
console.error("😀x");
console.debug("");
console.log("last");
`;
const expected = 'a 1 {"b":[2]} null undefined\n[INFO] héllo\n[WARN] 日本語\n[ERROR] 😀x\n\nlast\n';
const expectedBytes = Buffer.from(expected);

describe('console capture and line pagination (0-based, exclusive ends)', () => {
  let id: string;
  beforeAll(async () => {
    id = await exec(script);
    expect(await waitDone(id)).toMatchObject({ status: 'completed' });
  });

  it('formats console calls like upstream and counts bytes as UTF-8', async () => {
    const all = await page(id, '');
    expect(all).toEqual({
      execution_id: id,
      data: expected,
      start_line: 0,
      end_line: 6,
      next_line_offset: 6,
      total_lines: 6,
      start_byte: 0,
      end_byte: expectedBytes.length,
      next_byte_offset: expectedBytes.length,
      total_bytes: expectedBytes.length,
      has_more: false,
      status: 'completed',
    });
  });

  it('pages by lines with exact slices and consistent cursors', async () => {
    const p = await page(id, 'line_offset=1&line_limit=2');
    expect(p.data).toBe('[INFO] héllo\n[WARN] 日本語\n');
    const startByte = Buffer.byteLength('a 1 {"b":[2]} null undefined\n');
    expect(p).toMatchObject({ start_line: 1, end_line: 3, next_line_offset: 3, has_more: true, start_byte: startByte });
    expect(p.end_byte - p.start_byte).toBe(Buffer.byteLength(p.data));
    expect(p.next_byte_offset).toBe(p.end_byte);
  });

  it('answers offsets past the end with an empty page, and limit 0 with an unchanged cursor', async () => {
    const past = await page(id, 'line_offset=99');
    expect(past).toMatchObject({
      data: '',
      start_line: 6,
      end_line: 6,
      has_more: false,
      start_byte: expectedBytes.length,
    });
    const zero = await page(id, 'line_offset=2&line_limit=0');
    expect(zero).toMatchObject({ data: '', start_line: 2, end_line: 2, next_line_offset: 2, has_more: true });
    const bytePast = await page(id, 'byte_offset=100000');
    expect(bytePast).toMatchObject({
      data: '',
      start_byte: expectedBytes.length,
      end_byte: expectedBytes.length,
      has_more: false,
    });
    const byteZero = await page(id, 'byte_offset=3&byte_limit=0');
    expect(byteZero).toMatchObject({ data: '', start_byte: 3, end_byte: 3, next_byte_offset: 3, has_more: true });
  });

  it('pages by bytes without ever splitting a character, for every window size', async () => {
    for (const limit of [1, 4]) {
      let cursor = 0;
      const parts: string[] = [];
      for (let guard = 0; guard < 500; guard++) {
        const p = await page(id, `byte_offset=${cursor}&byte_limit=${limit}`);
        expect(p.data).not.toContain('\uFFFD');
        expect(Buffer.byteLength(p.data)).toBe(p.end_byte - p.start_byte);
        expect(p.start_line).toBe(expectedBytes.subarray(0, p.start_byte).toString().split('\n').length - 1);
        expect(p.end_line).toBe(expectedBytes.subarray(0, p.end_byte).toString().split('\n').length - 1);
        parts.push(p.data);
        cursor = p.next_byte_offset;
        if (!p.has_more) break;
      }
      expect(parts.join('')).toBe(expected);
    }
  });

  it('moves a byte offset inside a character forward to the next character', async () => {
    const emoji = expected.indexOf('😀');
    const offset = Buffer.byteLength(expected.slice(0, emoji)) + 1;
    const p = await page(id, `byte_offset=${offset}&byte_limit=10`);
    expect(p.start_byte).toBe(offset + 3);
    expect(p.data.startsWith('x')).toBe(true);
  });
});

describe('large and growing output', () => {
  it('stores output over many chunks and pages it back exactly', async () => {
    const info = await run('for (let i = 0; i < 3000; i++) console.log("line " + i + " " + "é".repeat(20)); "ok"');
    expect(info.status).toBe('completed');
    const lines: string[] = [];
    let cursor = 0;
    for (;;) {
      const p = await page(id0(info), `line_offset=${cursor}&line_limit=700`);
      lines.push(p.data);
      cursor = p.next_line_offset;
      if (!p.has_more) break;
    }
    const text = lines.join('');
    expect(text.split('\n').length - 1).toBe(3000);
    expect(text.startsWith('line 0 ')).toBe(true);
    expect(text.endsWith(`line 2999 ${'é'.repeat(20)}\n`)).toBe(true);
    const last = await page(id0(info), 'byte_offset=0&byte_limit=1');
    expect(last.total_bytes).toBe(Buffer.byteLength(text));
  });

  it('keeps cursors consistent while output is still growing', async () => {
    const id = await exec(
      'for (let i = 0; i < 40; i++) { console.log("tick " + i); const end = Date.now() + 10; while (Date.now() < end) {} }',
    );
    let cursor = 0;
    let text = '';
    let sawRunning = false;
    for (let guard = 0; guard < 2000; guard++) {
      const p = await page(id, `byte_offset=${cursor}&byte_limit=64`);
      if (p.status === 'running') sawRunning = true;
      expect(p.next_byte_offset).toBe(p.end_byte);
      expect(p.has_more).toBe(p.end_byte < p.total_bytes);
      text += p.data;
      cursor = p.next_byte_offset;
      if (p.status !== 'running' && !p.has_more) break;
    }
    expect(sawRunning).toBe(true);
    expect(text).toBe(Array.from({ length: 40 }, (_, i) => `tick ${i}\n`).join(''));
  });

  it('stops capturing at the output cap with a final truncation line', async () => {
    const info = await run('for (let i = 0; i < 100000; i++) console.log("x".repeat(99)); "done"');
    expect(info).toMatchObject({ status: 'completed', result: '"done"' });
    const p = await page(id0(info), 'line_offset=0&line_limit=0');
    expect(p.total_bytes).toBeLessThanOrEqual(maxOutput + 100);
    const tail = await page(id0(info), `line_offset=${p.total_lines - 1}`);
    expect(tail.data).toBe('[WARN] output truncated\n');
  });
});

const id0 = (info: { execution_id: string }) => info.execution_id;
