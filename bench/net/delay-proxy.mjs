#!/usr/bin/env node
// A TCP proxy on loopback that adds a fixed delay in each direction, so that a
// round trip through it costs 2 × the one-way delay (this kernel has no netem).
//
//   node bench/net/delay-proxy.mjs --one-way-ms D HOST:PORT [HOST:PORT ...]
//
// It listens on 127.0.0.1 with one ephemeral port per target, and prints one
// JSON line, {"ports":[...]}, in the targets' order, once all are listening.
// Each direction of each connection is a delay line: every chunk is queued at
// its arrival and written, as the same chunk, at arrival + D, in order; nothing
// is merged or dropped, and the sockets run with TCP_NODELAY so the kernel does
// not hold small writes back either. An end of stream travels the same line,
// behind the data. Opening a connection costs one round trip too, as TCP's
// handshake does on a real link: the proxy connects to the target 2 × D after
// the client connected, and bytes the client sent before then leave as if
// sent then (a real client could not send before its connect returned).
//
// Reading "stats" on stdin, it prints one JSON line of counters since the last
// "stats" and resets them: connections, chunks and bytes each way, turns (a
// chunk from the server that answers data from the client: the round trips a
// connection made on the wire), and how late the timers forwarded chunks
// (ms past arrival + D). It exits when stdin closes or on SIGTERM.
import net from 'node:net';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';

const argv = process.argv.slice(2);
const at = argv.indexOf('--one-way-ms');
if (at < 0) {
  console.error('usage: delay-proxy.mjs --one-way-ms D HOST:PORT [HOST:PORT ...]');
  process.exit(2);
}
const delay = Number(argv[at + 1]);
const targets = argv.filter((_, i) => i !== at && i !== at + 1).map((t) => {
  const i = t.lastIndexOf(':');
  return { host: t.slice(0, i), port: Number(t.slice(i + 1)) };
});

const fresh = () => ({ connections: 0, chunksUp: 0, chunksDown: 0, bytesUp: 0, bytesDown: 0, turns: 0, lateMsSum: 0, lateMsMax: 0, forwarded: 0 });
let stats = fresh();

/** One direction of one connection: chunks leave in arrival order, each at its arrival + delay. */
class DelayLine {
  constructor(source, dest, notBefore = 0) {
    this.source = source;
    this.notBefore = notBefore; // data sent before the connection would be up leaves as if sent then
    this.dest = dest;
    this.queue = [];
    this.timer = undefined;
    this.open = false; // the destination can take data
  }
  push(chunk) {
    this.queue.push({ due: Math.max(performance.now(), this.notBefore) + delay, chunk });
    if (this.timer === undefined) this.schedule();
  }
  ready() {
    this.open = true;
    this.schedule();
  }
  schedule() {
    if (!this.open || this.queue.length === 0) return;
    const wait = this.queue[0].due - performance.now();
    if (wait <= 0) return this.flush();
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.flush();
    }, wait);
  }
  flush() {
    const now = performance.now();
    while (this.queue.length && this.queue[0].due <= now) {
      const { due, chunk } = this.queue.shift();
      const late = now - due;
      stats.lateMsSum += late;
      stats.lateMsMax = Math.max(stats.lateMsMax, late);
      stats.forwarded++;
      if (chunk === null) {
        this.dest.end();
        continue;
      }
      if (!this.dest.write(chunk)) {
        // Back-pressure: stop reading the source until the destination drains.
        this.source.pause();
        this.dest.once('drain', () => this.source.resume());
      }
    }
    this.schedule();
  }
  stop() {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.queue = [];
  }
}

function serve(target) {
  // allowHalfOpen: an end from one side must not end the other side's writes
  // before the data still in the delay line has gone out.
  const server = net.createServer({ allowHalfOpen: true }, (client) => {
    stats.connections++;
    client.setNoDelay(true);
    const upstream = new net.Socket({ allowHalfOpen: true });
    upstream.setNoDelay(true);
    const up = new DelayLine(client, upstream, performance.now() + 2 * delay);
    const down = new DelayLine(upstream, client);
    down.ready();
    let last = 'down';
    client.on('data', (chunk) => {
      stats.chunksUp++;
      stats.bytesUp += chunk.length;
      last = 'up';
      up.push(chunk);
    });
    client.on('end', () => up.push(null));
    upstream.on('data', (chunk) => {
      stats.chunksDown++;
      stats.bytesDown += chunk.length;
      if (last === 'up') stats.turns++;
      last = 'down';
      down.push(chunk);
    });
    upstream.on('end', () => down.push(null));
    const close = () => {
      up.stop();
      down.stop();
      client.destroy();
      upstream.destroy();
    };
    client.on('error', close);
    upstream.on('error', close);
    client.on('close', () => {
      // A client that closed without an end (reset) takes the upstream with it; otherwise the end travels the delay line.
      if (!client.readableEnded) close();
    });
    upstream.on('close', () => {
      if (!upstream.readableEnded) close();
    });
    // The handshake's round trip.
    setTimeout(() => {
      if (client.destroyed) return;
      upstream.connect(target.port, target.host, () => up.ready());
    }, 2 * delay);
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve(server));
  });
}

const servers = await Promise.all(targets.map(serve));
process.stdout.write(JSON.stringify({ ports: servers.map((s) => s.address().port) }) + '\n');

createInterface({ input: process.stdin })
  .on('line', (line) => {
    if (line.trim() !== 'stats') return;
    const s = stats;
    stats = fresh();
    process.stdout.write(JSON.stringify({ ...s, lateMsMean: s.forwarded ? s.lateMsSum / s.forwarded : 0 }) + '\n');
  })
  .on('close', () => process.exit(0));
process.on('SIGTERM', () => process.exit(0));
