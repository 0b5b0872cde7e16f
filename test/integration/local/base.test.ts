import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentProgress } from '../../../src/core/progress.js';
import { basePath, chooseMirror, ensureBase } from '../../../src/providers/local/base.js';
import { TEST_BASE_CACHE } from '../../fixtures/local-hosts.js';

describe('local base cache', () => {
  let cache: string;
  beforeAll(() => {
    cache = mkdtempSync(path.join(tmpdir(), 'pcc-base-test-'));
  });
  afterAll(() => rmSync(cache, { recursive: true, force: true }));

  const standIn = (calls: string[], fail = false) => async (dir: string) => {
    calls.push(dir);
    mkdirSync(path.join(dir, 'etc'), { recursive: true });
    await sleep(300);
    if (fail) throw new Error('mirror unreachable');
    writeFileSync(path.join(dir, 'etc', 'os-release'), 'ID=debian\n');
  };

  it('two concurrent runs build once and share the result (stand-in builder, for speed)', async () => {
    const calls: string[] = [];
    const [a, b] = await Promise.all([
      ensureBase({ cacheDir: cache, mirror: 'http://m', progress: silentProgress, build: standIn(calls) }),
      ensureBase({ cacheDir: cache, mirror: 'http://m', progress: silentProgress, build: standIn(calls) }),
    ]);
    expect(a).toBe(basePath(cache));
    expect(b).toBe(a);
    expect(calls).toHaveLength(1);
    // Built next to its place, then renamed: never at the final path while half-done.
    expect(path.basename(calls[0]!)).toMatch(/^\.build-bookworm-[0-9a-f]{16}-\d+$/);
    expect(readdirSync(cache).filter((n) => n.startsWith('.build-'))).toEqual([]);
    rmSync(a, { recursive: true });
  });

  it('a failed or abandoned build is never used and is swept by the next run (stand-in builder)', async () => {
    const calls: string[] = [];
    await expect(
      ensureBase({ cacheDir: cache, mirror: 'http://m', progress: silentProgress, build: standIn(calls, true) }),
    ).rejects.toThrow(/mirror unreachable/);
    expect(existsSync(basePath(cache))).toBe(false);
    expect(readdirSync(cache).filter((n) => n.startsWith('.build-'))).toEqual([]);

    const abandoned = path.join(cache, `.build-${path.basename(basePath(cache))}-99999`);
    mkdirSync(abandoned);
    await ensureBase({ cacheDir: cache, mirror: 'http://m', progress: silentProgress, build: standIn(calls) });
    expect(existsSync(abandoned)).toBe(false);
    expect(existsSync(path.join(basePath(cache), 'etc', 'os-release'))).toBe(true);
  });

  it('mirror: LOCAL_MIRROR wins, else apt\'s own Debian mirror, else deb.debian.org', () => {
    expect(chooseMirror('http://mine/debian')).toBe('http://mine/debian');
    const apt = path.join(cache, 'apt');
    mkdirSync(path.join(apt, 'sources.list.d'), { recursive: true });
    expect(chooseMirror(undefined, apt)).toBe('http://deb.debian.org/debian');
    writeFileSync(path.join(apt, 'sources.list.d', 'debian.sources'), 'Types: deb\nURIs: http://ftp.at.debian.org/debian\nSuites: bookworm\n');
    expect(chooseMirror(undefined, apt)).toBe('http://ftp.at.debian.org/debian');
  });
});

/** The real base (debootstrap, built on first use): finished as the recipe says. */
describe('the real cached base', () => {
  let base: string;
  beforeAll(async () => {
    base = await ensureBase({ cacheDir: TEST_BASE_CACHE, progress: silentProgress });
  }, 600_000);

  const read = (rel: string) => readFileSync(path.join(base, rel), 'utf8');

  it('has no identity of its own: empty machine-id, no ssh host keys, no hostname', () => {
    expect(read('etc/machine-id')).toBe('');
    expect(readdirSync(path.join(base, 'etc/ssh')).filter((n) => n.startsWith('ssh_host_'))).toEqual([]);
    expect(existsSync(path.join(base, 'etc/hostname'))).toBe(false);
  });

  it('boots quiet: registry, ganesha, rpcbind and timers off, rpc_pipefs masked', () => {
    const wants = readdirSync(path.join(base, 'etc/systemd/system/multi-user.target.wants'));
    for (const unit of ['docker-registry.service', 'nfs-ganesha.service', 'rpcbind.service']) expect(wants).not.toContain(unit);
    expect(wants).toContain('ssh.service');
    expect(wants).toContain('docker.service');
    const timers = path.join(base, 'etc/systemd/system/timers.target.wants');
    expect(existsSync(timers) ? readdirSync(timers) : []).toEqual([]);
    expect(readlinkSync(path.join(base, 'etc/systemd/system/run-rpc_pipefs.mount'))).toBe('/dev/null');
  });

  it('docker without bridge, iptables or forwarding, and with writable cgroups', () => {
    expect(JSON.parse(read('etc/docker/daemon.json'))).toEqual({ bridge: 'none', iptables: false, 'ip-forward': false, 'ip-masq': false });
    expect(read('etc/systemd/system/docker.service.d/pcc-cgroups.conf')).toContain('mount -o remount,bind,rw "$d"');
  });

  it('registry config without the htpasswd block, apt cleaned', () => {
    expect(read('etc/docker/registry/config.yml')).not.toMatch(/htpasswd|auth:/);
    expect(readdirSync(path.join(base, 'var/lib/apt/lists')).filter((n) => n !== 'partial' && n !== 'lock')).toEqual([]);
    expect(readdirSync(path.join(base, 'var/cache/apt/archives')).filter((n) => n.endsWith('.deb'))).toEqual([]);
  });
});
