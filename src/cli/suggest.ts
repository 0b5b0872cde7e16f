/** "Did you mean" for commands and flags: edit distance, plus the words people bring from other tools. */

/** What people type from sky, kamal, vagrant or docker, and pcc's word for it. */
const synonyms: Record<string, string> = {
  down: 'destroy (or save, to keep the hosts)',
  stop: 'save',
  halt: 'save',
  suspend: 'save',
  start: 'resume',
  launch: 'acquire',
  create: 'acquire',
  provision: 'setup',
  deploy: 'run',
  ls: 'hosts',
  list: 'hosts',
  ps: 'status',
  ssh: 'exec (or ssh <alias> directly)',
  rm: 'destroy',
  delete: 'destroy',
};

export function guessCommand(word: string, names: readonly string[]): string | undefined {
  return synonyms[word.toLowerCase()] ?? closest(word, names);
}

/** The nearest name within a third of the word's length, if any. */
export function closest(word: string, names: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Math.max(1, Math.floor(word.length / 3));
  for (const name of names) {
    const d = distance(word.toLowerCase(), name.toLowerCase());
    if (d <= bestDistance && name.length > 1) {
      if (best === undefined || d < bestDistance) best = name;
      bestDistance = d;
    }
  }
  return best;
}

/** Optimal string alignment distance: edits plus swaps of two neighbours (jsno → json is one). */
function distance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i]![j] = Math.min(d[i]![j]!, d[i - 2]![j - 2]! + 1);
    }
  }
  return d[a.length]![b.length]!;
}
