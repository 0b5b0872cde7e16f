import SSHConfig, { type Line, type Section } from 'ssh-config';

/** How to reach one machine, as `vagrant ssh-config` reports it. */
export interface SshEndpoint {
  name: string;
  address: string;
  port: number;
  user: string;
  /** The first IdentityFile: the key listed first in the Vagrantfile's private_key_path. */
  key?: string;
}

/** `vagrant ssh-config [names]` output: one `Host <machine>` block per machine. */
export function parseSshConfig(text: string): SshEndpoint[] {
  const out: SshEndpoint[] = [];
  for (const line of SSHConfig.parse(text)) {
    if (!isSection(line) || line.param.toLowerCase() !== 'host') continue;
    const name = directiveText(line.value);
    const get = (param: string) => {
      for (const d of line.config) {
        if ('param' in d && d.param.toLowerCase() === param) return directiveText(d.value);
      }
      return undefined;
    };
    const port = Number(get('port') ?? '22');
    out.push({
      name,
      address: get('hostname') ?? name,
      port: Number.isInteger(port) ? port : 22,
      user: get('user') ?? 'core',
      key: get('identityfile'),
    });
  }
  return out;
}

function isSection(line: Line): line is Section {
  return 'config' in line;
}

function directiveText(value: Section['value']): string {
  return typeof value === 'string' ? value : value.map((v) => v.val).join(' ');
}

/** One `--machine-readable` line: `timestamp,target,type,data...` with vagrant's escapes undone. */
export interface MachineReadableRow {
  target: string;
  type: string;
  data: string[];
}

export function parseMachineReadable(text: string): MachineReadableRow[] {
  const rows: MachineReadableRow[] = [];
  for (const line of text.split(/\r?\n/)) {
    const fields = line.split(',');
    if (fields.length < 3 || !/^\d+$/.test(fields[0]!)) continue;
    rows.push({
      target: fields[1]!,
      type: fields[2]!,
      data: fields.slice(3).map(unescapeMachineReadable),
    });
  }
  return rows;
}

function unescapeMachineReadable(field: string): string {
  return field.replaceAll('%!(VAGRANT_COMMA)', ',').replaceAll('\\n', '\n').replaceAll('\\r', '\r');
}

/** Machine name → vagrant state (`running`, `saved`, `poweroff`, `not_created`, `aborted`, ...). */
export function machineStates(statusText: string): Map<string, string> {
  const states = new Map<string, string>();
  for (const row of parseMachineReadable(statusText)) {
    if (row.type === 'state' && row.target !== '' && row.data[0]) states.set(row.target, row.data[0]);
  }
  return states;
}

/**
 * A line of vagrant's human output, attributed to its machine:
 * `==> init: Booting VM...`, `    init: SSH address: ...`, or
 * `Bringing machine 'init' up with 'virtualbox' provider...`.
 */
export function progressLine(line: string, machines: ReadonlySet<string>): { machine?: string; message: string } {
  const prefixed = /^(?:==> |\s+)([A-Za-z0-9_.-]+): ?(.*)$/.exec(line);
  if (prefixed && machines.has(prefixed[1]!)) return { machine: prefixed[1]!, message: prefixed[2]! };
  const bringing = /^Bringing machine '([^']+)'/.exec(line);
  if (bringing && machines.has(bringing[1]!)) return { machine: bringing[1]!, message: line.trim() };
  return { message: line.trim() };
}

/**
 * Vagrant explains failures in wrapped paragraphs on stderr; pcc errors are
 * one line, so the paragraphs are joined and long explanations cut.
 */
export function vagrantErrorSummary(stderr: string, stdout = ''): string {
  const fromMachineReadable = parseMachineReadable(stdout).find((r) => r.type === 'error-exit')?.data[1];
  const text = (stderr.trim() || fromMachineReadable || lastLines(stdout)).replace(/\s+/g, ' ').trim();
  const hint = /could not detect VirtualBox|VBoxManage/i.test(text)
    ? ' (install VirtualBox from https://www.virtualbox.org/wiki/Downloads)'
    : /doesn't support NFS/.test(text)
      ? ' (the controller shares its folders over NFS: install an NFS server, e.g. apt-get install nfs-kernel-server)'
      : '';
  const cut = text.length > 400 ? `${text.slice(0, 400)}…` : text;
  return `${cut || 'no output'}${hint}`;
}

function lastLines(text: string): string {
  return text.trim().split('\n').slice(-3).join(' ');
}
