import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { renderExamples } from '../settings/docs.js';
import { UserInputError } from './errors.js';
import { writeOwnedFile } from './files.js';
import { packageRoot } from './package-root.js';

export interface ScaffoldReport {
  dir: string;
  created: string[];
  /** Already there: pcc never overwrites a file of the user's. */
  kept: string[];
}

/**
 * `pcc new [DIR]`: the files a project starts from. The config examples are
 * rendered from the settings schema and its docs; the rest is copied from the
 * package's `template/` folder (`gitignore` becomes `.gitignore`: npm drops
 * files of that name from packages).
 */
export async function scaffoldProject(dir: string): Promise<ScaffoldReport> {
  if (existsSync(dir) && !statSync(dir).isDirectory()) {
    throw new UserInputError(`${dir} exists and is not a folder; pick another name for pcc new`);
  }
  const files = new Map<string, string>();
  for (const [name, text] of renderExamples()) files.set(path.join('config', name), text);
  const template = path.join(packageRoot()?.dir ?? '.', 'template');
  if (!existsSync(template)) throw new Error(`pcc's template folder is missing at ${template}; reinstall pcc`);
  for (const rel of walk(template)) {
    files.set(rel === 'gitignore' ? '.gitignore' : rel, readFileSync(path.join(template, rel), 'utf8'));
  }
  const report: ScaffoldReport = { dir, created: [], kept: [] };
  for (const [rel, text] of [...files].sort(([a], [b]) => a.localeCompare(b))) {
    const target = path.join(dir, rel);
    if (existsSync(target)) {
      report.kept.push(rel);
      continue;
    }
    await writeOwnedFile(target, text, { mode: 0o644 });
    report.created.push(rel);
  }
  return report;
}

function walk(root: string, rel = ''): string[] {
  return readdirSync(path.join(root, rel), { withFileTypes: true }).flatMap((e) => {
    const child = rel ? path.join(rel, e.name) : e.name;
    return e.isDirectory() ? walk(root, child) : [child];
  });
}
