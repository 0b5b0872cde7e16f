import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { exitCodeForError, exitCodeForHosts, EXIT } from '../../../src/cli/exit-codes.js';
import { redactOutput } from '../../../src/cli/redact.js';
import { noteSecret } from '../../../src/core/secrets.js';
import { closest, guessCommand } from '../../../src/cli/suggest.js';
import { HostFailedError, OperationRefusedError, PccError, UnreachableError, UserInputError } from '../../../src/core/errors.js';
import { addressKnownHosts, ansibleInventory, pyinfraInventory } from '../../../src/inventory/export.js';
import { strictVars } from '../../../src/playbook/vars.js';
import { stopGroup, stoppable } from '../../../src/fleet/exec.js';
import { renderExamples } from '../../../src/settings/docs.js';
import { settingsSchema } from '../../../src/settings/schema.js';
import type { HostRecord } from '../../../src/state/schema.js';
import { repoRoot } from '../../fixtures/cli.js';

describe('config/*.example, rendered from the settings schema and docs', () => {
  it('the committed files are exactly what the schema renders (run npm run examples after a change)', () => {
    for (const [name, text] of renderExamples()) {
      expect(readFileSync(path.join(repoRoot, 'config', name), 'utf8'), `config/${name}`).toBe(text);
    }
  });

  it('every setting appears in exactly one example, with its default', () => {
    const all = [...renderExamples().values()].join('\n');
    for (const key of Object.keys(settingsSchema.shape)) {
      expect(all.match(new RegExp(`^#?${key}=`, 'gm')), key).toHaveLength(1);
    }
    expect(all).toContain('PCC_CONCURRENCY=32\n');
    expect(all).toContain('#EC2_SSH_CIDR=203.0.113.7/32\n');
  });
});

describe('one error hierarchy, one exit code table', () => {
  it('maps each kind of error to its code', () => {
    expect(exitCodeForError(new UserInputError('x'))).toBe(EXIT.error);
    expect(exitCodeForError(new PccError('x'))).toBe(1);
    expect(exitCodeForError(new OperationRefusedError('x'))).toBe(1);
    expect(exitCodeForError(new HostFailedError('x'))).toBe(3);
    expect(exitCodeForError(new UnreachableError('h1', 'x'))).toBe(4);
    expect(exitCodeForError(new Error('bug'))).toBe(1);
    expect(new UnreachableError('h1', 'x')).toBeInstanceOf(PccError);
  });

  it('a failed host outranks an unreachable one', () => {
    expect(exitCodeForHosts([{ failed: 0 }, { failed: 0, unreachable: true }])).toBe(4);
    expect(exitCodeForHosts([{ failed: 1 }, { failed: 0, unreachable: true }])).toBe(3);
    expect(exitCodeForHosts([{ failed: 0 }])).toBe(0);
  });
});

describe('did you mean', () => {
  it('suggests flags and commands, and knows other tools’ words', () => {
    expect(closest('jsno', ['json', 'project'])).toBe('json');
    expect(closest('dyr', ['dry', 'json'])).toBe('dry');
    expect(closest('zzzzzz', ['dry', 'json'])).toBeUndefined();
    expect(guessCommand('down', ['destroy', 'run'])).toMatch(/^destroy/);
    expect(guessCommand('stauts', ['status', 'setup'])).toBe('status');
  });
});

describe('--verbose redaction', () => {
  it('hides secret settings and the shapes of keys and tokens', () => {
    noteSecret('wJalrXUtnFEMI');
    const redact = redactOutput;
    const text = [
      'export X=wJalrXUtnFEMI',
      'PrivateKey = yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=',
      'docker swarm join --token SWMTKN-1-abc-def 10.0.0.1:2377',
      '-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaA\n-----END OPENSSH PRIVATE KEY-----',
    ].join('\n');
    const out = redact(text);
    expect(out).not.toMatch(/wJalr|yAnz5|SWMTKN|b3BlbnNzaA/);
    expect(out).toContain('PrivateKey = <redacted>');
  });
});

describe('host.vars is strict', () => {
  it('reading an unset variable names it; `in` asks without failing', () => {
    const vars = strictVars({ A: '1' });
    expect(vars.A).toBe('1');
    expect('B' in vars).toBe(false);
    expect(() => vars.B).toThrow(/host\.vars\.B is not set; set B=\.\.\. in config/);
    expect(JSON.stringify(vars)).toBe('{"A":"1"}');
  });
});

describe('exec wraps the command so that a signal stops its whole process group', () => {
  it('is exact', () => {
    expect(stoppable('sleep 30', '/tmp/.pcc-exec-x')).toBe(
      `trap 'trap "" TERM INT HUP; kill -TERM 0 2>/dev/null; exit 130' TERM INT HUP; echo $$ > /tmp/.pcc-exec-x; { sleep 30\n} <&0 & wait $!; s=$?; rm -f /tmp/.pcc-exec-x; exit $s`,
    );
    expect(stopGroup('/tmp/.pcc-exec-x')).toBe('[ -f /tmp/.pcc-exec-x ] && kill -TERM -- -"$(cat /tmp/.pcc-exec-x)" 2>/dev/null; rm -f /tmp/.pcc-exec-x');
  });
});

const host = (name: string, extra: Partial<HostRecord> = {}): HostRecord => ({
  name,
  address: '127.0.0.9',
  port: 2222,
  user: 'root',
  provider: 'static',
  groups: ['bench'],
  createdAt: '2026-01-01T00:00:00Z',
  meta: {},
  ...extra,
});

describe('inventory export', () => {
  // h1 has a variable, and one that tries to send Ansible elsewhere: pcc's connection wins.
  const paths = { keyOf: () => '/k/id', knownHosts: '/home/u/.ssh/config.d/pcc/known_hosts', varsOf: (h: HostRecord): Record<string, string> => (h.name === 'h1' ? { http_port: '8080', ansible_host: '192.0.2.1' } : {}) };
  it('Ansible: groups, hostvars and strict host keys by name', () => {
    const inv = ansibleInventory([host('h2'), host('h1', { groups: ['bench', 'g5.xlarge'] })], paths);
    expect(inv.bench).toEqual({ hosts: ['h1', 'h2'] });
    expect(inv.static).toEqual({ hosts: ['h1', 'h2'] });
    expect(inv.all).toEqual({ children: ['bench', 'g5.xlarge', 'static'] });
    expect(inv._meta.hostvars.h1).toEqual({
      http_port: '8080',
      ansible_host: '127.0.0.9',
      ansible_port: 2222,
      ansible_user: 'root',
      ansible_ssh_private_key_file: '/k/id',
      ansible_ssh_common_args: '-o UserKnownHostsFile=/home/u/.ssh/config.d/pcc/known_hosts -o StrictHostKeyChecking=yes -o HostKeyAlias=h1',
    });
  });

  it('pyinfra: one list per group, Python names, keys by address', () => {
    const text = pyinfraInventory([host('h1', { groups: ['g5.xlarge'] })], { ...paths, knownHostsByAddress: '/i.known_hosts' });
    expect(text).toContain('g5_xlarge = [\n    ("h1", {"http_port":"8080","ansible_host":"192.0.2.1","ssh_hostname":"127.0.0.9","ssh_port":2222,"ssh_user":"root","ssh_key":"/k/id","ssh_known_hosts_file":"/i.known_hosts","ssh_strict_host_key_checking":"yes"}),\n]');
    expect(addressKnownHosts([host('h1'), host('h3', { port: 22 })], (n) => [{ type: 'ssh-ed25519', key: `K${n}` }])).toBe(
      '[127.0.0.9]:2222 ssh-ed25519 Kh1\n127.0.0.9 ssh-ed25519 Kh3\n',
    );
  });
});
