import { quote } from '../remote/shell.js';
import { defineFact, type Fact } from './fact.js';
import { serviceScope } from './scope.js';

export interface UnitState {
  /** Starts at boot, or needs no enabling: enabled, static, alias, generated (systemctl is-enabled). */
  enabled: boolean;
  active: boolean;
  /** Linked to /dev/null: systemd refuses to enable or start it until it is unmasked. */
  masked: boolean;
}

/**
 * A unit's state as systemctl reports it. It depends on the unit file and on
 * the unit itself, so a change that starts, stops or enables it (or any
 * change to the system at large) makes it stale.
 */
export function unitState(unit: string): Fact<UnitState> {
  const u = quote(unit);
  return defineFact({
    key: `unit:${unit}`,
    reads: [`/etc/systemd/system/${unit}`, serviceScope(unit)],
    script: `printf 'enabled=%s\\n' "$(systemctl is-enabled ${u} 2>/dev/null)"; printf 'active=%s\\n' "$(systemctl is-active ${u} 2>/dev/null)"`,
    parse: parseUnitState,
  });
}

export function parseUnitState(out: string): UnitState {
  return {
    enabled: /^enabled=(enabled|static|alias|generated)/m.test(out),
    active: /^active=(active|activating|reloading)/m.test(out),
    masked: /^enabled=masked/m.test(out),
  };
}
