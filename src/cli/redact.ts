import { holdsSecret, MASK, redactSecrets } from '../core/secrets.js';

/** Shapes of secrets that scripts carry: private keys, WireGuard keys, swarm join tokens, passwords in URLs. */
const patterns: [RegExp, string | ((...m: string[]) => string)][] = [
  [/-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?-----END [A-Z ]*PRIVATE KEY-----/g, MASK],
  [/(PrivateKey\s*=\s*)\S+/gi, `$1${MASK}`],
  [/(PresharedKey\s*=\s*)\S+/gi, `$1${MASK}`],
  [/SWMTKN-1-[\w-]+/g, MASK],
  [/(--token[ =])\S+/g, `$1${MASK}`],
  [/(:\/\/[^/\s:@]+:)[^@\s/]+@/g, `$1${MASK}@`],
  // Stdin holding a NUL byte travels base64-encoded in a script (remote/shell.ts): a secret in it is hidden by decoding.
  [/(printf '%s' )([A-Za-z0-9+/=]+)( \| base64 -d)/g, (all, head, b64, tail) => (holdsSecret(Buffer.from(b64!, 'base64').toString('utf8')) ? `${head}${MASK}${tail}` : all!)],
];

/** What pcc prints, with the secrets the core noted (core/secrets.ts) and the shapes above masked. */
export function redactOutput(text: string): string {
  let out = redactSecrets(text);
  for (const [re, to] of patterns) out = typeof to === 'string' ? out.replace(re, to) : out.replace(re, to);
  return out;
}

let installed = false;

/**
 * Every line pcc writes, from any printer (results, --json, the live view
 * and progress lines, --verbose scripts, warnings, errors, the interrupt
 * notice), ends in process.stdout or process.stderr, so the one filter sits
 * there. A secret the core notes later (a host's variables are resolved
 * mid-command) is hidden from then on. Each write is filtered on its own;
 * pcc writes whole lines (and listr2 whole frames), so a secret is never
 * split between two.
 */
export function installRedaction(): void {
  if (installed) return;
  installed = true;
  for (const stream of [process.stdout, process.stderr]) {
    const write = stream.write.bind(stream) as (chunk: unknown, ...rest: unknown[]) => boolean;
    stream.write = ((chunk: unknown, ...rest: unknown[]) => write(redactChunk(chunk, rest[0]), ...rest)) as typeof stream.write;
  }
}

function redactChunk(chunk: unknown, encoding: unknown): unknown {
  if (typeof chunk === 'string') return encoding === undefined || typeof encoding === 'function' || /^utf-?8$/i.test(String(encoding)) ? redactOutput(chunk) : chunk;
  if (chunk instanceof Uint8Array) {
    // Bytes are passed through untouched unless they hold text to hide, so binary output stays intact.
    const text = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength).toString('utf8');
    const out = redactOutput(text);
    return out === text ? chunk : Buffer.from(out);
  }
  return chunk;
}
