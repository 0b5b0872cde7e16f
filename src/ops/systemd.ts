import { fileState } from '../facts/files.js';
import { unitState } from '../facts/systemd-unit.js';
import { cmd, type Command } from '../remote/shell.js';
import { planFile } from './files.js';
import { SYSTEM, type Operation } from './operation.js';

export interface UnitOptions {
  content: string;
  enabled?: boolean;
  /** `started` (default) keeps it running and restarts it when the unit file changed. */
  state?: 'started' | 'stopped';
}

/** A unit file in /etc/systemd/system; reload, enable and restart only when something changed. */
export function systemdUnit(unit: string, options: UnitOptions): Operation {
  const path = `/etc/systemd/system/${unit}`;
  const file = fileState(path);
  const status = unitState(unit);
  const enabled = options.enabled ?? true;
  const state = options.state ?? 'started';
  return {
    name: `unit ${unit}`,
    facts: [file, status],
    touches: [path, SYSTEM],
    plan(read) {
      const written = planFile(path, read(file), { content: options.content, mode: '0644' });
      const st = read(status);
      const commands: Command[] = [];
      const notes: string[] = [];
      if (written) {
        commands.push(...written.commands, cmd('systemctl', 'daemon-reload'));
        notes.push(written.summary);
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
      } else if (state === 'started' && written) {
        commands.push(cmd('systemctl', 'restart', unit));
        notes.push('restart');
      } else if (state === 'stopped' && st.active) {
        commands.push(cmd('systemctl', 'stop', unit));
        notes.push('stop');
      }
      return commands.length ? { commands, summary: notes.join(', '), diff: written?.diff } : undefined;
    },
  };
}
