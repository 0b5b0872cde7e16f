// The floor: per host, one ssh2 connection and one `sh -s` session doing
// `roundTrips` framed exchanges, the way pcc talks to a host, in a fresh node
// process: as little as any tool built on ssh2 could do for that many round
// trips.
import { readFileSync } from 'node:fs';
import ssh2 from 'ssh2';

const [hostsFile, roundTripsArg] = process.argv.slice(2);
const hosts = JSON.parse(readFileSync(hostsFile, 'utf8'));
const roundTrips = Number(roundTripsArg);

function session(conn, exchanges) {
  return new Promise((resolve, reject) => {
    conn.exec('sh -s', (err, stream) => {
      if (err) return reject(err);
      let out = '';
      let done = 0;
      const next = () => (done === exchanges ? stream.end() : stream.write(`echo @@end${done}\n`));
      stream
        .on('data', (d) => {
          out += d;
          if (out.includes(`@@end${done}\n`)) {
            done++;
            next();
          }
        })
        .stderr.on('data', () => {});
      stream.on('close', () => (done === exchanges ? resolve() : reject(new Error('session closed early'))));
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
              await session(conn, roundTrips);
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
