/** Live runtime events. Per-execution channels; payloads are plain JSON (they cross Redis). */
export interface OutputChunkEvent {
  /** Text of bytes [startByte, endByte); lines [startLine, endLine) are complete within it. */
  data: string;
  startByte: number;
  endByte: number;
  startLine: number;
  endLine: number;
}

declare module '../../core/pubsub.ts' {
  interface TopicMap {
    /** A chunk was stored (`chunk`), or the run reached a terminal status (`done`, after its last chunk). */
    'runtime.executionOutput': [
      executionId: string,
      payload: { chunk: OutputChunkEvent | null; done: { status: string; totalBytes: number } | null },
    ];
    'runtime.executionStatusChanged': [executionId: string, payload: { status: string }];
    /** Cancel requests routed to the instance that owns the run (its worker pool holds the isolate). */
    'runtime.cancelRequested': [instanceId: string, payload: { executionId: string }];
  }
}

export const runtimeTopics = [
  'runtime.executionOutput',
  'runtime.executionStatusChanged',
  'runtime.cancelRequested',
] as const;
