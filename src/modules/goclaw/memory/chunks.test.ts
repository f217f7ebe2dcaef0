import { describe, expect, it } from 'vitest';
import { chunkByLines, ftsQuery, mergeCandidates } from './chunks.ts';

describe('chunkByLines', () => {
  it('keeps line ranges and splits at the line and size caps', () => {
    const text = Array.from({ length: 7 }, (_, i) => `line ${i + 1}`).join('\n');
    expect(chunkByLines(text, 3, 1000)).toEqual([
      { startLine: 1, endLine: 3, text: 'line 1\nline 2\nline 3' },
      { startLine: 4, endLine: 6, text: 'line 4\nline 5\nline 6' },
      { startLine: 7, endLine: 7, text: 'line 7' },
    ]);
    expect(chunkByLines('aaaa\nbbbb\ncccc', 10, 9).map((c) => [c.startLine, c.endLine])).toEqual([
      [1, 2],
      [3, 3],
    ]);
  });

  it('cuts an overlong line into pieces on its own line number and drops blank chunks', () => {
    const chunks = chunkByLines(`short\n${'x'.repeat(25)}\n\n   \nend`, 2, 10);
    expect(chunks).toEqual([
      { startLine: 1, endLine: 1, text: 'short' },
      { startLine: 2, endLine: 2, text: 'xxxxxxxxxx' },
      { startLine: 2, endLine: 2, text: 'xxxxxxxxxx' },
      { startLine: 2, endLine: 2, text: 'xxxxx' },
      { startLine: 5, endLine: 5, text: 'end' },
    ]);
    expect(chunkByLines('\n\n  \n')).toEqual([]);
  });
});

describe('ftsQuery', () => {
  it('ORs quoted lowercase words and drops punctuation, quotes and operators', () => {
    expect(ftsQuery("Deploy the DB! it's & | !x")).toBe("'deploy' | 'the' | 'db' | 'it' | 's' | 'x'");
    expect(ftsQuery('  ?!  ')).toBe('');
    expect(ftsQuery('Cơ sở dữ liệu')).toBe("'cơ' | 'sở' | 'dữ' | 'liệu'");
  });
});

describe('mergeCandidates', () => {
  it('weights vector and full text, lists the sources and applies min_score and limit', () => {
    const hits = mergeCandidates(
      [
        { id: 'a', vector: 0.9 },
        { id: 'b', vector: 0.2 },
      ],
      [
        { id: 'b', fts: 0.1 },
        { id: 'c', fts: 0.05 },
      ],
      { withVectors: true, limit: 10, minScore: 0 },
    );
    expect(hits.map((h) => [h.id, h.sources])).toEqual([
      ['a', ['vector']],
      ['b', ['vector', 'fts']],
      ['c', ['fts']],
    ]);
    expect(hits[0]?.score).toBeCloseTo(0.63);
    expect(hits[1]?.score).toBeCloseTo(0.7 * 0.2 + 0.3);
    expect(hits[2]?.score).toBeCloseTo(0.15);
    expect(mergeCandidates([{ id: 'a', vector: 0.9 }], [], { withVectors: true, limit: 10, minScore: 0.7 })).toEqual(
      [],
    );
    const ftsOnly = mergeCandidates(
      [],
      [
        { id: 'x', fts: 0.2 },
        { id: 'y', fts: 0.1 },
      ],
      {
        withVectors: false,
        limit: 1,
        minScore: 0,
      },
    );
    expect(ftsOnly).toEqual([{ id: 'x', score: 1, sources: ['fts'], vectorScore: null, ftsScore: 1 }]);
  });
});
