import yargs, { type Argv } from 'yargs';
import { isPccError, UsageError } from '../core/errors.js';
import { quote } from '../remote/shell.js';
import { ADOPT_PROVIDERS, COMPUTE_PROVIDERS, CONTROLLER_PROVIDERS, PROVIDERS, VOLUME_PROVIDERS, type AcquireOption } from '../providers/registry.js';
import type { CliContext, GlobalArgs } from './context.js';
import { completeWord } from './complete.js';
import { closest, guessCommand } from './suggest.js';
import { packageVersion } from './version.js';

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
  /** At least one, shown in the command's --help: [command line, what it does]. */
  examples: [string, string][];
  load: Loader;
  /** May make a new project in a folder that is not one yet. */
  startsProject?: true;
  /** Takes a command of the user's after `--` (exec): one written without it is answered with where the `--` goes. */
  commandAfterDashes?: true;
}

const providers = COMPUTE_PROVIDERS;

/** Every provider's own flags (from the registry); a flag given to another provider is refused by the command. */
function providerOptions(y: Argv, kind: 'acquireOptions' | 'saveOptions'): Argv {
  // A flag several providers declare (local's and vm's --site) is one option, named with all of them.
  const byFlag = new Map<string, { option: AcquireOption; providers: string[] }>();
  for (const entry of PROVIDERS) {
    for (const o of entry[kind] as readonly AcquireOption[]) {
      const seen = byFlag.get(o.flag);
      if (seen) seen.providers.push(entry.name);
      else byFlag.set(o.flag, { option: o, providers: [entry.name] });
    }
  }
  for (const { option: o, providers: names } of byFlag.values()) {
    y = y.option(o.flag, { type: o.type, ...(o.choices ? { choices: o.choices } : {}), describe: `${names.join(', ')}: ${o.describe}` });
  }
  return y;
}
const patternHelp = "host pattern: a host, group, alias or glob; a:b union, 'a:&b' intersection, a:-b (or 'a:!b') exclusion";

/** Commands that run playbooks or commands on hosts: one limit for every round trip there, over both settings. */
function withTimeout(y: Argv): Argv {
  return y.option('timeout', {
    type: 'number',
    requiresArg: true,
    describe: 'seconds a round trip on a host may take before it counts as unreachable (default: PCC_TIMEOUT_S, 120; PCC_APPLY_TIMEOUT_S, 1800, for applying changes)',
  });
}

const commands: CommandSpec[] = [
  {
    command: 'new [dir]',
    describe: 'Start a project folder: config/*.env.example, docker/100-hello, playbooks/, .gitignore',
    builder: (y) => y.positional('dir', { type: 'string', default: '.', describe: 'the folder to create or fill (default: here)' }),
    examples: [['$0 new my-cloud', 'scaffold ./my-cloud; then cd my-cloud && pcc up']],
    load: () => import('./commands/new.js'),
  },
  {
    command: 'init',
    describe: 'Bring up the controller: registry, /project share and overlay hub',
    builder: (y) =>
      withTimeout(y)
        .option('provider', { choices: CONTROLLER_PROVIDERS, default: 'vagrant', describe: 'where the controller runs' })
        .option('dry', { type: 'boolean', default: false, describe: 'plan only, change nothing' }),
    examples: [
      ['$0 init --provider local', 'the controller as a systemd-nspawn machine on this Linux box'],
      ['$0 init --dry', 'show what would change on the Vagrant controller'],
    ],
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
        .option('volume', { type: 'string', requiresArg: true, describe: 'NAME[:/data]: attach this volume (pcc volume create) to the host brought up and mount it there' })
        .option('wait', { type: 'boolean', default: true, describe: 'wait until hosts answer on SSH (--no-wait to skip)' })
        .option('autostop', { type: 'string', requiresArg: true, describe: 'the hosts power themselves off after this long idle, e.g. 30m (see pcc autostop)' })
        .option('dry', { type: 'boolean', default: false, describe: 'print the plan and its price, and render files only' })
        .option('yes', { type: 'boolean', default: false, describe: 'launch without asking, even above PCC_CONFIRM_USD_PER_HOUR (needed then off a terminal)' }),
    examples: [
      ['$0 acquire local --count 2', 'two compute hosts on this machine'],
      ['$0 acquire ec2 --type gpu --spot', 'one GPU spot instance'],
      ['$0 acquire ec2 --autostop 30m', 'one host that stops itself after 30 idle minutes'],
    ],
    load: () => import('./commands/acquire.js'),
    startsProject: true,
  },
  {
    command: 'setup <pattern>',
    describe: 'Join matching hosts to the registry, share and overlay (idempotent)',
    builder: (y) =>
      withTimeout(y)
        .positional('pattern', { type: 'string', describe: patternHelp })
        .option('dry', { type: 'boolean', default: false, describe: 'plan only and show what would change' }),
    examples: [
      ['$0 setup local', 'every local host'],
      ["$0 setup 'ec2:&gpu' --dry", 'what setup would change on the EC2 GPU hosts'],
    ],
    load: () => import('./commands/setup.js'),
  },
  {
    command: 'autostop <pattern>',
    describe: 'Let matching hosts power themselves off when idle (no SSH session, container, GPU or CPU load), or when pcc has not talked to them for --lease',
    builder: (y) =>
      withTimeout(y)
        .positional('pattern', { type: 'string', describe: patternHelp })
        .option('idle', { type: 'string', requiresArg: true, describe: 'how long a host may be idle before it powers off, e.g. 30m, 2h' })
        .option('lease', { type: 'string', requiresArg: true, describe: 'power off after this long without word from pcc, even if busy, e.g. 12h' })
        .option('down', { type: 'boolean', default: false, describe: 'ec2: terminate on that shutdown instead of stop (the disk goes)' })
        .option('off', { type: 'boolean', default: false, describe: 'stop the agent and forget the setting' })
        .option('static-ok', { type: 'boolean', default: false, describe: 'let static hosts power off too, though pcc cannot start them again' })
        .option('dry', { type: 'boolean', default: false, describe: 'plan only and show what would change' }),
    examples: [
      ['$0 autostop ec2 --idle 30m', 'EC2 hosts stop after 30 idle minutes'],
      ['$0 autostop gpu --idle 1h --lease 12h --down', 'GPU hosts terminate after an idle hour, or 12 h without pcc'],
      ['$0 autostop all:-init --off', 'no autostop anywhere'],
    ],
    load: () => import('./commands/autostop.js'),
  },
  {
    command: 'up',
    describe: 'init + one compute host + setup + build, in one go',
    builder: (y) =>
      withTimeout(y).option('provider', { choices: CONTROLLER_PROVIDERS, default: 'local', describe: 'where everything runs' }),
    examples: [['$0 up --provider local', 'controller, one host, setup and images, all on this machine']],
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
    examples: [
      ['$0 build --on init', 'build on the controller, next to the registry'],
      ['$0 build --builder buildah --force', 'rebuild everything here with buildah'],
    ],
    load: () => import('./commands/build.js'),
  },
  {
    command: 'save <provider>',
    describe: 'Stop or snapshot hosts for a quick resume',
    builder: (y) =>
      providerOptions(y.positional('provider', { choices: providers, describe: 'whose hosts to save' }), 'saveOptions').option('dry', {
        type: 'boolean',
        default: false,
        describe: 'print the plan only',
      }),
    examples: [['$0 save ec2', 'stop the EC2 hosts; their disks are kept']],
    load: () => import('./commands/save.js'),
  },
  {
    command: 'resume <provider>',
    describe: 'Start what was saved again; never creates a host',
    builder: (y) =>
      withTimeout(y)
        .positional('provider', { choices: providers, describe: 'whose saved hosts to start' })
        .option('wait', { type: 'boolean', default: true, describe: 'wait until hosts answer on SSH, then set them up (--no-wait: only start them)' })
        .option('dry', { type: 'boolean', default: false, describe: 'print the plan only' }),
    examples: [['$0 resume ec2', 'start the stopped EC2 hosts']],
    load: () => import('./commands/resume.js'),
  },
  {
    command: 'release <hosts..>',
    describe: 'Remove some compute hosts (names or a pattern), keeping the rest: scale down',
    builder: (y) =>
      y
        .positional('hosts', { type: 'string', array: true, describe: "host names or patterns, e.g. local3 or 'ec2:&gpu'" })
        .option('dry', { type: 'boolean', default: false, describe: 'list what would go, remove nothing' })
        .option('yes', { type: 'boolean', default: false, describe: 'do not ask (needed without a terminal)' }),
    examples: [
      ['$0 release local3', 'list what goes with local3, ask, then remove it and keep the rest'],
      ["$0 release 'ec2:&gpu' --dry", 'list what releasing the EC2 GPU hosts would remove'],
    ],
    load: () => import('./commands/release.js'),
  },
  {
    command: 'destroy <provider>',
    describe: 'Remove every host and resource of a provider, and their ssh aliases (asks first)',
    builder: (y) =>
      y
        .positional('provider', { choices: PROVIDERS.map((p) => p.name), describe: 'whose hosts and resources to remove' })
        .option('yes', { type: 'boolean', default: false, describe: 'do not ask (needed without a terminal)' })
        .option('dry', { type: 'boolean', default: false, describe: 'list what would go, remove nothing' }),
    examples: [['$0 destroy local --yes', 'remove the local machines, their network, mounts and disks']],
    load: () => import('./commands/destroy.js'),
  },
  {
    command: 'adopt [id]',
    describe: 'After .pcc/ was lost: list projects found by their cloud tags, or rebuild this one from project ID',
    builder: (y) =>
      y
        .positional('id', { type: 'string', describe: 'the project id, as pcc adopt lists it' })
        .option('provider', { choices: ADOPT_PROVIDERS, default: ADOPT_PROVIDERS[0], describe: 'where to look' }),
    examples: [
      ['$0 adopt', 'list the projects EC2 holds resources for'],
      ['$0 adopt 0123456789ab', 'make this folder that project again'],
    ],
    load: () => import('./commands/adopt.js'),
  },
  {
    command: 'status',
    describe: 'What runs, since when, and what it costs',
    builder: (y) => y.option('wide', { type: 'boolean', default: false, describe: 'every column, however wide the terminal (a terminal otherwise gets the columns that fit)' }),
    examples: [
      ['$0 status', 'a table of every host, fitted to the terminal'],
      ['$0 status --wide', 'every column'],
      ['$0 status --json', 'the same, machine-readable'],
    ],
    load: () => import('./commands/status.js'),
  },
  {
    command: 'hosts [action] [name] [target]',
    describe: 'List hosts; `hosts show NAME`, `hosts add NAME user@addr[:port]`, `hosts rm NAME`, `hosts import inventory.ini|yml`',
    builder: (y) =>
      y
        .positional('action', { choices: ['list', 'show', 'add', 'rm', 'import'] as const, default: 'list', describe: 'list (default), show, add, rm or import' })
        .positional('name', { type: 'string', describe: 'host name (import: the inventory file)' })
        .positional('target', { type: 'string', describe: 'user@address[:port] (add)' })
        .option('key', { type: 'string', describe: 'private key file' })
        .option('group', { type: 'string', array: true, default: [], describe: 'extra group (repeatable)' })
        .option('var', { type: 'string', array: true, describe: 'add: a variable K=V for config/hosts/NAME.env (repeatable)' })
        .option('connect', { type: 'boolean', default: true, describe: "add, import: learn each host's SSH host key now (--no-connect: on pcc's first connection to it)" }),
    examples: [
      ['$0 hosts add gpu1 ubuntu@203.0.113.7 --key ~/.ssh/lab --group lab', 'a machine you already have'],
      ['$0 hosts import inventory.ini', 'hosts and groups from an Ansible inventory'],
      ['$0 hosts rm gpu1', 'forget it again'],
    ],
    load: () => import('./commands/hosts.js'),
  },
  {
    command: 'exec <pattern>',
    describe: 'Run a command on every matching host: pcc exec PATTERN -- CMD...',
    builder: (y) =>
      withTimeout(y)
        .positional('pattern', { type: 'string', describe: patternHelp })
        .option('stdin', { type: 'boolean', default: false, describe: 'give this stdin to every host (one host always gets it)' }),
    examples: [
      ['$0 exec all -- uptime', 'uptime of every host, prefixed by host'],
      ['$0 exec gpu -- nvidia-smi -L', 'the GPUs of the gpu group'],
      ['tar c data | $0 exec local1 -- tar x -C /project', 'stdin goes to the command'],
    ],
    load: () => import('./commands/exec.js'),
    commandAfterDashes: true,
  },
  {
    command: 'sync <direction> <pattern> [first] [second]',
    describe: 'Copy files with rsync: sync up PATTERN [LOCAL_DIR] [REMOTE_DIR], sync down PATTERN REMOTE_DIR [LOCAL_DIR]',
    builder: (y) =>
      y
        .positional('direction', { choices: ['up', 'down'] as const, describe: 'up: to the hosts; down: from them' })
        .positional('pattern', { type: 'string', describe: patternHelp })
        .positional('first', { type: 'string', describe: 'up: LOCAL_DIR (default: the project folder); down: REMOTE_DIR' })
        .positional('second', { type: 'string', describe: 'up: REMOTE_DIR (default: ~/project on the host); down: LOCAL_DIR (default: the project folder; one subfolder per host when several match)' })
        .option('dry', { type: 'boolean', default: false, describe: 'list what would move, move nothing (rsync -n)' }),
    examples: [
      ['$0 sync up local', 'the project folder (less .pcc/, config/.private and .pccignore) to ~/project on every local host'],
      ['$0 sync down gpu results ./out', 'each gpu host\'s ~/results into ./out/<host>/'],
    ],
    load: () => import('./commands/sync.js'),
  },
  {
    command: 'volume <action> [name]',
    describe: 'Data volumes that outlive hosts: volume create NAME --size GiB, volume ls, volume rm NAME',
    builder: (y) =>
      y
        .positional('action', { choices: ['create', 'ls', 'rm'] as const })
        .positional('name', { type: 'string', describe: 'the volume name (lower-case letters, digits, -)' })
        .option('size', { type: 'number', describe: 'create: size in GiB' })
        .option('provider', { choices: VOLUME_PROVIDERS, default: 'local', describe: 'create: where it lives (ec2: an encrypted gp3 EBS volume; vm: a disk file attached by its serial)' })
        .option('dry', { type: 'boolean', default: false, describe: 'say what would happen, change nothing' })
        .option('yes', { type: 'boolean', default: false, describe: 'rm: do not ask (needed without a terminal)' }),
    examples: [
      ['$0 volume create data --size 100 --provider ec2', 'a 100 GiB EBS volume; then pcc acquire ec2 --volume data:/data'],
      ['$0 volume ls', 'every volume, where it is attached and what it costs'],
    ],
    load: () => import('./commands/volume.js'),
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
        .option('on', { type: 'string', describe: "run: host pattern to place tasks on, e.g. gpu, 'ec2:&gpu', local1" })
        .option('gpus', { type: 'number', describe: 'run: GPUs per task' })
        .option('cpus', { type: 'number', describe: 'run: CPUs per task' })
        .option('memory', { type: 'string', describe: 'run: memory per task, e.g. 2G' })
        .option('retries', { type: 'number', default: 0, describe: 'run: extra attempts for a task that fails' })
        .option('env', { type: 'string', describe: 'run: KEY=VALUE for every task (repeat the flag for more)' })
        .option('wait', { type: 'boolean', default: false, describe: 'run: follow the job to its end' })
        .option('follow', { type: 'boolean', default: false, describe: 'logs: keep printing until the job ends' })
        .option('task', { type: 'number', describe: 'logs: only this task index' })
        .option('yes', { type: 'boolean', default: false, describe: 'rm: stop unfinished tasks without asking' }),
    examples: [
      ['$0 job run hello --replicas 6 --parallel 3 --wait', 'six tasks of the docker/NNN-hello image, three at once'],
      ['$0 job logs hello-x1y2 --follow', 'their output per task and host'],
    ],
    load: () => import('./commands/job.js'),
  },
  {
    command: 'run <playbook> <pattern>',
    describe: 'Run a playbook (a .ts or .js module) on matching hosts',
    builder: (y) =>
      withTimeout(y)
        .positional('playbook', { type: 'string', describe: 'a .ts or .js file whose default export is definePlaybook(...)' })
        .positional('pattern', { type: 'string', describe: patternHelp })
        .option('dry', { type: 'boolean', default: false, describe: 'plan only and show what would change' })
        .option('var', { type: 'string', array: true, describe: 'a variable K=V, over every file (repeatable)' }),
    examples: [
      ['$0 run playbooks/site.ts all', 'converge every host'],
      ['$0 run playbooks/site.ts gpu --dry --var GREETING=hi', 'show the diffs it would apply to the gpu hosts'],
    ],
    load: () => import('./commands/run.js'),
  },
  {
    command: 'inventory',
    describe: 'Export the hosts and groups for Ansible (dynamic inventory JSON) or pyinfra',
    builder: (y) =>
      y
        .option('ansible', { type: 'boolean', describe: 'print Ansible dynamic-inventory JSON (--list)' })
        .option('list', { type: 'boolean', hidden: true, describe: 'what ansible passes to an inventory script' })
        .option('host', { type: 'string', hidden: true, describe: 'what ansible may pass for one host' })
        .option('pyinfra', { type: 'string', describe: 'write a pyinfra inventory module to this file' })
        .conflicts('ansible', 'pyinfra'),
    examples: [
      ['$0 inventory --ansible', 'the JSON; as an inventory script: printf \'#!/bin/sh\\nexec pcc inventory --ansible "$@"\\n\' > inv; chmod +x inv; ansible -i inv all -m ping'],
      ['$0 inventory --pyinfra inventory.py', 'then: pyinfra inventory.py exec -- uptime'],
    ],
    load: () => import('./commands/inventory.js'),
  },
];

/** Every command line of every command's --help examples, as printed: a test pastes them into bash. */
export function helpExamples(): string[] {
  return commands.flatMap((c) => c.examples.map(([line]) => line.replace(/\$0/g, 'pcc')));
}

export async function main(argv: string[]): Promise<number> {
  let exitCode = 0;
  const shell = argv[0] === 'completion' ? argv[1] : undefined;
  // yargs picks the script by $SHELL; `pcc completion zsh` asks for one by name.
  if (shell === 'bash' || shell === 'zsh') process.env.SHELL = `/bin/${shell}`;
  const parser = yargs(argv)
    .scriptName('pcc')
    .usage('$0 <command> [options]\n\nA personal compute cloud: one controller, hosts from local, vagrant or ec2, set up alike.')
    .option('project', { type: 'string', describe: 'project folder (default: the current directory)', global: true })
    .option('json', { type: 'boolean', default: false, describe: 'print a machine-readable result on stdout', global: true })
    .option('quiet', { alias: 'q', type: 'boolean', describe: 'print only errors and the recap', global: true })
    .option('verbose', { alias: 'v', type: 'boolean', describe: 'also print the scripts sent to each host (secrets redacted)', global: true })
    .conflicts('quiet', 'verbose')
    .completion('completion', 'Print a bash or zsh completion script: pcc completion [bash|zsh] >> ~/.bashrc', completeWord as never)
    .parserConfiguration({ 'populate--': true })
    .strict()
    .demandCommand(1, 'name a command; see pcc --help')
    .help()
    .alias('help', 'h')
    .version(packageVersion())
    .alias('version', 'V')
    .epilogue('Exit codes: 0 ok, 1 error, 2 usage, 3 some host failed, 4 some host unreachable, 130 interrupted.')
    .wrap(Math.min(100, process.stdout.columns || 100))
    .fail((msg, err) => {
      throw err ?? new UsageError(explainUsage(msg, argv));
    });

  skipHelpRendering(parser);
  for (const spec of commands) {
    parser.command(
      spec.command,
      spec.describe,
      (y) => {
        const built = (spec.builder ?? ((b: Argv) => b))(y);
        for (const [line, what] of spec.examples) built.example(line, what);
        return built;
      },
      async (args) => {
        exitCode = await runCommand(spec, args as GlobalArgs);
      },
    );
  }

  try {
    await parser.parseAsync();
    return exitCode;
  } catch (err) {
    return reportError(err);
  }
}

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

/** yargs' message, with a guess for an unknown command or flag. */
function explainUsage(msg: string, argv: string[]): string {
  const first = commandWord(argv);
  const names = commands.map((c) => c.command.split(' ')[0]!);
  if (first !== undefined && !names.includes(first) && first !== 'completion') {
    const guess = guessCommand(first, names);
    return `unknown command '${first}'${guess ? `; did you mean ${guess}?` : ''} (see pcc --help)`;
  }
  const spec = commands.find((c) => c.command.split(' ')[0] === first);
  const unknown = /^Unknown arguments?: (.+)$/.exec(msg);
  const dashed = unknown && spec?.commandAfterDashes ? withDashes(argv, spec) : undefined;
  if (dashed) return `the command goes after --: pcc ${dashed.map(quote).join(' ')}`;
  if (unknown) {
    const known = ['project', 'json', 'quiet', 'verbose', 'help', 'version', ...(spec ? optionsOf(spec) : [])];
    const parts = unknown[1]!.split(', ').map((flag) => {
      const hint = closest(flag, known);
      return hint ? `--${flag} (did you mean --${hint}?)` : `--${flag}`;
    });
    return `unknown option ${parts.join(', ')}; see pcc ${first ?? ''} --help`.replace(/ +--help$/, ' --help');
  }
  if (msg.startsWith('Invalid values:')) return explainChoices(msg, spec);
  return msg;
}

/** pcc's global flags that take no value: a word after one of them is the command. */
const GLOBAL_SWITCHES = new Set(['--json', '--no-json', '--quiet', '-q', '--verbose', '-v', '--help', '-h', '--version', '-V']);

/**
 * The first word past pcc's global options (`--project DIR`, `--json`, `-q`):
 * where the command is. Undefined after any other option, whose value the
 * word may be (`pcc --timeout 30 status`): yargs' own message then stands.
 */
function commandWord(argv: string[]): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--project') i++;
    else if (a.startsWith('--project=') || GLOBAL_SWITCHES.has(a)) continue;
    else if (a.startsWith('-')) return undefined;
    else return a;
  }
  return undefined;
}

/** yargs' several-line "Invalid values" as one line per pcc's rule: what was given, what may be, and the nearest. */
function explainChoices(msg: string, spec: CommandSpec | undefined): string {
  const flags = new Set(spec ? optionsOf(spec) : []);
  const parts = [...msg.matchAll(/Argument: (\S+), Given: (.+), Choices: (.+)/g)].map(([, name, given, choices]) => {
    const allowed = [...choices!.matchAll(/"([^"]*)"/g)].map((m) => m[1]!);
    const values = [...given!.matchAll(/"([^"]*)"/g)].map((m) => m[1]!);
    const bad = values.filter((v) => !allowed.includes(v));
    const shown = bad.length > 0 ? bad : [given!];
    const guess = shown.length === 1 ? closest(shown[0]!, allowed) : undefined;
    const label = flags.has(name!) ? `--${name}` : name!;
    return `${label} ${shown.map((v) => `'${v}'`).join(', ')} ${shown.length === 1 ? 'is' : 'are'} not one of ${allowed.join(', ')}${guess ? `; did you mean ${guess}?` : ''}`;
  });
  return parts.length > 0 ? parts.join('; ') : msg.replace(/\s*\n\s*/g, ' ');
}

/**
 * `pcc exec web1 true`: the user's command written without its `--`, which
 * yargs would call unknown options (`--true`). The same words with the `--`
 * where it goes: before the first word past the command's positionals that
 * is not one of its flags (or a flag's value). Undefined when that is not
 * what happened: a `--` is there, or an unknown flag comes before the positionals.
 */
function withDashes(argv: string[], spec: CommandSpec): string[] | undefined {
  if (argv.includes('--')) return undefined;
  const valued = new Set(['project', ...optionsOf(spec, true)]);
  const known = new Set([...valued, ...optionsOf(spec), 'json', 'quiet', 'verbose', 'help', 'version', 'q', 'v', 'h', 'V']);
  // The command word and its positionals (exec: the pattern).
  const positionals = spec.command.split(' ').length;
  let seen = 0;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a.startsWith('-') && a.length > 1) {
      const name = a.replace(/^--?(no-)?/, '').split('=')[0]!;
      if (known.has(name)) {
        if (valued.has(name) && !a.includes('=')) i++;
        continue;
      }
      if (seen < positionals) return undefined;
    } else if (++seen <= positionals) continue;
    return [...argv.slice(0, i), '--', ...argv.slice(i)];
  }
  return undefined;
}

/** The flags a command's builder declares, read by running it against a recorder instead of yargs; `valued`: only those that take a value. */
function optionsOf(spec: CommandSpec, valued = false): string[] {
  const names: string[] = [];
  const recorder: Argv = new Proxy({} as Argv, {
    get: (_t, method) => (name: unknown, options?: { type?: string }) => {
      if (method === 'option' && typeof name === 'string' && !(valued && options?.type === 'boolean')) names.push(name);
      return recorder;
    },
  });
  spec.builder?.(recorder);
  return names;
}

async function runCommand(spec: CommandSpec, args: GlobalArgs): Promise<number> {
  const [{ createContext }, { installSignalHandlers }, mod] = await Promise.all([import('./context.js'), import('./signals.js'), spec.load()]);
  const name = spec.command.split(' ')[0]!;
  const ctx = createContext(args, name, spec.startsProject === true);
  installSignalHandlers(`pcc ${name}`, ctx);
  try {
    return await mod.default(args, ctx);
  } finally {
    await ctx.finish();
  }
}

async function reportError(err: unknown): Promise<number> {
  const { EXIT, exitCodeForError } = await import('./exit-codes.js');
  // yargs' refusals are UsageErrors like the commands' own (exit 2).
  if (isPccError(err)) {
    // Its hints (`run pcc init first`) name pcc as it was started, as the next: lines do.
    const { asInvoked, currentInvocation, programWords } = await import('./hints.js');
    const names = commands.map((c) => c.command.split(' ')[0]!);
    process.stderr.write(`pcc: ${asInvoked(err.message, programWords(currentInvocation()), names)}\n`);
    return exitCodeForError(err);
  }
  process.stderr.write(`pcc: internal error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  return EXIT.error;
}
