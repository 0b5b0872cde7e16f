import { spawn } from 'node:child_process';
import { HostFailedError, PccError, UnreachableError, UserInputError } from '../core/errors.js';
import type { Connection } from '../remote/connection.js';
import { quote, renderCommand } from '../remote/shell.js';
import { buildImages, type BuildOptions, type BuildReport } from './build.js';
import { NOT_FOUND, OutputCollector, type Runner } from './runner.js';

/**
 * `pcc build --on HOST`: the same plan and the same commands, run on HOST over
 * SSH, as the seed built on the controller at boot. Hashing and `prepare` stay
 * here; each context to build is shipped as a tar of exactly the files that
 * .dockerignore lets through.
 */
export async function buildOn(hostName: string, options: Omit<BuildOptions, 'runner' | 'on'>): Promise<BuildReport> {
  const state = await options.store.read();
  const host = state.hosts[hostName];
  if (!host) {
    const known = Object.keys(state.hosts).sort().join(', ') || 'none';
    throw new UserInputError(`--on ${hostName}: no such host in the state (hosts: ${known}); see pcc hosts`);
  }
  const { connectorFor } = await import('../fleet/connect.js');
  try {
    const conn = await (await connectorFor(options.project, options.settings))(host);
    const runner = sshRunner(conn, remoteWorkDir(options.project.name));
    try {
      return await buildImages({ ...options, runner, on: hostName });
    } finally {
      await runner.close();
    }
  } catch (err) {
    // Losing the host is the user's to fix (start it, check SSH), not a bug.
    if (err instanceof UnreachableError) throw new UnreachableError(hostName, `--on ${hostName}: ${err.message}`, { cause: err });
    throw err;
  }
}

/** Build contexts and digest files live here on the build host, per project. */
export function remoteWorkDir(projectName: string): string {
  return `/var/tmp/pcc-build/${projectName}`;
}

/**
 * A Runner over one SSH connection. Builder commands run as root (through
 * sudo for other users), as buildah needs and docker usually does.
 */
export function sshRunner(conn: Connection, workDir: string): Runner {
  const rootSh = (script: string) => conn.asRoot(`sh -c ${quote(script)}`);
  let scratch: string | undefined;
  return {
    where: conn.host.name,
    onHost: true,
    async run(command, onLine) {
      const collector = new OutputCollector(onLine);
      const result = await conn.script(renderCommand(command), { become: true, onOutput: (c) => collector.push(c) });
      return { code: result.code, output: collector.finish() };
    },
    async stageContext(image, dir, files) {
      const target = `${workDir}/${image}`;
      const archive = await tarOf(dir, files);
      // The whole folder is replaced, so files deleted here disappear there too.
      const script = `rm -rf ${quote(target)} && mkdir -p ${quote(target)} && base64 -d | tar -x -f - -C ${quote(target)}`;
      const result = await conn.exec(rootSh(script), { stdin: archive.toString('base64') });
      if (result.code !== 0) {
        const why = result.code === NOT_FOUND ? 'tar or base64 is missing there' : (result.stderr.trim().split('\n').at(-1) ?? `exit ${result.code}`);
        throw new HostFailedError(`${conn.host.name}: cannot upload the build context of ${image} to ${target}: ${why}`);
      }
      return target;
    },
    async scratchFile(name) {
      // A directory of this run's own, so a file left by an earlier run never passes for this one's.
      scratch ??= await (async () => {
        const dir = `${workDir}/.scratch-${process.pid}-${Date.now()}`;
        await conn.exec(rootSh(`mkdir -p ${quote(dir)}`));
        return dir;
      })();
      return `${scratch}/${name}`;
    },
    async readScratch(file) {
      const result = await conn.exec(rootSh(`cat ${quote(file)} 2>/dev/null`));
      return result.code === 0 ? result.stdout : undefined;
    },
    async close() {
      if (scratch) await conn.exec(rootSh(`rm -rf ${quote(scratch)}`)).catch(() => undefined);
      conn.close();
    },
  };
}

/** A tar of exactly `files` (paths inside `dir`), made by this machine's tar. */
function tarOf(dir: string, files: readonly string[]): Promise<Buffer> {
  const chunks: Buffer[] = [];
  return new Promise((resolve, reject) => {
    const child = spawn('tar', ['-c', '-f', '-', '--no-recursion', '-C', dir, '--null', '-T', '-'], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => chunks.push(c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    child.on('error', (err) => reject(new PccError(`cannot run tar here to pack ${dir}: ${err.message}`)));
    child.on('close', (code) => {
      if (code === 0) resolve(Buffer.concat(chunks));
      else reject(new PccError(`tar could not pack ${dir}: ${stderr.trim().split('\n').at(-1) ?? `exit ${code}`}`));
    });
    child.stdin.end(files.map((f) => `${f}\0`).join(''));
  });
}

