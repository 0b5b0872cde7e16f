import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import SSHConfig from 'ssh-config';
import type { Project } from '../../../src/core/project.js';
import { knownHostsFile, removeProviderAliases, sshConfigDir, writeProviderAliases } from '../../../src/sshconfig/index.js';
import { scanConfig } from '../../../src/sshconfig/user-config.js';
import { corpusCases, host, installCase, snapshot, sshG, sshGText, tempProject } from '../../fixtures/sshconfig.js';

/** What each case should give beyond the rule (aliases work, the rest of the file is untouched). */
const expected: Record<string, { clashes?: string[]; hasInclude?: boolean; includeNotAtTop?: boolean }> = {
  '06-include-config-d.config': { clashes: ['cpu-local1'] },
  '13-has-pcc-include.config': { hasInclude: true },
  '14-pcc-include-not-at-top.config': { hasInclude: true, includeNotAtTop: true },
  '15-pcc-include-quoted-equals.config': { hasInclude: true },
  '19-user-defines-local1.config': { clashes: ['local1'] },
  '20-match-originalhost-clash.config': { clashes: ['cpu-local2'] },
};

const hosts = [
  host('local1', { address: '127.31.0.1' }),
  host('local2', { address: '127.31.0.2', port: 2222, user: 'admin' }),
];
const aliases = ['local1', 'local-local1', 'cpu-local1', 'local2', 'local-local2', 'cpu-local2'];

let dispose: (() => void) | undefined;
afterEach(() => dispose?.());

function setup(name: string): { project: Project; original: Buffer; config: string } {
  const t = tempProject();
  dispose = t.dispose;
  const original = installCase(t.project, name);
  return { project: t.project, original, config: path.join(t.project.sshDir, 'config') };
}

/** The user's own names plus one nobody defines: what must resolve the same before and after. */
function userNames(original: Buffer): string[] {
  const { names } = scanConfig(SSHConfig.parse(original.toString('utf8')));
  return [...new Set([...names.filter((n) => !aliases.includes(n)), 'unrelated.example', ...aliases])];
}

describe('the ~/.ssh/config corpus', () => {
  it('has at least 20 cases', () => {
    expect(corpusCases().length).toBeGreaterThanOrEqual(20);
  });

  for (const name of corpusCases()) {
    const want = expected[name] ?? {};
    it(name, async () => {
      const { project, original, config } = setup(name);
      const before = new Map(userNames(original).map((n) => [n, sshGText(project, n)]));
      const home = snapshot(project.home);

      const first = await writeProviderAliases(project, 'local', hosts);
      const added = readFileSync(config);
      if (want.hasInclude) {
        expect(added.equals(original)).toBe(true);
      } else {
        const line = `Include ${sshConfigDir(project)}/*.conf`;
        const eol = original.includes('\r\n') ? '\r\n' : '\n';
        expect(added.subarray(0, line.length + eol.length).toString()).toBe(line + eol);
        expect(added.subarray(line.length + eol.length).equals(original)).toBe(true);
      }
      expect([...first.clashes].sort()).toEqual((want.clashes ?? []).sort());
      expect([...first.aliases].sort()).toEqual(aliases.filter((a) => !want.clashes?.includes(a)).sort());
      expect(first.warnings.some((w) => w.includes('move it to the top'))).toBe(Boolean(want.includeNotAtTop));

      // Idempotent: a second run changes no byte.
      const again = await writeProviderAliases(project, 'local', hosts);
      expect(readFileSync(config).equals(added)).toBe(true);
      expect(again.aliases).toEqual(first.aliases);

      // The user's own names resolve exactly as before, clashing aliases included.
      for (const [n, text] of before) {
        if (first.aliases.includes(n) && !want.includeNotAtTop) continue;
        expect(sshGText(project, n), `ssh -G ${n}`).toBe(text);
      }
      // pcc's aliases resolve to pcc's entries, whatever `Host *` the user has.
      if (!want.includeNotAtTop) {
        for (const alias of first.aliases) {
          const h = alias.endsWith('1') ? hosts[0]! : hosts[1]!;
          const g = sshG(project, alias);
          expect(g.get('hostname'), alias).toEqual([h.address]);
          expect(g.get('port')).toEqual([String(h.port)]);
          expect(g.get('user')).toEqual([h.user]);
          expect(g.get('identityfile')?.[0]).toBe(path.join(project.home, '.ssh/pcc_ed25519'));
          expect(g.get('stricthostkeychecking')).toEqual(['true']);
          expect(g.get('userknownhostsfile')).toEqual([knownHostsFile(project)]);
          expect(g.get('hostkeyalias')).toEqual([h.name]);
        }
      }

      // Removing the last provider gives back the home exactly as it was.
      await removeProviderAliases(project, 'local');
      expect(snapshot(project.home)).toEqual(home);
    });
  }
});
