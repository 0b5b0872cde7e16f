import path from 'node:path';
import { readIfExists, writeOwnedFile } from '../core/files.js';
import { holdsSecret } from '../core/secrets.js';
import type { Fact, FactGroup } from '../facts/fact.js';
import { FILE_STATES } from '../facts/files.js';

/**
 * What a playbook read on a host, kept for its next run there: those facts
 * are read up front, in the first round trip, instead of each when the
 * playbook first asks. A remembered value serves only a fact with the same
 * key and the same script, and only while no change planned in this run may
 * have altered it; anything else is read again. Facts only read, so a
 * remembered one that is no longer asked for costs a little output, nothing
 * more.
 */
export interface RememberedFact {
  key: string;
  script: string;
  reads?: string[];
  stable?: boolean;
  group?: { id: string; arg: string };
}

export interface HostFactMemory {
  recall(): Promise<RememberedFact[]>;
  remember(facts: RememberedFact[]): Promise<void>;
}

/** A remembered fact's answer from this run's first round trip, not yet asked for. */
export interface RememberedValue {
  fact: Fact<unknown>;
  raw: unknown;
}

export const NOT_THE_SAME = Symbol('not the same fact');

const GROUPS = new Map<string, FactGroup<unknown>>([[FILE_STATES.id, FILE_STATES as FactGroup<unknown>]]);

export function rememberFact(fact: Fact<unknown>): RememberedFact {
  return {
    key: fact.key,
    script: fact.script,
    ...(fact.reads ? { reads: [...fact.reads] } : {}),
    ...(fact.stable ? { stable: true } : {}),
    ...(fact.group ? { group: { id: fact.group.of.id, arg: fact.group.arg } } : {}),
  };
}

/** A stand-in that reads the remembered fact: a group member's answer is final, a lone fact's is its raw output. */
export function recalledFact(r: RememberedFact): Fact<unknown> {
  const group = r.group && GROUPS.get(r.group.id);
  return {
    key: r.key,
    script: r.script,
    reads: r.reads,
    stable: r.stable,
    group: group ? { of: group, arg: r.group!.arg } : undefined,
    parse: (stdout, code) => ({ stdout, code }),
  };
}

/** The value for `real` from what its stand-in read, or NOT_THE_SAME when the playbook now asks something else. */
export function claim(remembered: RememberedValue, real: Fact<unknown>): unknown {
  const stand = remembered.fact;
  if (stand.group) {
    const same = real.group && real.group.of.id === stand.group.of.id && real.group.arg === stand.group.arg;
    return same ? remembered.raw : NOT_THE_SAME;
  }
  if (stand.script !== real.script) return NOT_THE_SAME;
  const raw = remembered.raw as { stdout: string; code: number };
  return real.parse(raw.stdout, raw.code);
}

/** Kept in `.pcc/cache/facts/<playbook>/<host>.json`, written only when the list changed. */
export function fileFactMemory(dir: string, playbook: string, host: string): HostFactMemory {
  const file = path.join(dir, safeName(playbook), `${safeName(host)}.json`);
  let loaded: string | undefined;
  return {
    async recall() {
      loaded = await readIfExists(file).catch(() => undefined);
      if (!loaded) return [];
      try {
        const list = JSON.parse(loaded) as unknown;
        return Array.isArray(list) ? list.filter(isRemembered) : [];
      } catch {
        return [];
      }
    },
    async remember(facts) {
      // A fact whose script carries a secret (a guard that greps for a password) is read afresh each run rather than kept on disk.
      const text = JSON.stringify(facts.filter((f) => !holdsSecret(f.key) && !holdsSecret(f.script)));
      if (text === loaded) return;
      await writeOwnedFile(file, text, { mode: 0o600, durable: false });
    },
  };
}

function isRemembered(x: unknown): x is RememberedFact {
  const r = x as RememberedFact;
  return typeof r?.key === 'string' && typeof r.script === 'string';
}

function safeName(name: string): string {
  return name.replace(/[^A-Za-z0-9_.-]/g, '_');
}
