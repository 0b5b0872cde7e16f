import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { FILE_STATES } from '../../../src/facts/files.js';
import * as facts from '../../../src/facts/index.js';

/**
 * Every fact in src/facts as data, as pyinfra keeps its facts: each file in
 * fixtures/ is one case of (fact and its arguments, the command it sends,
 * the raw output and exit code, the parsed value). `source` says whether the
 * output was captured on a machine or composed in the tool's format.
 * A Buffer in a value is written { "utf8": ... }.
 */
interface FactFixture {
  fact: string;
  args: unknown[];
  source: string;
  command: string;
  output: string;
  exitCode: number;
  value: unknown;
}

type Reader = { script: string; parse(output: string, exitCode: number): unknown };

const makers: Record<string, (...args: never[]) => Reader> = {
  osRelease: () => facts.osRelease,
  cpuCount: () => facts.cpuCount,
  cpuFlags: () => facts.cpuFlags,
  gpu: () => facts.gpu,
  docker: () => facts.docker,
  systemd: () => facts.systemd,
  unitState: (unit: string) => facts.unitState(unit),
  debPackages: (names: string[]) => facts.debPackages(names),
  fileState: (file: string, options?: { hashLarge?: boolean }) => facts.fileState(file, options),
  pathExists: (file: string) => facts.pathExists(file),
  commandSucceeds: (script: string, reads?: string[]) => facts.commandSucceeds(script, reads),
  commandOutput: (script: string, reads?: string[]) => facts.commandOutput(script, reads),
  blockDevice: (match: facts.BlockDeviceMatch) => facts.blockDevice(match),
  // The group read: every file fact of a round trip in one script.
  fileStates: (...args: string[]) => ({ script: FILE_STATES.script(args), parse: (out: string) => FILE_STATES.parse(out, args) }),
};

const dir = path.join(import.meta.dirname, 'fixtures');
const fixtures = readdirSync(dir)
  .filter((f) => f.endsWith('.json'))
  .sort()
  .map((f) => [f, JSON.parse(readFileSync(path.join(dir, f), 'utf8')) as FactFixture] as const);

/** A parsed value as the fixtures write it: Buffers as { utf8 }. */
function asWritten(value: unknown): unknown {
  return JSON.parse(JSON.stringify(value, (_k, v: { type?: string; data?: number[] }) => (v?.type === 'Buffer' && Array.isArray(v.data) ? { utf8: Buffer.from(v.data).toString('utf8') } : v)));
}

describe('fact fixtures: command, raw output, parsed value', () => {
  it.each(fixtures)('%s', (_file, fx) => {
    const make = makers[fx.fact];
    expect(make, `no maker for fact ${fx.fact}`).toBeDefined();
    const fact = (make as (...args: unknown[]) => Reader)(...(fx.fact === 'fileStates' ? (fx.args as string[]) : fx.args));
    expect(fact.script).toBe(fx.command);
    expect(asWritten(fact.parse(fx.output, fx.exitCode))).toEqual(fx.value);
  });

  it('covers every fact src/facts exports', () => {
    const exported = Object.entries(facts)
      .filter(([, v]) => typeof v === 'function' || (typeof v === 'object' && v !== null && 'script' in v))
      .map(([k]) => k)
      .filter((k) => !['defineFact', 'osFamily', 'parseGpu', 'parseBlockDevice', 'mountScope', 'packageScope', 'serviceScope', 'tree'].includes(k));
    const covered = new Set(fixtures.map(([, fx]) => fx.fact));
    expect(exported.filter((k) => !covered.has(k))).toEqual([]);
  });

  it('has the systems pcc runs on: Flatcar, Debian and Ubuntu; static, alias and masked units; packages; x86 and arm64 CPU flags', () => {
    const names = fixtures.map(([f]) => f);
    for (const n of ['os-release.flatcar.json', 'os-release.debian-12.json', 'os-release.ubuntu-22.04.json', 'unit-state.static.json', 'unit-state.alias.json', 'unit-state.masked.json', 'deb-packages.json', 'cpu-flags.x86_64.json', 'cpu-flags.arm64.json']) {
      expect(names).toContain(n);
    }
  });
});

