/** "Did you mean" for commands and flags: edit distance, plus the words people bring from other tools. */
import osaDistance from 'damerau-levenshtein';

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
    // Optimal string alignment: edits plus swaps of two neighbours count one each (jsno → json is one).
    const d = osaDistance(word.toLowerCase(), name.toLowerCase()).steps;
    if (d <= bestDistance && name.length > 1) {
      if (best === undefined || d < bestDistance) best = name;
      bestDistance = d;
    }
  }
  return best;
}
