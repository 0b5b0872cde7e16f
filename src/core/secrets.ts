/**
 * The values pcc must never print: the secret settings, every value of
 * `config/.private`, and playbook variables marked secret by their name. The
 * core notes each one where it reads it (settings/load.ts, settings/host-vars.ts);
 * everything the CLI writes passes through `redactSecrets` (cli/redact.ts), so
 * no printer has to know which values are secret, and one added later cannot
 * forget. Process-wide, as one pcc command is one process.
 */
export const MASK = '<redacted>';

/** Shorter values would mask ordinary words all over the output, and say little when shown. */
const MIN_LENGTH = 4;

/** Every form a secret takes in what pcc prints, longest first, so that a whole value goes before one of its lines. */
let forms: string[] = [];

/** A playbook variable whose name says it is secret (wherever it is set). */
export function secretLookingName(key: string): boolean {
  return /pass(word|wd|phrase)?($|_)|secret|token|credential|api_?key|(^|_)private_key$/i.test(key);
}

export function noteSecret(value: string): void {
  const next = new Set(forms);
  // Each line alone too: a diff prints a multi-line value a line at a time, each behind its + or -.
  for (const v of [value, ...(value.includes('\n') ? value.split('\n') : [])]) {
    if (v.length < MIN_LENGTH) continue;
    next.add(v);
    // As --json writes it, and as a single-quoted sh word carries it in a script sent.
    next.add(JSON.stringify(v).slice(1, -1));
    next.add(v.replace(/'/g, `'\\''`));
  }
  if (next.size !== forms.length) forms = [...next].sort((a, b) => b.length - a.length);
}

export function redactSecrets(text: string): string {
  let out = text;
  for (const f of forms) if (out.includes(f)) out = out.split(f).join(MASK);
  return out;
}

export function holdsSecret(text: string): boolean {
  return forms.some((f) => text.includes(f));
}

/** Where the first secret in `text` starts, or -1. */
function firstSecretAt(text: string): number {
  let at = -1;
  for (const f of forms) {
    const i = text.indexOf(f);
    if (i >= 0 && (at < 0 || i < at)) at = i;
  }
  return at;
}

/**
 * A unified diff that says a secret's line changes, never its value: the
 * secrets are masked, and so is what a removed line held where it is
 * replaced by a secret's line, since that is most likely the secret's former
 * value (`-password=old`, `+password=new` become `-password=<redacted>`,
 * `+password=<redacted>`). A removed line is paired with the added line of
 * its block that shares the longest start with it (on a tie, any that holds a
 * secret), and keeps only that shared start before the secret.
 */
export function redactDiff(diff: string): string {
  const lines = diff.split('\n');
  let inHunk = false;
  for (let i = 0; i < lines.length; ) {
    if (lines[i]!.startsWith('@@')) inHunk = true;
    // Before the first hunk, `--- path` is the header, not a removed line.
    if (!inHunk || !lines[i]!.startsWith('-')) {
      i++;
      continue;
    }
    let end = i;
    while (end < lines.length && /^[-\\]/.test(lines[end]!)) end++;
    let next = end;
    while (next < lines.length && /^[+\\]/.test(lines[next]!)) next++;
    const added = lines
      .slice(end, next)
      .filter((l) => l.startsWith('+'))
      .map((l) => ({ text: l.slice(1), secretAt: firstSecretAt(l.slice(1)) }));
    if (added.some((a) => a.secretAt >= 0)) {
      for (let r = i; r < end; r++) {
        if (!lines[r]!.startsWith('-')) continue;
        const old = lines[r]!.slice(1);
        const shared = added.map((a) => commonPrefixLength(old, a.text));
        const best = Math.max(...shared);
        const secret = added.filter((a, k) => shared[k] === best && a.secretAt >= 0);
        if (secret.length === 0) continue;
        const keep = Math.min(best, ...secret.map((a) => a.secretAt));
        if (keep < old.length) lines[r] = `-${old.slice(0, keep)}${MASK}`;
      }
    }
    i = next;
  }
  return redactSecrets(lines.join('\n'));
}

function commonPrefixLength(a: string, b: string): number {
  let n = 0;
  while (n < a.length && n < b.length && a[n] === b[n]) n++;
  return n;
}
