import { isDeepStrictEqual } from 'node:util';
import { OperationRefusedError } from '../core/errors.js';
import { fileState } from '../facts/files.js';
import { currentText, planFile, type Ownership } from './files.js';
import type { Operation } from './operation.js';

type Json = Record<string, unknown>;

/**
 * Keys pcc manages inside a JSON file it shares with others (docker's
 * daemon.json): everything else in the file is kept as it is.
 */
export function jsonFile(path: string, update: (current: Json) => Json, options: Ownership = {}): Operation {
  const fact = fileState(path);
  return {
    name: `json ${path}`,
    facts: [fact],
    touches: [path],
    plan(read) {
      const st = read(fact);
      const text = currentText(st, path);
      let current: Json;
      try {
        current = text.trim() === '' ? {} : (JSON.parse(text) as Json);
      } catch {
        throw new OperationRefusedError(`${path} is not valid JSON; fix or remove it on the host`);
      }
      const wanted = update(structuredClone(current));
      if (isDeepStrictEqual(current, wanted)) return undefined;
      return planFile(path, st, { ...options, content: `${JSON.stringify(wanted, null, 2)}\n` });
    },
  };
}

/** Adds values to a JSON array key without duplicates, keeping what is there. */
export function withListEntries(obj: Json, key: string, entries: readonly string[]): Json {
  const list = Array.isArray(obj[key]) ? (obj[key] as unknown[]) : [];
  const merged = [...list];
  for (const e of entries) if (!merged.includes(e)) merged.push(e);
  return { ...obj, [key]: merged };
}
