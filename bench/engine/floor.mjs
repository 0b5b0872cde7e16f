// The floor: one ssh2 connection per host doing `roundTrips` exec round trips,
// in a fresh node process, as little as any tool built on ssh2 could do.
import { readFileSync } from 'node:fs';
import ssh2 from 'ssh2';

const [hostsFile, roundTripsArg] = process.argv.slice(2);
const hosts = JSON.parse(readFileSync(hostsFile, 'utf8'));
const roundTrips = Number(roundTripsArg);

function run(conn, command) {
  return new Promise((resolve, reject) => {
    conn.exec(command, (err, stream) => {
      if (err) return reject(err);
      stream.on('data', () => {}).stderr.on('data', () => {});
      stream.on('close', resolve);
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
              for (let i = 0; i < roundTrips; i++) await run(conn, 'sh -c true');
              conn.end();
              resolve();
            } catch (e) {
              reject(e);
            }
          })
          .on('error', reject)
          .connect({ host: h.address, port: h.port, username: 'root', privateKey: readFileSync(h.key) });
      }),
  ),
);
