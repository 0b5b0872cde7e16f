import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import type { HostRecord } from '../../src/state/schema.js';

/**
 * Run a command on a local host with the real OpenSSH client, trusting only
 * the host keys the provider recorded (StrictHostKeyChecking yes).
 */
export function ssh(host: HostRecord, command: string, knownHosts: string): string {
  return execFileSync(
    'ssh',
    [
      '-F', '/dev/null',
      '-o', 'BatchMode=yes',
      '-o', 'StrictHostKeyChecking=yes',
      '-o', `UserKnownHostsFile=${knownHosts}`,
      '-o', 'ConnectTimeout=5',
      '-i', host.key!,
      '-p', String(host.port),
      `${host.user}@${host.address}`,
      command,
    ],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] },
  ).trim();
}

export function writeKnownHosts(file: string, hosts: HostRecord[]): void {
  writeFileSync(file, hosts.map((h) => `${h.address} ${h.hostKey}\n`).join(''));
}

export function netnsList(): string[] {
  return execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' })
    .split('\n')
    .map((l) => l.split(' ')[0]!)
    .filter(Boolean);
}

export function linkList(): string[] {
  return execFileSync('ip', ['-o', 'link', 'show'], { encoding: 'utf8' })
    .split('\n')
    .map((l) => l.split(': ')[1]?.split('@')[0])
    .filter((n): n is string => Boolean(n));
}

export function mountPoints(): string[] {
  return readFileSync('/proc/mounts', 'utf8')
    .split('\n')
    .map((l) => l.split(' ')[1] ?? '')
    .filter(Boolean);
}

export function processAlive(pid: number): boolean {
  if (!existsSync(`/proc/${pid}`)) return false;
  return !/\) Z /.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
}
