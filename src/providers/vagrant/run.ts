import { execa } from 'execa';
import { PccError } from '../../core/errors.js';
import { vagrantEnv } from './commands.js';
import { vagrantErrorSummary } from './parse.js';

export interface VagrantResult {
  stdout: string;
  stderr: string;
  exitCode: number;
}

/**
 * The thin executor under the argv builders: runs one vagrant command in the
 * project's vagrant folder, hands each stdout line to `onLine` as it arrives,
 * and turns a failure into a one-line PccError.
 */
export async function runVagrant(
  argv: readonly string[],
  vagrantDir: string,
  options: { onLine?: (line: string) => void; allowFail?: boolean } = {},
): Promise<VagrantResult> {
  const [file, ...args] = argv;
  const onLine = options.onLine;
  const result = await execa(file!, args, {
    cwd: vagrantDir,
    env: vagrantEnv(vagrantDir),
    reject: false,
    stdin: 'ignore',
    stdout: onLine
      ? function* (line: unknown) {
          onLine(String(line));
          yield line;
        }
      : 'pipe',
  });
  const out = { stdout: String(result.stdout ?? ''), stderr: String(result.stderr ?? ''), exitCode: result.exitCode ?? 1 };
  if (out.exitCode !== 0 && !options.allowFail) {
    if ((result as { code?: string }).code === 'ENOENT') {
      throw new PccError(`${file} is not on PATH; install it with \`apt-get install --no-install-recommends vagrant\``);
    }
    throw new PccError(`\`${argv.slice(0, 2).join(' ')}\` failed: ${vagrantErrorSummary(out.stderr, out.stdout)}`);
  }
  return out;
}
