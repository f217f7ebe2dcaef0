import { setTimeout as sleep } from 'node:timers/promises';
import type { Principal } from '../../core/auth/principal.ts';
import type { Services } from '../../core/services.ts';
import { maxChunkBytes, OutputReader } from './output.ts';
import { ExecutionNotFoundError } from './runtime.errors.ts';
import { terminalStatuses } from './runtime.service.ts';

export interface OutputStreamEvent {
  executionId: string;
  data: string;
  startByte: number;
  endByte: number;
  startLine: number;
  endLine: number;
  status: string;
  done: boolean;
}

/** How often a stream re-reads the database when no live event arrived (covers events lost across instances). */
const pollMs = 1_000;

type StreamServices = Pick<Services, 'prisma' | 'pubsub' | 'runtime'>;

/**
 * Output from `fromByte`: replays stored chunks, then follows live chunk events (published by the owning instance,
 * through Redis when configured). The cursor is a byte offset, so duplicates are skipped and a gap (a live event
 * ahead of the cursor, or a quiet second) is filled from the database; the stream ends after the terminal status
 * with every stored byte delivered.
 */
export async function executionOutputStream(
  services: StreamServices,
  principal: Principal,
  id: string,
  fromByte: number,
): Promise<AsyncGenerator<OutputStreamEvent>> {
  await mustExist(services, principal, id);
  return outputEvents(services, principal, id, fromByte);
}

/** Unknown (or another tenant's) executions fail the subscription at setup (the GraphQL layer maps the error). */
async function mustExist(services: StreamServices, principal: Principal, id: string): Promise<void> {
  if (!(await services.runtime.get(principal, id))) {
    throw new ExecutionNotFoundError(id);
  }
}

async function* outputEvents(
  services: StreamServices,
  principal: Principal,
  id: string,
  fromByte: number,
): AsyncGenerator<OutputStreamEvent> {
  const live = services.pubsub.subscribe('runtime.executionOutput', id)[Symbol.asyncIterator]();
  let next = live.next();
  let cursor = fromByte;
  try {
    for (;;) {
      const row = await services.runtime.get(principal, id);
      if (!row) return;
      const total = Number(row.outputBytes);
      const reader = new OutputReader(services.prisma, id, total, Number(row.outputLines));
      while (cursor < total) {
        const page = await reader.page({ byteOffset: cursor, byteLimit: maxChunkBytes });
        if (page.endByte <= cursor) break;
        cursor = page.endByte;
        yield {
          executionId: id,
          data: page.data,
          startByte: page.startByte,
          endByte: page.endByte,
          startLine: page.startLine,
          endLine: page.endLine,
          status: row.status,
          done: false,
        };
      }
      if (terminalStatuses.has(row.status)) {
        const lines = Number(row.outputLines);
        yield {
          executionId: id,
          data: '',
          startByte: total,
          endByte: total,
          startLine: lines,
          endLine: lines,
          status: row.status,
          done: true,
        };
        return;
      }
      // Follow live events while they continue exactly at the cursor; anything else re-reads the database.
      for (;;) {
        const event = await Promise.race([next, sleep(pollMs).then(() => undefined)]);
        if (event === undefined) break;
        next = live.next();
        if (event.done) return;
        const chunk = event.value.chunk;
        if (!chunk) break;
        if (chunk.endByte <= cursor) continue;
        if (chunk.startByte !== cursor) break;
        cursor = chunk.endByte;
        yield { executionId: id, ...chunk, status: 'running', done: false };
      }
    }
  } finally {
    await live.return?.();
  }
}

/** The execution now, then once more when it is terminal (live event or a periodic re-read). */
export async function executionStatusStream(
  services: StreamServices,
  principal: Principal,
  id: string,
): Promise<AsyncGenerator<{ id: string; status: string }>> {
  await mustExist(services, principal, id);
  return statusEvents(services, principal, id);
}

async function* statusEvents(
  services: StreamServices,
  principal: Principal,
  id: string,
): AsyncGenerator<{ id: string; status: string }> {
  const live = services.pubsub.subscribe('runtime.executionStatusChanged', id)[Symbol.asyncIterator]();
  let next = live.next();
  try {
    const first = await services.runtime.get(principal, id);
    if (!first) return;
    yield { id, status: first.status };
    if (terminalStatuses.has(first.status)) return;
    for (;;) {
      const event = await Promise.race([next, sleep(pollMs).then(() => undefined)]);
      if (event !== undefined) {
        if (event.done) return;
        next = live.next();
      }
      const row = await services.runtime.get(principal, id);
      if (!row) return;
      if (terminalStatuses.has(row.status)) {
        yield { id, status: row.status };
        return;
      }
    }
  } finally {
    await live.return?.();
  }
}
