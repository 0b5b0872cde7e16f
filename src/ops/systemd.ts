import { OperationRefusedError } from '../core/errors.js';
import { fileState } from '../facts/files.js';
import { mountScope, tree } from '../facts/scope.js';
import { unitState, type UnitState } from '../facts/systemd-unit.js';
import { cmd, type Command } from '../remote/shell.js';
import { planFile } from './files.js';
import { SYSTEM, type Change, type Operation } from './operation.js';

export interface ServiceOptions {
  enabled?: boolean;
  /** `started` (default) keeps it running; `stopped` keeps it stopped. */
  state?: 'started' | 'stopped';
  /** Restart a running service when any of these earlier operations changed something (Ansible's notify). */
  restartAfter?: readonly Operation[];
}

export interface UnitOptions extends ServiceOptions {
  content: string;
}

export interface ExistingServiceOptions extends ServiceOptions {
  /** pcc's drop-in for a unit the system ships (`<unit>.d/pcc.conf`); a change reloads systemd and restarts it. */
  dropIn?: string;
}

/** An existing unit kept enabled and running; restarted after changes it depends on. */
export function service(unit: string, options: ExistingServiceOptions = {}): Operation {
  const status = unitState(unit);
  const dropInPath = `/etc/systemd/system/${unit}.d/pcc.conf`;
  const dropIn = options.dropIn === undefined ? undefined : fileState(dropInPath);
  return {
    name: `service ${unit}`,
    facts: dropIn ? [dropIn, status] : [status],
    touches: dropIn ? [dropInPath, ...unitTouches(unit)] : unitTouches(unit),
    plan(read, earlier) {
      const written = dropIn && planFile(dropInPath, read(dropIn), { content: options.dropIn!, mode: '0644' });
      const restart = Boolean(written) || (options.restartAfter ?? []).some((op) => earlier.changed(op));
      const reload = written ? [cmd('mkdir', '-p', `/etc/systemd/system/${unit}.d`), ...written.commands, cmd('systemctl', 'daemon-reload')] : [];
      const change = planService(unit, read(status), options, restart, reload, written ? [written.summary] : []);
      return change && { ...change, diff: written?.diff };
    },
  };
}

/**
 * Starting, stopping or enabling a unit may start or stop others (its Wants=
 * and Requires=), so it alters the system at large; a mount unit also
 * changes everything under its mount point.
 */
function unitTouches(unit: string): string[] {
  const where = mountPointOf(unit);
  return where === undefined ? [SYSTEM] : [SYSTEM, mountScope(where), tree(where)];
}

/** `var-lib-x.mount` mounts /var/lib/x (systemd's path escaping: `-` is `/`, `\x2d` a dash); undefined for other units. */
export function mountPointOf(unit: string): string | undefined {
  if (!unit.endsWith('.mount')) return undefined;
  const name = unit.slice(0, -'.mount'.length);
  if (name === '-') return '/';
  return `/${name
    .split('-')
    .map((part) => part.replace(/\\x([0-9a-f]{2})/gi, (_, hex: string) => String.fromCharCode(Number.parseInt(hex, 16))))
    .join('/')}`;
}

function planService(unit: string, st: UnitState, options: ServiceOptions, restart: boolean, prefix: Command[], notes: string[] = []): Change | undefined {
  const commands = [...prefix];
  const enabled = options.enabled ?? true;
  const state = options.state ?? 'started';
  if (st.masked && (enabled || state === 'started')) {
    throw new OperationRefusedError(`${unit} is masked, so systemd will not ${state === 'started' ? 'start' : 'enable'} it; unmask it (systemctl unmask ${unit}) first`);
  }
  if (enabled && !st.enabled) {
    commands.push(cmd('systemctl', 'enable', unit));
    notes.push('enable');
  } else if (!enabled && st.enabled) {
    commands.push(cmd('systemctl', 'disable', unit));
    notes.push('disable');
  }
  if (state === 'started' && !st.active) {
    commands.push(cmd('systemctl', 'start', unit));
    notes.push('start');
  } else if (state === 'started' && restart) {
    commands.push(cmd('systemctl', 'restart', unit));
    notes.push('restart');
  } else if (state === 'stopped' && st.active) {
    commands.push(cmd('systemctl', 'stop', unit));
    notes.push('stop');
  }
  return commands.length ? { commands, summary: notes.join(', ') } : undefined;
}

/** A unit file in /etc/systemd/system; reload, enable and restart only when something changed. */
export function systemdUnit(unit: string, options: UnitOptions): Operation {
  const path = `/etc/systemd/system/${unit}`;
  const file = fileState(path, { hashLarge: true });
  const status = unitState(unit);
  return {
    name: `unit ${unit}`,
    facts: [file, status],
    touches: [path, ...unitTouches(unit)],
    plan(read, earlier) {
      const written = planFile(path, read(file), { content: options.content, mode: '0644' });
      const restart = Boolean(written) || (options.restartAfter ?? []).some((op) => earlier.changed(op));
      const reload = written ? [...written.commands, cmd('systemctl', 'daemon-reload')] : [];
      const change = planService(unit, read(status), options, restart, reload, written ? [written.summary] : []);
      return change && { ...change, diff: written?.diff };
    },
  };
}
