import type { PrismaClient } from '../../core/db.ts';

/** Stored chunks are at most this many bytes; byte windows look back this far for the chunk holding an offset. */
export const maxChunkBytes = 64 * 1024;

export interface OutputQuery {
  lineOffset?: number | null;
  lineLimit?: number | null;
  byteOffset?: number | null;
  byteLimit?: number | null;
}

/** One page of console output in both coordinate systems (0-based, exclusive ends), as the contract names it. */
export interface OutputPage {
  data: string;
  startLine: number;
  endLine: number;
  nextLineOffset: number;
  totalLines: number;
  startByte: number;
  endByte: number;
  nextByteOffset: number;
  totalBytes: number;
  hasMore: boolean;
}

export const defaultLineLimit = 100;
export const defaultByteLimit = 4096;

const isContinuation = (byte: number | undefined) => byte !== undefined && (byte & 0xc0) === 0x80;

/**
 * Reads pages from the append-only chunk table of one execution as of a snapshot (`totalBytes`/`totalLines`
 * read from the execution row first; chunks at or past `totalBytes` are ignored, so a page is consistent while
 * output keeps growing). Each lookup is an indexed query plus a scan of one or two chunks.
 */
export class OutputReader {
  constructor(
    private readonly prisma: PrismaClient,
    private readonly executionId: string,
    private readonly totalBytes: number,
    private readonly totalLines: number,
  ) {}

  async page(q: OutputQuery): Promise<OutputPage> {
    if (q.byteOffset !== undefined && q.byteOffset !== null) {
      return this.bytePage(q.byteOffset, q.byteLimit ?? defaultByteLimit);
    }
    return this.linePage(q.lineOffset ?? 0, q.lineLimit ?? defaultLineLimit);
  }

  private async linePage(offset: number, limit: number): Promise<OutputPage> {
    const total = this.totalLines;
    const startLine = Math.min(offset, total);
    const endLine = Math.min(startLine + limit, total);
    const startByte = await this.lineStartByte(startLine);
    const endByte = endLine === startLine ? startByte : await this.lineStartByte(endLine);
    const data = endByte > startByte ? (await this.read(startByte, endByte)).toString('utf8') : '';
    return {
      data,
      startLine,
      endLine,
      nextLineOffset: endLine,
      totalLines: total,
      startByte,
      endByte,
      nextByteOffset: endByte,
      totalBytes: this.totalBytes,
      hasMore: endLine < total,
    };
  }

  private async bytePage(offset: number, limit: number): Promise<OutputPage> {
    const total = this.totalBytes;
    let start = Math.min(offset, total);
    let end = Math.min(start + limit, total);
    if (start < total || end > start) {
      // Look at up to 3 bytes either side to find code point boundaries.
      const from = Math.max(0, start - 3);
      const to = Math.min(total, Math.max(end, start + 1) + 4);
      const window = await this.read(from, to);
      const at = (pos: number) => window[pos - from];
      // An offset inside a character moves forward to the next character.
      while (start < total && isContinuation(at(start))) start++;
      if (end < start) end = start;
      if (limit === 0) end = start;
      else {
        while (end > start && end < total && isContinuation(at(end))) end--;
        if (end === start && start < total) {
          end = start + 1;
          while (end < total && isContinuation(at(end))) end++;
        }
      }
      const data = end > start ? window.subarray(start - from, end - from).toString('utf8') : '';
      const startLine = await this.linesBefore(start);
      const endLine = end === start ? startLine : await this.linesBefore(end);
      return {
        data,
        startLine,
        endLine,
        nextLineOffset: endLine,
        totalLines: this.totalLines,
        startByte: start,
        endByte: end,
        nextByteOffset: end,
        totalBytes: total,
        hasMore: end < total,
      };
    }
    return {
      data: '',
      startLine: this.totalLines,
      endLine: this.totalLines,
      nextLineOffset: this.totalLines,
      totalLines: this.totalLines,
      startByte: total,
      endByte: total,
      nextByteOffset: total,
      totalBytes: total,
      hasMore: false,
    };
  }

  /** Byte offset where line `k` starts (just after the k-th newline); `totalBytes` past the last line. */
  private async lineStartByte(k: number): Promise<number> {
    if (k <= 0) return 0;
    const chunk = await this.prisma.outputChunk.findFirst({
      where: {
        executionId: this.executionId,
        lineStart: { lt: BigInt(k) },
        byteStart: { lt: BigInt(this.totalBytes) },
      },
      orderBy: { seq: 'desc' },
    });
    if (!chunk) return 0;
    let wanted = k - Number(chunk.lineStart);
    const bytes = Buffer.from(chunk.bytes);
    for (let i = 0; i < bytes.length; i++) {
      if (bytes[i] === 0x0a && --wanted === 0) return Number(chunk.byteStart) + i + 1;
    }
    return Number(chunk.byteStart) + bytes.length;
  }

  /** Number of newlines in bytes [0, pos). */
  private async linesBefore(pos: number): Promise<number> {
    if (pos <= 0) return 0;
    const chunk = await this.prisma.outputChunk.findFirst({
      where: { executionId: this.executionId, byteStart: { lt: BigInt(pos) } },
      orderBy: { seq: 'desc' },
    });
    if (!chunk) return 0;
    const bytes = Buffer.from(chunk.bytes);
    const upto = Math.min(bytes.length, pos - Number(chunk.byteStart));
    let lines = Number(chunk.lineStart);
    for (let i = 0; i < upto; i++) if (bytes[i] === 0x0a) lines++;
    return lines;
  }

  /** Bytes [from, to) of the stream. */
  async read(from: number, to: number): Promise<Buffer> {
    if (to <= from) return Buffer.alloc(0);
    const chunks = await this.prisma.outputChunk.findMany({
      where: {
        executionId: this.executionId,
        byteStart: { lt: BigInt(to), gt: BigInt(from - maxChunkBytes) },
      },
      orderBy: { seq: 'asc' },
    });
    const parts: Buffer[] = [];
    for (const chunk of chunks) {
      const start = Number(chunk.byteStart);
      const bytes = Buffer.from(chunk.bytes);
      const a = Math.max(from, start);
      const b = Math.min(to, start + bytes.length);
      if (b > a) parts.push(bytes.subarray(a - start, b - start));
    }
    return Buffer.concat(parts);
  }
}
