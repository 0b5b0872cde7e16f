import { defineFact } from '../facts/fact.js';
import { SYSTEM } from '../facts/scope.js';
import { cmd, type Command } from '../remote/shell.js';
import { systemdUnit } from '../ops/systemd.js';
import type { Operation } from '../ops/operation.js';

/*
 * The overlay guard: packets for the overlay subnet (the registry, the NFS
 * export, swarm's ports, every peer behind this host) and swarm's VXLAN port
 * are let in only from the overlay interface, the host itself and its own
 * containers. Every member forwards (the hub relays between peers, and
 * containers reach the registry through their host), and Linux takes a
 * packet for any of its addresses on any interface: without this, a machine
 * on the same LAN that routes the overlay subnet through a member reaches
 * the registry (and pushes to it) through that member.
 *
 * The rules live in a chain of pcc's own in the raw table's PREROUTING, so
 * they see a packet before docker's DNAT (Flatcar's registry is a published
 * container port) and before any forwarding decision, and touch nothing
 * docker, wg-quick or the user keep in the filter and nat tables. iptables is
 * the tool because every member has it already: wg-quick's PostUp uses it.
 */
export const GUARD_CHAIN = 'PCC-OVERLAY';
export const GUARD_UNIT = 'pcc-overlay-guard.service';
/** Swarm's data path: the kernel binds it on every address, though swarm sends it over the overlay only. */
export const VXLAN_PORT = 4789;
/** What the guard reads and changes: the host's packet filter, no service or file. */
export const NETFILTER_SCOPE = `${SYSTEM}/netfilter`;

/** Each rule as `iptables -S` prints it (after `-A CHAIN`), so what is read compares with what is wanted word for word. */
export interface GuardRules {
  /** Rules in PREROUTING that send a packet to the chain. */
  jumps: string[][];
  /** The chain's rules, in order. */
  chain: string[][];
}

/**
 * Docker names its bridges `docker0`, `docker_gwbridge` (swarm's containers
 * leave through it) and `br-<id>`: containers on this host reach the
 * registry through them. Anything else (the LAN) ends at DROP.
 */
export function guardRules(subnet: string, overlayInterface: string): GuardRules {
  return {
    jumps: [
      ['-d', subnet, '-j', GUARD_CHAIN],
      ['-p', 'udp', '-m', 'udp', '--dport', String(VXLAN_PORT), '-j', GUARD_CHAIN],
    ],
    chain: [
      ['-i', overlayInterface, '-j', 'RETURN'],
      ['-i', 'lo', '-j', 'RETURN'],
      ['-i', 'docker+', '-j', 'RETURN'],
      ['-i', 'br-+', '-j', 'RETURN'],
      ['-j', 'DROP'],
    ],
  };
}

/** The raw table as it is: whether the chain exists, its rules, and PREROUTING's jumps to it. */
export interface GuardState {
  chainExists: boolean;
  chain: string[][];
  jumps: string[][];
}

export const guardState = defineFact<GuardState>({
  key: 'overlay-guard',
  reads: [NETFILTER_SCOPE],
  // One read of the whole raw table; without iptables (or its raw table) the answer is an empty table.
  script: 'iptables -w -t raw -S 2>/dev/null || true',
  parse: parseGuardState,
});

export function parseGuardState(out: string): GuardState {
  const lines = out.split('\n').map((l) => l.trim()).filter(Boolean);
  const rulesOf = (chain: string) => lines.filter((l) => l.startsWith(`-A ${chain} `)).map((l) => l.split(/\s+/).slice(2));
  return {
    chainExists: lines.includes(`-N ${GUARD_CHAIN}`),
    chain: rulesOf(GUARD_CHAIN),
    jumps: rulesOf('PREROUTING').filter((r) => r.at(-1) === GUARD_CHAIN && r.at(-2) === '-j'),
  };
}

const iptables = (...args: string[]): Command => cmd('iptables', '-w', '-t', 'raw', ...args);
const same = (a: readonly string[][], b: readonly string[][]) => JSON.stringify(a) === JSON.stringify(b);

/**
 * The commands that make the raw table hold exactly `wanted`, or none when it
 * does: the chain is made if missing and refilled if it differs; jumps that
 * differ (an old subnet, a duplicate) are deleted as they read and the wanted
 * ones put first in PREROUTING.
 */
export function guardCommands(current: GuardState, wanted: GuardRules): Command[] {
  const commands: Command[] = [];
  if (!current.chainExists) commands.push(iptables('-N', GUARD_CHAIN));
  if (!current.chainExists || !same(current.chain, wanted.chain)) {
    if (current.chainExists) commands.push(iptables('-F', GUARD_CHAIN));
    for (const rule of wanted.chain) commands.push(iptables('-A', GUARD_CHAIN, ...rule));
  }
  if (!same(current.jumps, wanted.jumps)) {
    for (const rule of current.jumps) commands.push(iptables('-D', 'PREROUTING', ...rule));
    wanted.jumps.forEach((rule, i) => commands.push(iptables('-I', 'PREROUTING', String(i + 1), ...rule)));
  }
  return commands;
}

/** The rules now, checked and repaired on every setup like any other operation. */
export function guardRulesOp(wanted: GuardRules): Operation {
  return {
    name: `overlay guard (iptables raw ${GUARD_CHAIN})`,
    facts: [guardState],
    touches: [NETFILTER_SCOPE],
    plan(read) {
      const commands = guardCommands(read(guardState), wanted);
      if (commands.length === 0) return undefined;
      return { commands, summary: `${wanted.chain.length} rules, ${wanted.jumps.length} jumps` };
    },
  };
}

/**
 * The same rules at every boot, before the network and the overlay come up
 * (and with them every service on the overlay address). Each line is
 * idempotent, so a restart after a change re-applies them; `-` lets the
 * chain exist already and a jump be missing.
 */
export function guardUnit(wanted: GuardRules, overlayInterface: string): string {
  const line = (args: string[], mayFail = false) => `ExecStart=${mayFail ? '-' : ''}iptables -w -t raw ${args.join(' ')}`;
  return [
    '[Unit]',
    'Description=pcc: only the overlay reaches the overlay subnet',
    'DefaultDependencies=no',
    'Wants=network-pre.target',
    'After=local-fs.target systemd-modules-load.service',
    `Before=network-pre.target wg-quick@${overlayInterface}.service shutdown.target`,
    'Conflicts=shutdown.target',
    '',
    '[Service]',
    'Type=oneshot',
    'RemainAfterExit=yes',
    line(['-N', GUARD_CHAIN], true),
    line(['-F', GUARD_CHAIN]),
    ...wanted.chain.map((rule) => line(['-A', GUARD_CHAIN, ...rule])),
    ...wanted.jumps.map((rule) => line(['-D', 'PREROUTING', ...rule], true)),
    ...wanted.jumps.map((rule, i) => line(['-I', 'PREROUTING', String(i + 1), ...rule])),
    '',
    '[Install]',
    'WantedBy=multi-user.target',
    '',
  ].join('\n');
}

/** The rules now, then the unit that keeps them across reboots. */
export function overlayGuardOps(subnet: string, overlayInterface: string): Operation[] {
  const wanted = guardRules(subnet, overlayInterface);
  return [guardRulesOp(wanted), systemdUnit(GUARD_UNIT, { content: guardUnit(wanted, overlayInterface) })];
}
