// Records the scripts pcc sends each host, round trip by round trip, by
// running the playbook through pcc's own runner with the hosts' shell
// sessions wrapped. The floor (floor.mjs) replays them: the same commands
// over the same connections and round trips, with no planning at all.
import { writeFileSync } from 'node:fs';
import { fileFactMemory } from '../../src/playbook/fact-memory.js';
import { loadPlaybook } from '../../src/playbook/load.js';
import { runPlaybook } from '../../src/playbook/run.js';
import { Connection } from '../../src/remote/connection.js';
import type { HostRecord } from '../../src/state/schema.js';

export interface ReplayHost {
  address: string;
  port: number;
  key: string;
  scripts: string[];
}

export async function recordScripts(options: {
  playbook: string;
  hosts: { name: string; address: string; port: number; key: string }[];
  vars: Record<string, string>;
  cacheDir: string;
  factsDir: string;
  out: string;
}): Promise<void> {
  const scripts = new Map<string, string[]>();
  const records: HostRecord[] = options.hosts.map((h) => ({
    name: h.name,
    address: h.address,
    port: h.port,
    user: 'root',
    key: h.key,
    provider: 'static',
    groups: [],
    createdAt: new Date().toISOString(),
    meta: {},
  }));
  const connect = async (h: HostRecord): Promise<Connection> => {
    const conn = await Connection.open({ name: h.name, address: h.address, port: h.port, user: h.user, key: h.key }, { home: options.cacheDir, timeoutMs: 10_000, retries: 2 });
    const open = conn.shell.bind(conn);
    conn.shell = async (o) => {
      const shell = await open(o);
      const run = shell.run.bind(shell);
      const list = scripts.get(h.name) ?? [];
      scripts.set(h.name, list);
      shell.run = (script: string) => {
        list.push(script);
        return run(script);
      };
      return shell;
    };
    return conn;
  };
  const result = await runPlaybook(await loadPlaybook(options.playbook, { cacheDir: options.cacheDir }), records, {
    dry: false,
    concurrency: records.length,
    vars: options.vars,
    connect,
    memory: (pb, host) => fileFactMemory(options.factsDir, pb, host),
  });
  const bad = result.hosts.find((h) => h.status === 'failed' || h.status === 'unreachable');
  if (bad) throw new Error(`recording run failed on ${bad.host}: ${bad.error}`);
  const replay: ReplayHost[] = options.hosts.map((h) => ({ address: h.address, port: h.port, key: h.key, scripts: scripts.get(h.name) ?? [] }));
  writeFileSync(options.out, JSON.stringify(replay));
}
