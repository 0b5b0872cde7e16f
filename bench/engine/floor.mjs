// The floor: per host, one ssh2 connection and one `sh -s` session that
// replays the scripts pcc sent that host (record-scripts.ts), one round trip
// after another, in a fresh node process. The same commands over the same
// round trips, with nothing else: as little as any tool built on ssh2 could
// do for the same work.
import { readFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import ssh2 from 'ssh2';

const hosts = JSON.parse(readFileSync(process.argv[2], 'utf8'));

function replay(conn, scripts) {
  return new Promise((resolve, reject) => {
    conn.exec('sh -s', (err, stream) => {
      if (err) return reject(err);
      let out = '';
      let done = 0;
      const next = () => (done === scripts.length ? stream.end() : stream.write(`(\n${scripts[done]}\n) </dev/null 2>&1; echo "@@floor-end ${done} $?"\n`));
      stream
        .on('data', (d) => {
          out += d;
          const end = out.indexOf(`@@floor-end ${done} `);
          if (end >= 0 && out.indexOf('\n', end) >= 0) {
            out = out.slice(out.indexOf('\n', end) + 1);
            done++;
            next();
          }
        })
        .stderr.on('data', () => {});
      stream.on('close', () => (done === scripts.length ? resolve() : reject(new Error('session closed early'))));
      next();
    });
  });
}

await Promise.all(
  hosts.map(
    (h) =>
      new Promise((resolve, reject) => {
        const conn = new ssh2.Client();
        conn
          .on('ready', async () => {
            try {
              await replay(conn, h.scripts);
              conn.end();
              resolve();
            } catch (e) {
              reject(e);
            }
          })
          .on('error', reject)
          // As pcc connects: TCP_NODELAY from the first byte (Nagle holds the
          // handshake's small writes for the peer's delayed ACK), the key straight away.
          .connect({
            sock: createConnection({ host: h.address, port: h.port, noDelay: true }),
            username: 'root',
            privateKey: readFileSync(h.key),
            authHandler: ['publickey'],
          });
      }),
  ),
);
