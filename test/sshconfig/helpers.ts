import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { openProject, type Project } from '../../src/core/project.js';
import type { HostRecord } from '../../src/state/schema.js';

export const corpusDir = path.join(path.dirname(fileURLToPath(import.meta.url)), 'corpus');

export function corpusCases(): string[] {
  return readdirSync(corpusDir)
    .filter((f) => f.endsWith('.config'))
    .sort();
}

/** A throwaway home with a project folder in it; `dispose` removes both. */
export function tempProject(): { project: Project; dispose: () => void } {
  const dir = mkdtempSync(path.join(tmpdir(), 'pcc-sshconfig-'));
  const home = path.join(dir, 'home');
  mkdirSync(home);
  const project = openProject({ project: path.join(dir, 'proj'), home });
  return { project, dispose: () => rmSync(dir, { recursive: true, force: true }) };
}

/**
 * Puts a corpus case in place as the home's ~/.ssh/config (with `@HOME@`
 * replaced), plus the files it includes. Returns the config's bytes.
 */
export function installCase(project: Project, name: string): Buffer {
  const extra = path.join(corpusDir, name.replace(/\.config$/, '.home'));
  if (existsSync(extra)) cpSync(extra, project.home, { recursive: true });
  mkdirSync(project.sshDir, { recursive: true, mode: 0o700 });
  const raw = readFileSync(path.join(corpusDir, name));
  const bytes = Buffer.from(raw.toString('latin1').replaceAll('@HOME@', project.home), 'latin1');
  writeFileSync(path.join(project.sshDir, 'config'), bytes, { mode: 0o600 });
  return bytes;
}

/** Every file, folder and symlink under `dir` with its mode and content: what "nothing else changed" means. */
export function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string) => {
    for (const name of readdirSync(d).sort()) {
      const p = path.join(d, name);
      const st = lstatSync(p);
      const key = path.relative(dir, p);
      const mode = (st.mode & 0o7777).toString(8);
      if (st.isSymbolicLink()) out[key] = `link ${readlinkSync(p)}`;
      else if (st.isDirectory()) {
        out[key] = `dir ${mode}`;
        walk(p);
      } else out[key] = `file ${mode} ${readFileSync(p).toString('base64')}`;
    }
  };
  if (existsSync(dir)) walk(dir);
  return out;
}

/** `ssh -G`: the real OpenSSH's resolved options for a name, without connecting. */
export function sshG(project: Project, alias: string): Map<string, string[]> {
  const r = spawnSync('ssh', ['-G', '-F', path.join(project.sshDir, 'config'), alias], {
    encoding: 'utf8',
    env: { ...process.env, HOME: project.home },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  if (r.status !== 0) throw new Error(`ssh -G ${alias} failed: ${r.stderr}`);
  const out = new Map<string, string[]>();
  for (const line of r.stdout.split('\n')) {
    const at = line.indexOf(' ');
    if (at <= 0) continue;
    const key = line.slice(0, at);
    out.set(key, [...(out.get(key) ?? []), line.slice(at + 1)]);
  }
  return out;
}

export function sshGText(project: Project, alias: string): string {
  return [...sshG(project, alias)].map(([k, v]) => `${k} ${v.join('|')}`).join('\n');
}

export function host(name: string, fields: Partial<HostRecord> = {}): HostRecord {
  return {
    name,
    address: '127.31.0.1',
    port: 22,
    user: 'root',
    key: '~/.ssh/pcc_ed25519',
    provider: 'local',
    groups: ['cpu'],
    createdAt: '2026-01-01T00:00:00Z',
    meta: {},
    ...fields,
  };
}

export function keygen(dir: string, name: string): { file: string; line: string } {
  const file = path.join(dir, name);
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', name, '-f', file]);
  return { file, line: readFileSync(`${file}.pub`, 'utf8').trim().split(' ').slice(0, 2).join(' ') };
}
