import { execa } from 'execa';
import { PccError } from '../../core/errors.js';

/**
 * The thin executor under the local provider's argv builders. A failing
 * command becomes a one-line PccError that names the command and the first
 * line of its stderr.
 */
export async function run(argv: string[], options: { input?: string; allowFail?: boolean } = {}): Promise<string> {
  const [file, ...args] = argv;
  const result = await execa(file!, args, {
    reject: false,
    stdin: options.input === undefined ? 'ignore' : undefined,
    input: options.input,
    stripFinalNewline: true,
    env: { PATH: withSbin(process.env.PATH) },
  });
  if (result.exitCode !== 0 && !options.allowFail) {
    const why = firstLine(result.stderr) || firstLine(result.stdout) || result.shortMessage || `exit ${result.exitCode}`;
    throw new PccError(`local: \`${argv.join(' ')}\` failed: ${why}`);
  }
  return result.stdout;
}

/** Run each argv in order (the steps depend on each other). */
export async function runAll(argvs: string[][], options: { allowFail?: boolean } = {}): Promise<void> {
  for (const argv of argvs) await run(argv, options);
}

/** ip, debootstrap and friends live in sbin, which sudo and non-login shells often leave off PATH. */
export function withSbin(searchPath = ''): string {
  const dirs = searchPath.split(':').filter(Boolean);
  for (const d of ['/usr/sbin', '/sbin']) if (!dirs.includes(d)) dirs.push(d);
  return dirs.join(':');
}

function firstLine(text: string | undefined): string {
  return (text ?? '').split('\n').find((l) => l.trim().length > 0)?.trim() ?? '';
}
