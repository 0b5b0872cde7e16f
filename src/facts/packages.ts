import { quote } from '../remote/shell.js';
import { defineFact, type Fact } from './fact.js';
import { packageScope } from './scope.js';

/** Which of these Debian packages are installed: name → installed. An install of any package (the system at large) makes it stale. */
export function debPackages(names: readonly string[]): Fact<Record<string, boolean>> {
  const sorted = [...names].sort();
  return defineFact({
    key: `dpkg:${sorted.join(',')}`,
    reads: sorted.map(packageScope),
    script: `command -v dpkg-query >/dev/null 2>&1 || exit 0; for p in ${sorted.map(quote).join(' ')}; do printf '%s %s\\n' "$p" "$(dpkg-query -W -f='\${Status}' "$p" 2>/dev/null)"; done`,
    parse(out) {
      const result: Record<string, boolean> = Object.fromEntries(sorted.map((n) => [n, false]));
      for (const line of out.split('\n')) {
        const [name, ...status] = line.split(' ');
        if (name && name in result) result[name] = status.join(' ').endsWith('ok installed');
      }
      return result;
    },
  });
}
