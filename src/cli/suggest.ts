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

function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const next = Math.min(row[j]! + 1, row[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = row[j]!;
      row[j] = next;
    }
  }
  return row[b.length]!;
}
