import { createConnection } from 'node:net';

/** Whether a TCP connection to the URL's host and port opens within a second (port defaults by scheme). */
export function reachable(url: string): Promise<boolean> {
  const u = new URL(url);
  const defaultPort = u.protocol.startsWith('redis') ? 6379 : u.protocol.startsWith('postgres') ? 5432 : 80;
  return new Promise((resolve) => {
    const socket = createConnection({ host: u.hostname, port: Number(u.port || defaultPort) }, () => {
      socket.end();
      resolve(true);
    });
    socket.on('error', () => resolve(false));
    socket.setTimeout(1000, () => {
      socket.destroy();
      resolve(false);
    });
  });
}
