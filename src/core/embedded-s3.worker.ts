// Worker thread of the embedded S3 server (src/core/object-store.ts): s3rver with src/core/s3rver-extension.ts
// on 127.0.0.1, in its own thread so that its hashing and file I/O do not share the server's event loop.
// Messages: → { port } once listening; ← 'close' → 'closed' once the port is free, then the thread ends.
import { parentPort, workerData } from 'node:worker_threads';
import { startEmbeddedS3 } from './s3rver-extension.ts';

const port = parentPort;
if (!port) throw new Error('embedded-s3.worker.ts runs as a worker thread');
const { directory } = workerData as { directory: string };
const server = await startEmbeddedS3(directory);
port.on('message', (message: unknown) => {
  if (message !== 'close') return;
  void server.close().finally(() => {
    port.postMessage('closed');
    port.close();
  });
});
port.postMessage({ port: server.port });
