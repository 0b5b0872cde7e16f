import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bridgeName } from '../../../src/providers/local/network.js';
import { repoRoot, withPccOnPath, type CliResult } from '../../fixtures/cli.js';
import { localCliProject, type LocalCliProject } from '../../fixtures/cli-project.js';
import { linkList } from '../../fixtures/local-machine.js';

/**
 * The paths that need a kernel of the host's own, run for real: one nspawn
 * controller (`pcc init --provider local`) and two QEMU VMs (`pcc acquire
 * vm`, software emulation here), all booted once for the file and driven
 * through the CLI. Each path is asserted by its effect: bytes read back,
 * `findmnt`, `blkid -p`, `curl`, `ping`.
 */
let t: LocalCliProject;
const bin = path.join(repoRoot, 'bin/pcc.js');
let serial: string;
const timings: string[] = [];

/**
 * The CLI without the sync helper's 120 s limit (a boot under software
 * emulation takes longer), and with stdin closed as that helper has it:
 * `pcc exec` forwards stdin to the command.
 */
function p(...args: string[]): Promise<CliResult> {
  return new Promise((resolve) => {
    const child = spawn('node', [bin, '--project', t.project, ...args], { env: { ...process.env, ...withPccOnPath(t.env) }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}
async function ok(...args: string[]): Promise<CliResult> {
  const r = await p(...args);
  if (r.code !== 0) throw new Error(`pcc ${args.join(' ')} failed (${r.code}): ${r.stderr}\n${r.stdout}`);
  return r;
}
async function json(...args: string[]): Promise<any> {
  return JSON.parse((await ok('--json', ...args)).stdout);
}
/** `pcc exec HOST -- CMD`'s output, without the `HOST | ` prefixes. */
async function on(host: string, command: string): Promise<string> {
  const r = await ok('exec', host, '--', command);
  return r.stdout
    .split('\n')
    .map((l) => l.replace(new RegExp(`^${host} \\| ?`), ''))
    .join('\n')
    .trim();
}
async function timed<T>(what: string, fn: () => Promise<T>): Promise<T> {
  const began = Date.now();
  try {
    return await fn();
  } finally {
    timings.push(`${what}: ${Math.round((Date.now() - began) / 1000)} s`);
  }
}

beforeAll(async () => {
  t = await localCliProject('vm-paths', { images: true });
  writeFileSync(path.join(t.project, 'README.txt'), 'shared with every host\n');
  writeFileSync(path.join(t.project, 'config/.private'), 'AWS_SECRET_ACCESS_KEY=not-for-hosts\n', { mode: 0o600 });
});

afterAll(async () => {
  console.log(`kernel paths on VMs: ${timings.join('; ')}`);
  if (t && existsSync(t.project)) await p('destroy', 'vm', '--yes');
  t?.stop();
}, 300_000);

describe('kernel-level paths on VM hosts (QEMU, their own kernel) with an nspawn controller', () => {
  it('init (local), build, a vm volume, two VMs with it on vm1, and setup', { timeout: 900_000 }, async () => {
    await timed('init', () => ok('init', '--provider', 'local'));
    await timed('build', () => ok('build', '--on', 'init'));
    serial = (await json('volume', 'create', 'data', '--size', '1', '--provider', 'vm')).providerId;
    expect(serial).toMatch(/^pccvol-/);
    const acquired = await timed('acquire vm --count 2', () => json('acquire', 'vm', '--count', '2', '--volume', 'data:/data'));
    expect(acquired.hosts.map((h: { name: string }) => h.name).sort()).toEqual(['vm1', 'vm2']);
    expect(acquired.volume).toMatchObject({ name: 'data', attachedTo: 'vm1', mountPoint: '/data' });
    const setup = await timed('setup vm', () => p('setup', 'vm'));
    expect(setup.code, `${setup.stderr}\n${setup.stdout}`).toBe(0);
    // Both VMs mount the share: nothing to warn about.
    expect(setup.stderr + setup.stdout).not.toContain('/project is not');
  });

  it('/project is the controller\'s export, mounted by the kernel NFS client over the overlay, on both VMs', async () => {
    const init = (await json('hosts')).find((h: { name: string }) => h.name === 'init');
    for (const vm of ['vm1', 'vm2']) {
      expect(await on(vm, 'findmnt -t nfs4 -no SOURCE /project')).toBe(`${init.overlayAddress}:/project-export`);
      expect(await on(vm, 'cat /project/README.txt')).toBe('shared with every host');
    }
  });

  it('what a job task writes in /project on a VM is read on the other VM and in the project folder here', { timeout: 300_000 }, async () => {
    await timed('job run', () =>
      ok('job', 'run', 'mybusybox', '--name', 'share', '--replicas', '2', '--on', 'vm', '--wait', '--', 'sh', '-c', 'mkdir -p /project/results && echo "task $PCC_TASK_INDEX" > /project/results/$PCC_TASK_INDEX.txt'),
    );
    for (const i of [0, 1]) expect(readFileSync(path.join(t.project, `results/${i}.txt`), 'utf8')).toBe(`task ${i}\n`);
    // And host to host, through the share alone.
    await on('vm1', 'echo written-on-vm1 > /project/results/vm1.txt');
    expect(await on('vm2', 'cat /project/results/vm1.txt /project/results/0.txt')).toBe('written-on-vm1\ntask 0');
    expect(readFileSync(path.join(t.project, 'results/vm1.txt'), 'utf8')).toBe('written-on-vm1\n');
  });

  it('config/.private and .pcc/ are not visible through the share', async () => {
    expect(await on('vm2', 'ls -A /project/config /project/.pcc | grep -v "^/project" | grep -c . || true')).toBe('0');
    expect(await on('vm2', 'cat /project/config/.private 2>/dev/null || echo unreadable')).toBe('unreadable');
    expect(await on('vm2', 'grep -rl not-for-hosts /project 2>/dev/null | wc -l')).toBe('0');
  });

  it('the blank data disk is found by its serial, formatted once and mounted by pcc\'s unit by UUID', async () => {
    const dev = await on('vm1', `readlink -f /dev/disk/by-id/virtio-${serial}`);
    expect(dev).toMatch(/^\/dev\/vd[a-z]$/);
    const blkid = Object.fromEntries((await on('vm1', `blkid -p -o export ${dev}`)).split('\n').map((l) => l.split('=') as [string, string]));
    expect(blkid).toMatchObject({ TYPE: 'ext4', LABEL: 'pcc-data' });
    expect(await on('vm1', 'findmnt -no SOURCE,FSTYPE /data')).toBe(`${dev} ext4`);
    // The unit names the disk by its UUID, which real udev links (systemctl show gives the device the kernel mounted, so the file is read).
    const what = await on('vm1', "sed -n 's/^What=//p' /etc/systemd/system/data.mount");
    expect(await on('vm1', 'systemctl is-active data.mount; systemctl is-enabled data.mount')).toBe('active\nenabled');
    expect(what).toBe(`/dev/disk/by-uuid/${blkid.UUID}`);
    expect(await on('vm1', `readlink -f ${what}`)).toBe(dev);
    await on('vm1', 'echo kept-on-the-volume > /data/kept.txt && sync');
  });

  it('a second setup changes nothing, and the share stays mounted', { timeout: 300_000 }, async () => {
    const again = await timed('second setup', () => json('setup', 'vm'));
    expect(again.hosts.map((h: { host: string }) => h.host).sort()).toEqual(['init', 'vm1', 'vm2']);
    for (const h of again.hosts) expect(h.changed, `${h.host}: ${JSON.stringify(h.ops.filter((o: { status: string }) => o.status !== 'ok'))}`).toBe(0);
    for (const vm of ['vm1', 'vm2']) expect(await on(vm, 'findmnt -t nfs4 -no TARGET /project')).toBe('/project');
  });

  it('WireGuard: the kernel module on the VMs, wireguard-go on the nspawn controller, and pings across', async () => {
    const hosts = await json('hosts');
    const addr = (n: string) => hosts.find((h: { name: string }) => h.name === n).overlayAddress;
    for (const vm of ['vm1', 'vm2']) expect(await on(vm, 'ip -d link show pcc0')).toMatch(/\n\s+wireguard /);
    // This machine's kernel has no wireguard: wg-quick fell back to wireguard-go (a tun device).
    expect(await on('init', 'ip -d link show pcc0')).toMatch(/\n\s+tun /);
    expect(await on('vm1', `ping -c 2 -W 5 ${addr('vm2')} >/dev/null && ping -c 2 -W 5 ${addr('init')} >/dev/null && echo both`)).toBe('both');
    expect(await on('vm2', `ping -c 2 -W 5 ${addr('vm1')} >/dev/null && echo answered`)).toBe('answered');
  });

  it('swarm: a service with a VIP and a published port answers on every VM (ip_vs in their kernel)', { timeout: 300_000 }, async () => {
    await timed('service create', () =>
      on(
        'init',
        'docker service create --quiet --detach=false --name web --network pcc --publish 8080:80 --constraint node.role==worker --replicas 2 ' +
          '"$REGISTRY_HOST/mybusybox" sh -c \'mkdir -p /www && hostname > /www/index.html && exec httpd -f -p 80 -h /www\'',
      ),
    );
    const vip = await on('init', 'docker service inspect web --format \'{{range .Endpoint.VirtualIPs}}{{.Addr}} {{end}}\'');
    // One VIP on the ingress network and one on pcc: no dnsrr.
    expect(vip.split(' ')).toHaveLength(2);
    const tasks = (await on('init', "docker service ps web --filter desired-state=running --format '{{.Node}}'")).split('\n').sort();
    expect(tasks).toEqual(['vm1', 'vm2']);
    for (const vm of ['vm1', 'vm2']) {
      // The routing mesh: this VM's port 8080, whichever task answers.
      expect(await on(vm, 'curl -sf --max-time 10 http://localhost:8080/')).toMatch(/^[0-9a-f]{12}$/);
      // The VIP on the pcc network, by name, from a container on this VM.
      expect(await on(vm, 'docker run --rm --network pcc "$REGISTRY_HOST/mybusybox" sh -c \'nslookup web 127.0.0.11 | tail -n 2; wget -qO- http://web/\'')).toMatch(/\d+\.\d+\.\d+\.\d+[\s\S]*\n[0-9a-f]{12}$/);
    }
    await on('init', 'docker service rm web');
  });

  it('a file on the data volume survives a reboot of the VM; the share comes back too', { timeout: 400_000 }, async () => {
    await timed('reboot vm1', async () => {
      await p('exec', 'vm1', '--', 'systemctl reboot');
      // Down first (so the old boot does not answer), then up again.
      await sleep(15_000);
      const deadline = Date.now() + 240_000;
      let read: CliResult | undefined;
      while (Date.now() < deadline) {
        read = await p('exec', 'vm1', '--', 'cat /data/kept.txt; findmnt -t nfs4 -no TARGET /project');
        if (read.code === 0) break;
        await sleep(5000);
      }
      expect(read?.code, read?.stderr).toBe(0);
      expect(read!.stdout).toContain('vm1 | kept-on-the-volume');
      expect(read!.stdout).toContain('vm1 | /project');
    });
  });

  it('destroy local leaves the bridge while VMs are on it; destroy vm then takes it', { timeout: 300_000 }, async () => {
    const id = readFileSync(path.join(t.project, '.pcc/project-id'), 'utf8').trim();
    await ok('destroy', 'local', '--yes');
    expect(linkList()).toContain(bridgeName(id));
    expect(await on('vm2', 'hostname')).toBe('vm2');
    await ok('destroy', 'vm', '--yes');
    expect(linkList()).not.toContain(bridgeName(id));
  });
});
