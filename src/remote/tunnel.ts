import { createServer, type Socket } from 'node:net';
import type { Connection } from './connection.js';

/** `ssh -L 127.0.0.1:PORT:host:port` over an open connection. */
export interface Tunnel {
  /** `127.0.0.1:PORT` on this machine. */
  readonly local: string;
  close(): Promise<void>;
}

/**
 * Listens on a free loopback port here and carries each connection to
 * `host:port` as the remote end sees it: how this machine reaches a service
 * that listens only on the controller's overlay address.
 */
export async function openTunnel(conn: Connection, host: string, port: number): Promise<Tunnel> {
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    conn.forwardOut(host, port).then(
      (channel) => {
        socket.pipe(channel).pipe(socket);
        channel.on('error', () => socket.destroy());
        socket.on('error', () => channel.destroy());
      },
      () => socket.destroy(),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  const localPort = typeof address === 'object' && address ? address.port : 0;
  return {
    local: `127.0.0.1:${localPort}`,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
