import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { acquireOn } from '../../../src/fleet/lifecycle.js';
import { readLocal } from '../../../src/providers/local/bookkeeping.js';
import { localProvider } from '../../../src/providers/local/index.js';
import { readsSshBanner } from '../../../src/providers/local/machine.js';
import type { ProviderContext } from '../../../src/providers/types.js';
import { localContext } from '../../fixtures/local-hosts.js';
import { linkList, netnsList } from '../../fixtures/local-machine.js';

/**
 * Issue 19's isolation finding on real nspawn hosts: two projects with
 * default settings (no LOCAL_SUBNET) on one machine, acquiring at the same
 * time, then one destroyed while the other grows. Neither touches the other.
 */
describe('two local projects on one machine', () => {
  const dirs: string[] = [];
  const ctxs: ProviderContext[] = [];
  const project = (): ProviderContext => {
    const dir = mkdtempSync(path.join(tmpdir(), 'pcc-local-two-'));
    dirs.push(dir);
    // The same folder name in both: only the id tells them apart.
    mkdirSync(path.join(dir, 'exp'));
    mkdirSync(path.join(dir, 'home'));
    const env: Record<string, string> = { LOCAL_SUBNET: '' };
    const ctx = localContext({ projectDir: path.join(dir, 'exp'), home: path.join(dir, 'home'), env });
    ctxs.push(ctx);
    return ctx;
  };

  afterAll(async () => {
    for (const ctx of ctxs) await localProvider.destroy(ctx).catch(() => undefined);
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it('default settings, acquiring at once: two subnets, two bridges, names carrying each id, both hosts answer', { timeout: 600_000 }, async () => {
    const a = project();
    const b = project();
    expect(a.settings.origin.LOCAL_SUBNET).toBeUndefined();
    const [ha, hb] = await Promise.all([
      acquireOn(localProvider, { type: 'cpu', count: 1, wait: true }, a),
      acquireOn(localProvider, { type: 'cpu', count: 1, wait: true }, b),
    ]);
    const la = readLocal(await a.state.read())!;
    const lb = readLocal(await b.state.read())!;
    expect(la.subnet).not.toBe(lb.subnet);
    expect(la.bridge).toBe(`pcc-${a.project.id.slice(0, 10)}`);
    expect(lb.bridge).toBe(`pcc-${b.project.id.slice(0, 10)}`);
    for (const [ctx, l] of [[a, la], [b, lb]] as const) {
      for (const m of Object.values(l.machines)) {
        expect(m.netns).toBe(`pcc-${ctx.project.id}-local1`);
        expect(m.veth.startsWith(`v${ctx.project.id.slice(0, 6)}`)).toBe(true);
        expect(m.root).toContain(ctx.project.id);
        for (const cg of m.cgroups) expect(cg).toContain(ctx.project.id);
      }
    }
    for (const h of [...ha.hosts, ...hb.hosts]) expect(await readsSshBanner(h.address, 22, 2000)).toBe(true);
  });

  it("destroying one while the other acquires leaves the other's hosts running", { timeout: 600_000 }, async () => {
    const [a, b] = ctxs as [ProviderContext, ProviderContext];
    const bBefore = readLocal(await b.state.read())!;
    const [, grown] = await Promise.all([localProvider.destroy(a), acquireOn(localProvider, { type: 'cpu', count: 2, wait: true }, b)]);
    expect(grown.hosts.map((h) => h.name).sort()).toEqual(['local1', 'local2']);
    const bAfter = readLocal(await b.state.read())!;
    expect(bAfter.machines.local1!.pid).toBe(bBefore.machines.local1!.pid);
    for (const h of grown.hosts) expect(await readsSshBanner(h.address, 22, 2000)).toBe(true);
    expect(netnsList().filter((n) => n.includes(a.project.id))).toEqual([]);
    expect(linkList()).toContain(bAfter.bridge);
    // Its two hosts and its NAT router.
    expect(netnsList().filter((n) => n.includes(b.project.id)).sort()).toEqual([`pcc-${b.project.id}-local1`, `pcc-${b.project.id}-local2`, `pcc-${b.project.id}-router`]);
  });
});
