import { readFile } from 'node:fs/promises';
import { createConnection, type Socket } from 'node:net';
import type { Duplex, Readable } from 'node:stream';
import type { NodeSSH } from 'node-ssh';
import type { AuthenticationType, Client, ClientChannel } from 'ssh2';
import { UnreachableError, UserInputError } from '../core/errors.js';
import { onInterrupt } from '../core/interrupt.js';
import { expandHome, isProjectKey } from '../core/project.js';
import { asRoot } from './become.js';
import type { ExecResult } from './remote-shell.js';
import { channelPipe, ShellSession } from './shell-session.js';
import { timedOutMessage, type Deadline } from './timeouts.js';
import { traceScript } from './trace.js';

export interface Endpoint {
  name: string;
  address: string;
  port: number;
  user: string;
  /** Private key file; without one the ssh agent is used. */
  key?: string;
}

export interface ConnectOptions {
  home: string;
  timeoutMs: number;
  retries: number;
  /** Decides whether the presented host key is acceptable (pcc's known_hosts, trust on first use). */
  verifyHostKey?: (host: Endpoint, key: Buffer) => boolean;
  /** How often an idle connection asks the host whether it is still there (5 s); tests shorten it. */
  keepaliveIntervalMs?: number;
  /** One line of sh that every shell session and command on this connection runs first (it must print nothing). */
  preamble?: string;
}

/** Keepalives unanswered before the host counts as gone: with the 5 s interval, a dead peer is found within 20 s. */
const KEEPALIVE_COUNT_MAX = 3;

/** One SSH connection per host per run: a playbook's round trips share one shell session on it. */
export class Connection {
  private readonly client: Client;
  /** Why the connection died or was dropped (a keepalive timeout, a reset, a round trip's deadline): what every round trip then reports. */
  private fate?: string;

  private constructor(
    readonly host: Endpoint,
    private readonly ssh: NodeSSH,
    keepaliveIntervalMs: number,
    private readonly preamble: string | undefined,
  ) {
    this.client = ssh.connection!;
    // node-ssh listens for errors only during the handshake and its own calls:
    // without this, a keepalive timeout would be an uncaught error that ends pcc.
    // ssh2 destroys the socket right after, which closes every channel.
    this.client.on('error', (err: Error & { level?: string }) => {
      this.fate ??=
        err.level === 'client-timeout'
          ? `the host stopped answering (${KEEPALIVE_COUNT_MAX} SSH keepalives ${keepaliveIntervalMs / 1000} s apart went unanswered)`
          : `connection lost: ${err.message}`;
    });
  }

  static async open(host: Endpoint, options: ConnectOptions): Promise<Connection> {
    // The TCP connection is dialled first: sshd forks and sends its banner
    // while node-ssh and ssh2 load, which takes about as long.
    let sock = dial(host);
    const [{ NodeSSH }, { privateKey, agent }] = await Promise.all([sshModules(), credentials(host, options.home)]).catch((err: unknown) => {
      sock.socket.destroy();
      throw err;
    });
    const methods: AuthenticationType[] = [...(privateKey ? (['publickey'] as const) : []), ...(agent ? (['agent'] as const) : [])];
    const keepaliveIntervalMs = options.keepaliveIntervalMs ?? 5_000;
    let lastError: unknown;
    // Our own verdict on the key, not ssh2's wording, says why a handshake failed.
    let keyRefused = false;
    const hostVerifier = options.verifyHostKey
      ? (key: Buffer) => {
          const ok = options.verifyHostKey!(host, key);
          keyRefused ||= !ok;
          return ok;
        }
      : undefined;
    for (let attempt = 0; attempt <= options.retries; attempt++) {
      if (attempt > 0) {
        await sleep(backoffMs(attempt));
        sock = dial(host);
      }
      if (sock.failed) {
        // Refused or reset before ssh2 came to it: a failed attempt like any other.
        lastError = sock.failed;
        continue;
      }
      const ssh = new NodeSSH();
      try {
        await ssh.connect({
          host: host.address,
          port: host.port,
          sock: sock.socket,
          username: host.user,
          privateKey,
          agent,
          // Straight to the key (and the agent): sshd would only refuse the "none" method first.
          authHandler: methods,
          readyTimeout: options.timeoutMs,
          keepaliveInterval: keepaliveIntervalMs,
          keepaliveCountMax: KEEPALIVE_COUNT_MAX,
          hostVerifier,
        });
        return new Connection(host, ssh, keepaliveIntervalMs, options.preamble);
      } catch (err) {
        ssh.dispose();
        sock.socket.destroy();
        lastError = err;
        if (keyRefused || !isTransient(err)) break;
      }
    }
    throw new UnreachableError(host.name, describeConnectError(host, lastError, keyRefused));
  }

  /**
   * Runs an sh script fed on stdin, so its length and quoting never depend on
   * the remote login shell. `become` runs it as root through sudo.
   */
  async script(text: string, options: { become?: boolean; onOutput?: (chunk: string) => void; deadline?: Deadline } = {}): Promise<ExecResult> {
    return this.exec(this.shellCommand(options.become), { stdin: text, onOutput: options.onOutput, deadline: options.deadline });
  }

  /**
   * A shell that stays open for many scripts: one session, one login, however
   * many round trips. The deadline bounds opening the session; each round
   * trip brings its own.
   */
  async shell(options: { become?: boolean; deadline?: Deadline } = {}): Promise<ShellSession> {
    const { deadline } = options;
    if (this.fate) throw this.lost('');
    return new Promise<ShellSession>((resolve, reject) => {
      const timer =
        deadline &&
        setTimeout(() => {
          const reason = timedOutMessage(deadline, '');
          reject(this.lost(reason));
          this.abandon(reason);
        }, deadline.ms);
      const opened = (err: Error | undefined, channel: ClientChannel) => {
        if (timer) clearTimeout(timer);
        if (err) return reject(this.lost(`connection lost: ${err.message}`));
        const forget = onInterrupt(() => stopChannel(channel));
        channel.once('close', forget);
        if (this.preamble) channel.write(`${this.preamble}\n`);
        resolve(new ShellSession(channelPipe(channel), (reason) => this.lost(reason), this.host.name, (reason) => this.abandon(reason, channel)));
      };
      try {
        this.client.exec(this.shellCommand(options.become), opened);
      } catch (err) {
        // ssh2 throws when the socket is already gone (a keepalive timeout ended it).
        opened(err as Error, undefined as never);
      }
    });
  }

  /** The error for a round trip that cannot finish: why the connection died, if it did, else the reason given. */
  private lost(reason: string): UnreachableError {
    return new UnreachableError(this.host.name, `${this.host.name}: ${this.fate ?? reason}`);
  }

  /**
   * Drops the connection, after a TERM to what runs (see `signalRemote`) and
   * a moment for it to leave. Destroyed, not ended: a host that does not
   * finish a round trip cannot be trusted to finish a goodbye either, and a
   * socket left open would keep pcc from exiting.
   */
  private abandon(reason: string, channel?: ClientChannel): void {
    // Nothing more goes out on it from now on, though the socket lives a moment longer.
    this.fate ??= reason;
    if (channel) signalRemote(channel, 'TERM');
    setTimeout(() => this.client.destroy(), 200);
  }

  private shellCommand(become: boolean | undefined): string {
    return become ? this.asRoot('sh -s') : 'sh -s';
  }

  /** `command` as root on this host (see `asRoot`): what `become` means for a command of one's own. */
  asRoot(command: string): string {
    return asRoot(this.host.user, command);
  }

  /**
   * One command on its own channel. With a deadline that passes, the command
   * counts as unreachable and the connection is dropped (see `abandon`).
   */
  async exec(command: string, options: { stdin?: string | Readable; onOutput?: (chunk: string) => void; deadline?: Deadline } = {}): Promise<ExecResult> {
    let stopOnInterrupt = () => {};
    let channel: ClientChannel | undefined;
    let timer: NodeJS.Timeout | undefined;
    const { deadline, onOutput } = options;
    // Kept only for a deadline that names its step from the output so far.
    let soFar = '';
    const keep = deadline && typeof deadline.step === 'function';
    traceScript(this.host.name, typeof options.stdin === 'string' ? `${command} <<'stdin'\n${options.stdin}\nstdin` : command);
    if (this.fate) throw this.lost('');
    try {
      const running = this.ssh.execCommand(this.preamble ? `${this.preamble}\n${command}` : command, {
        stdin: options.stdin,
        noTrim: true,
        // Interrupted, pcc asks sshd to signal what it started (OpenSSH delivers "signal" requests), then hangs up.
        onChannel: (c) => {
          channel = c;
          stopOnInterrupt = onInterrupt(() => stopChannel(c));
        },
        onStdout:
          onOutput || keep
            ? (b) => {
                if (keep) soFar += b.toString();
                onOutput?.(b.toString());
              }
            : undefined,
        onStderr: onOutput ? (b) => onOutput(b.toString()) : undefined,
      });
      const expired =
        deadline &&
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => {
            const reason = timedOutMessage(deadline, soFar);
            reject(this.lost(reason));
            this.abandon(reason, channel);
          }, deadline.ms);
        });
      const result = await (expired ? Promise.race([running, expired]) : running);
      if (result.code === null) {
        // A channel that ends without an exit status means the connection or the host went away.
        throw this.lost(`connection lost (${result.signal ?? 'no exit status'})`);
      }
      return { code: result.code, stdout: result.stdout, stderr: result.stderr };
    } catch (err) {
      if (err instanceof UnreachableError) throw err;
      throw this.lost(`connection lost: ${(err as Error).message}`);
    } finally {
      if (timer) clearTimeout(timer);
      stopOnInterrupt();
    }
  }

  /** A TCP stream to `host:port` as the remote host sees it (the far end of `ssh -L`). */
  forwardOut(host: string, port: number): Promise<Duplex> {
    const client = this.ssh.connection;
    if (!client) return Promise.reject(this.lost('not connected'));
    return new Promise((resolve, reject) => {
      client.forwardOut('127.0.0.1', 0, host, port, (err, channel) => (err ? reject(err) : resolve(channel)));
    });
  }

  close(): void {
    this.ssh.dispose();
  }
}

/** A TCP connection on its way, and its error if it failed before ssh2 listened to it. */
interface Dial {
  socket: Socket;
  failed?: Error;
}

function dial(host: Endpoint): Dial {
  const socket = createConnection({ host: host.address, port: host.port, noDelay: true });
  const d: Dial = { socket };
  socket.once('error', (err) => (d.failed ??= err));
  // A host that accepts and hangs up at once (sshd at MaxStartups) sends no error;
  // handed to ssh2 after the fact, such a socket would only time out.
  socket.once('close', () => (d.failed ??= new Error('the connection closed before the SSH handshake')));
  return d;
}

let loading: Promise<{ NodeSSH: typeof NodeSSH; ssh2: typeof import('ssh2') }> | undefined;

/**
 * node-ssh and ssh2 (about 40 CommonJS modules, some 35 ms to load) come in
 * with the first connection, so a command that opens none (`pcc status` of
 * static hosts) never loads them.
 */
export function sshModules(): Promise<{ NodeSSH: typeof NodeSSH; ssh2: typeof import('ssh2') }> {
  return (loading ??= Promise.all([import('node-ssh'), import('ssh2')]).then(([nodeSsh, ssh2]) => ({ NodeSSH: nodeSsh.NodeSSH, ssh2: ssh2.default })));
}

/**
 * What pcc logs in with, as OpenSSH would: the key file, and the agent
 * (SSH_AUTH_SOCK) when one runs. An encrypted key file is left to the agent,
 * which holds it unlocked; without an agent it is an error that says so.
 */
async function credentials(host: Endpoint, home: string): Promise<{ privateKey?: string; agent?: string }> {
  const agent = process.env.SSH_AUTH_SOCK || undefined;
  if (!host.key) return { agent };
  const text = await readKey(host, home);
  const { ssh2 } = await sshModules();
  const parsed = ssh2.utils.parseKey(text);
  if (!(parsed instanceof Error)) return { privateKey: text, agent };
  if (/encrypted|passphrase/i.test(parsed.message)) {
    if (agent) return { agent };
    throw new UserInputError(
      `host ${host.name}: ${host.key} is encrypted and no ssh-agent runs; load it with ssh-add ${host.key} (with SSH_AUTH_SOCK set), or use a key without a passphrase`,
    );
  }
  // Said once, not retried as a connection failure: no attempt could read it either.
  throw new UserInputError(
    `host ${host.name}: cannot use the key ${host.key} (${parsed.message}); ` +
      (isProjectKey(host.key)
        ? 'an older pcc made this project key with a generator that spoils 1 key in 256: remove .pcc/ssh/id_ed25519 and .pcc/ssh/id_ed25519.pub, then pcc destroy and pcc acquire the hosts again'
        : 'point the host at an OpenSSH private key (pcc hosts add --key, or PCC_SSH_KEY in config/)'),
  );
}

async function readKey(host: Endpoint, home: string): Promise<string> {
  const file = expandHome(host.key!, home);
  try {
    return await readFile(file, 'utf8');
  } catch {
    throw new UserInputError(`host ${host.name}: cannot read key ${file}; fix the path with pcc hosts add --key, or PCC_SSH_KEY in config/`);
  }
}

/** SIGTERM to the remote command (the shell sshd started for it), then the channel is closed. */
async function stopChannel(channel: ClientChannel): Promise<void> {
  signalRemote(channel, 'TERM');
  await new Promise((r) => setTimeout(r, 200));
  channel.close();
}

interface ChannelInternals {
  outgoing?: { id: number; state: string };
  _client?: { _protocol?: { signal(id: number, name: string): void } };
}

/**
 * A "signal" request on the channel. ssh2's `channel.signal()` sends nothing
 * once our side of stdin has ended, and node-ssh ends it at once for a
 * command without stdin, so the request goes to ssh2's protocol directly:
 * SSH allows channel requests after EOF, and sshd then signals the
 * command's process group (`exec`'s `stoppable` wrapper stops all of it).
 * Best effort: OpenSSH 9.2 refuses signals to a ForceCommand session and to
 * a root login ("session signalling requires privilege separation").
 */
function signalRemote(channel: ClientChannel, name: 'TERM'): void {
  const c = channel as unknown as ChannelInternals;
  try {
    // 'eof': our side sent EOF, the channel is still open.
    const open = c.outgoing?.state === 'open' || c.outgoing?.state === 'eof';
    if (open && c._client?._protocol) c._client._protocol.signal(c.outgoing!.id, name);
    else channel.signal(name);
  } catch {
    // The channel or the connection is already gone.
  }
}

/** A refused login is final; anything else (a refused or reset TCP connection, a timeout) may pass. */
function isTransient(err: unknown): boolean {
  return (err as { level?: string }).level !== 'client-authentication';
}

function describeConnectError(host: Endpoint, err: unknown, keyRefused: boolean): string {
  const e = err as { code?: string; level?: string; message?: string };
  const where = `${host.user}@${host.address}:${host.port}`;
  if (e.level === 'client-authentication') return `${host.name}: ${where} refused the key (authentication failed)`;
  if (keyRefused) {
    return `${host.name}: ${where} presented a host key that does not match pcc's known_hosts; if the host was rebuilt, forget the old key (pcc destroy or ssh-keygen -R)`;
  }
  return `${host.name}: cannot connect to ${where}: ${e.code ?? e.message ?? String(err)}`;
}

// Retried by hand, not with p-retry: the first socket is dialled before the SSH modules load, a failed dial is an attempt that throws nothing, and a refused host key ends the loop at once.
function backoffMs(attempt: number): number {
  return Math.min(4_000, 250 * 2 ** (attempt - 1)) * (0.75 + Math.random() * 0.5);
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
