import { quote } from '../remote/shell.js';
import { defineFact, type Fact } from './fact.js';

export interface UnitState {
  enabled: boolean;
  active: boolean;
}

export function unitState(unit: string): Fact<UnitState> {
  const u = quote(unit);
  return defineFact({
    key: `unit:${unit}`,
    reads: [`/etc/systemd/system/${unit}`],
    script: `printf 'enabled=%s\\n' "$(systemctl is-enabled ${u} 2>/dev/null)"; printf 'active=%s\\n' "$(systemctl is-active ${u} 2>/dev/null)"`,
    parse(out) {
      const enabled = /^enabled=(enabled|static|alias|generated)/m.test(out);
      const active = /^active=(active|activating|reloading)/m.test(out);
      return { enabled, active };
    },
  });
}
