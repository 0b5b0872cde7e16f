import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The real upstream validator: coreos/ignition's `validate` command at the
 * version .ci/install-deps pins and builds (outside the checkout). Ignition
 * itself only warns about unknown keys; a warning counts as a failure here,
 * so a misspelt key in a template fails the test.
 */
const installDeps = fileURLToPath(new URL('../../.ci/install-deps', import.meta.url));
const version = /^IGNITION_VERSION=(\S+)$/m.exec(readFileSync(installDeps, 'utf8'))?.[1];
export const ignitionValidator = path.join(process.env.PCC_TOOLS_DIR ?? path.join(homedir(), '.cache/pcc/tools'), `ignition-validate-${version}`);

/** What ignition-validate reports for a config: '' when it is valid and has no warnings. */
export function ignitionReport(config: string): string {
  if (!existsSync(ignitionValidator)) throw new Error(`${ignitionValidator} is missing; run .ci/install-deps (it builds the pinned Ignition validator)`);
  const dir = mkdtempSync(path.join(tmpdir(), 'pcc-ign-'));
  try {
    const file = path.join(dir, 'config.ign');
    writeFileSync(file, config);
    const run = spawnSync(ignitionValidator, [file], { encoding: 'utf8' });
    const out = `${run.stdout}${run.stderr}`.trim();
    return run.status === 0 ? out : out || `exit ${run.status}`;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
