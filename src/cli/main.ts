import yargs, { type Argv } from 'yargs';
import { COMPUTE_PROVIDERS, CONTROLLER_PROVIDERS, PROVIDERS, type AcquireOption } from '../providers/registry.js';
import type { CliContext, GlobalArgs } from './context.js';

/**
 * The command table. Builders live here so that `pcc --help` loads no command
 * code; each handler imports its module on use.
 */
type Handler = (args: any, ctx: CliContext) => Promise<number>;
type Loader = () => Promise<{ default: Handler }>;

interface CommandSpec {
  command: string;
  describe: string;
  builder?: (y: Argv) => Argv<any>;
  load: Loader;
  /** May make a new project in a folder that is not one yet. */
  startsProject?: true;
}

const providers = COMPUTE_PROVIDERS;

/** Every provider's own flags (from the registry); a flag given to another provider is refused by the command. */
function providerOptions(y: Argv, kind: 'acquireOptions' | 'saveOptions'): Argv {
  for (const entry of PROVIDERS) {
    for (const o of entry[kind] as readonly AcquireOption[]) {
      y = y.option(o.flag, { type: o.type, ...(o.choices ? { choices: o.choices } : {}), describe: `${entry.name}: ${o.describe}` });
    }
  }
  return y;
}

const commands: CommandSpec[] = [
  {
    command: 'init',
    describe: 'Bring up the controller: registry, /project share and overlay hub',
    builder: (y) =>
      y
        .option('provider', { choices: CONTROLLER_PROVIDERS, default: 'vagrant', describe: 'where the controller runs' })
        .option('dry', { type: 'boolean', default: false, describe: 'plan only, change nothing' }),
    load: () => import('./commands/init.js'),
    startsProject: true,
  },
  {
    command: 'acquire <provider>',
    describe: 'Make exactly --count compute hosts of that spec run: stopped ones of it start first, only the missing are created',
    builder: (y) =>
      providerOptions(
        y
          .positional('provider', { choices: providers, describe: 'where the hosts come from' })
          .option('type', { choices: ['cpu', 'gpu'] as const, default: 'cpu', describe: 'kind of host' })
          .option('count', { type: 'number', default: 1, describe: 'how many running hosts of that spec' }),
        'acquireOptions',
      )
        .option('wait', { type: 'boolean', default: true, describe: 'wait until hosts answer on SSH (--no-wait to skip)' })
        .option('dry', { type: 'boolean', default: false, describe: 'print the plan and render files only' }),
    load: () => import('./commands/acquire.js'),
    startsProject: true,
  },
  {
    command: 'setup <pattern>',
    describe: 'Join matching hosts to the registry, share and overlay (idempotent)',
    builder: (y) =>
      y
        .positional('pattern', { type: 'string', describe: 'host pattern, e.g. ec2, gpu, ec2:&gpu, local1' })
        .option('dry', { type: 'boolean', default: false, describe: 'plan only and show what would change' }),
    load: () => import('./commands/setup.js'),
  },
  {
    command: 'up',
    describe: 'init + one compute host + setup + build, in one go',
    builder: (y) =>
      y.option('provider', { choices: CONTROLLER_PROVIDERS, default: 'local', describe: 'where everything runs' }),
    load: () => import('./commands/up.js'),
    startsProject: true,
  },
  {
    command: 'build',
    describe: 'Build docker/NNN-name folders in order and push them to the registry',
    builder: (y) =>
      y
        .option('builder', { choices: ['docker', 'buildah'] as const, describe: 'image builder (default: PCC_BUILDER or docker)' })
        .option('on', { type: 'string', describe: 'build on this host over SSH, e.g. init' })
        .option('force', { type: 'boolean', default: false, describe: 'rebuild even when nothing changed' }),
    load: () => import('./commands/build.js'),
  },
  {
    command: 'save <provider>',
    describe: 'Stop or snapshot hosts for a quick resume',
    builder: (y) =>
      providerOptions(y.positional('provider', { choices: providers }), 'saveOptions').option('dry', {
        type: 'boolean',
        default: false,
        describe: 'print the plan only',
      }),
    load: () => import('./commands/save.js'),
  },
  {
    command: 'resume <provider>',
    describe: 'Start what was saved again; never creates a host',
    builder: (y) =>
      y
        .positional('provider', { choices: providers })
        .option('wait', { type: 'boolean', default: true, describe: 'wait until hosts answer on SSH (--no-wait to skip)' })
        .option('dry', { type: 'boolean', default: false, describe: 'print the plan only' }),
    load: () => import('./commands/resume.js'),
  },
  {
    command: 'release <hosts..>',
    describe: 'Remove some compute hosts (names or a pattern), keeping the rest: scale down',
    builder: (y) =>
      y
        .positional('hosts', { type: 'string', array: true, describe: 'host names or patterns, e.g. local3 or ec2:&gpu' })
        .option('dry', { type: 'boolean', default: false, describe: 'list what would go, remove nothing' }),
    load: () => import('./commands/release.js'),
  },
  {
    command: 'destroy <provider>',
    describe: 'Remove every host and resource of a provider, and their ssh aliases (asks first)',
    builder: (y) =>
      y
        .positional('provider', { choices: PROVIDERS.map((p) => p.name) })
        .option('yes', { type: 'boolean', default: false, describe: 'do not ask (needed without a terminal)' })
        .option('dry', { type: 'boolean', default: false, describe: 'list what would go, remove nothing' }),
    load: () => import('./commands/destroy.js'),
  },
  {
    command: 'adopt [id]',
    describe: 'After .pcc/ was lost: list projects found by their cloud tags, or rebuild this one from project ID',
    builder: (y) =>
      y
        .positional('id', { type: 'string', describe: 'the project id, as pcc adopt lists it' })
        .option('provider', { choices: ['ec2'] as const, default: 'ec2', describe: 'where to look' }),
    load: () => import('./commands/adopt.js'),
  },
  {
    command: 'status',
    describe: 'What runs, since when, and what it costs',
    load: () => import('./commands/status.js'),
  },
  {
    command: 'hosts [action] [name] [target]',
    describe: 'List hosts; `hosts show NAME`, `hosts add NAME user@addr[:port]`, `hosts rm NAME`, `hosts import inventory.ini|yml`',
    builder: (y) =>
      y
        .positional('action', { choices: ['list', 'show', 'add', 'rm', 'import'] as const, default: 'list' })
        .positional('name', { type: 'string', describe: 'host name (import: the inventory file)' })
        .positional('target', { type: 'string', describe: 'user@address[:port]' })
        .option('key', { type: 'string', describe: 'private key file' })
        .option('group', { type: 'string', array: true, default: [], describe: 'extra group (repeatable)' })
        .option('var', { type: 'string', array: true, describe: 'add: a variable K=V for config/hosts/NAME.env (repeatable)' }),
    load: () => import('./commands/hosts.js'),
  },
  {
    command: 'exec <pattern>',
    describe: 'Run a command on every matching host: pcc exec PATTERN -- CMD...',
    builder: (y) => y.positional('pattern', { type: 'string' }),
    load: () => import('./commands/exec.js'),
  },
  {
    command: 'job <action> [target]',
    describe: 'Run work on the swarm: job run IMAGE [-- CMD...], job ls, job logs NAME, job wait NAME, job rm NAME',
    builder: (y) =>
      y
        .positional('action', { choices: ['run', 'ls', 'logs', 'wait', 'rm'] as const })
        .positional('target', { type: 'string', describe: 'run: the image (a docker/NNN-name or any reference); else the job name' })
        .option('name', { type: 'string', describe: 'run: the job name (default: image name plus a random suffix)' })
        .option('replicas', { type: 'number', default: 1, describe: 'run: how many tasks (each gets PCC_TASK_INDEX 0..N-1)' })
        .option('parallel', { type: 'number', describe: 'run: tasks at once (default: all)' })
        .option('on', { type: 'string', describe: 'run: host pattern to place tasks on, e.g. gpu, ec2:&gpu, local1' })
        .option('gpus', { type: 'number', describe: 'run: GPUs per task' })
        .option('cpus', { type: 'number', describe: 'run: CPUs per task' })
        .option('memory', { type: 'string', describe: 'run: memory per task, e.g. 2G' })
        .option('retries', { type: 'number', default: 0, describe: 'run: extra attempts for a task that fails' })
        .option('env', { type: 'string', describe: 'run: KEY=VALUE for every task (repeat the flag for more)' })
        .option('wait', { type: 'boolean', default: false, describe: 'run: follow the job to its end' })
        .option('follow', { type: 'boolean', default: false, describe: 'logs: keep printing until the job ends' })
        .option('task', { type: 'number', describe: 'logs: only this task index' })
        .option('yes', { type: 'boolean', default: false, describe: 'rm: stop unfinished tasks without asking' }),
    load: () => import('./commands/job.js'),
  },
  {
    command: 'run <playbook> <pattern>',
    describe: 'Run a playbook (a .ts or .js module) on matching hosts',
    builder: (y) =>
      y
        .positional('playbook', { type: 'string' })
        .positional('pattern', { type: 'string' })
        .option('dry', { type: 'boolean', default: false, describe: 'plan only and show what would change' })
        .option('var', { type: 'string', array: true, describe: 'a variable K=V, over every file (repeatable)' }),
    load: () => import('./commands/run.js'),
  },
];

export async function main(argv: string[]): Promise<number> {
  let exitCode = 0;
  const parser = yargs(argv)
    .scriptName('pcc')
    .usage('$0 <command> [options]\n\nA personal compute cloud: one controller, hosts from local, vagrant or ec2, set up alike.')
    .option('project', { type: 'string', describe: 'project folder (default: the current directory)', global: true })
    .option('json', { type: 'boolean', default: false, describe: 'print a machine-readable result', global: true })
    .parserConfiguration({ 'populate--': true })
    .strict()
    .demandCommand(1, 'name a command; see pcc --help')
    .recommendCommands()
    .wrap(Math.min(100, process.stdout.columns || 100))
    .fail((msg, err) => {
      throw err ?? new UsageError(msg);
    });

  skipHelpRendering(parser);
  for (const spec of commands) {
    parser.command(spec.command, spec.describe, spec.builder ?? ((y) => y), async (args) => {
      exitCode = await runCommand(spec, args as GlobalArgs);
    });
  }

  try {
    await parser.parseAsync();
    return exitCode;
  } catch (err) {
    return reportError(err);
  }
}

class UsageError extends Error {}

/**
 * yargs renders the matched command's whole help text before the handler's
 * promise settles, only in case the handler prints it later; pcc's handlers
 * never do, and that rendering (string widths of every line) was a tenth of
 * `pcc hosts` in \`node --cpu-prof\`. Errors and --help still render it.
 */
function skipHelpRendering(parser: Argv): void {
  const usage = (parser as unknown as { getInternalMethods?: () => { getUsageInstance?: () => { cacheHelpMessage?: () => void } } })
    .getInternalMethods?.()
    .getUsageInstance?.();
  if (usage?.cacheHelpMessage) usage.cacheHelpMessage = () => {};
}

async function runCommand(spec: CommandSpec, args: GlobalArgs): Promise<number> {
  const [{ createContext }, mod] = await Promise.all([import('./context.js'), spec.load()]);
  return mod.default(args, createContext(args, spec.startsProject === true));
}

async function reportError(err: unknown): Promise<number> {
  if (err instanceof UsageError) {
    process.stderr.write(`pcc: ${err.message}\n`);
    return 2;
  }
  const { isPccError } = await import('../core/errors.js');
  if (isPccError(err)) {
    process.stderr.write(`pcc: ${err.message}\n`);
    return err.exitCode;
  }
  process.stderr.write(`pcc: internal error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  return 70;
}
