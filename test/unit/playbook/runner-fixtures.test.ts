import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cpuCount, fileState } from '../../../src/facts/index.js';
import { check, command, directory, file, service } from '../../../src/ops/index.js';
import { definePlaybook, type Playbook } from '../../../src/playbook/define.js';
import type { HostFactMemory, RememberedFact } from '../../../src/playbook/fact-memory.js';
import { HostRun } from '../../../src/playbook/host-run.js';
import type { HostResult } from '../../../src/playbook/result.js';
import { openLocalShell } from '../../../src/remote/local-shell.js';
import type { HostRecord } from '../../../src/state/schema.js';

/**
 * The runner's behaviour as fixture tables: operations and facts in, the
 * exact scripts sent and the round trips out, run on a local `sh -s` (the
 * same framing as a host's SSH session). Paths under the test's folder show
 * as ROOT, and the nonce is pinned (@@pcc-1, @@pcc-2, ... per round trip).
 */

const work = mkdtempSync(path.join(tmpdir(), 'pcc-runner-fixtures-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** A systemctl that keeps each unit's state in files, so a service is started without systemd. */
const FAKE_SYSTEMCTL = `#!/bin/sh
d=${work}/units; mkdir -p "$d"
case $1 in
  is-enabled) s=$(cat "$d/$2.enabled" 2>/dev/null || echo disabled); echo "$s"; [ "$s" = enabled ];;
  is-active) s=$(cat "$d/$2.active" 2>/dev/null || echo inactive); echo "$s"; [ "$s" = active ];;
  enable) echo enabled > "$d/$2.enabled";;
  start) echo active > "$d/$2.active";;
  *) exit 1;;
esac
`;
mkdirSync(path.join(work, 'bin'));
writeFileSync(path.join(work, 'bin', 'systemctl'), FAKE_SYSTEMCTL);
chmodSync(path.join(work, 'bin', 'systemctl'), 0o755);

const record: HostRecord = { name: 'here', address: '127.0.0.1', port: 22, user: 'root', provider: 'static', groups: [], createdAt: '2026-01-01T00:00:00Z', meta: {} };

function memoryBox(): HostFactMemory {
  let kept: RememberedFact[] = [];
  return {
    recall: async () => kept,
    remember: async (facts) => {
      kept = facts;
    },
  };
}

interface Ran {
  result: HostResult;
  /** Each round trip's script, ROOT for the row's folder. */
  scripts: string[];
}

async function runHere(root: string, playbook: Playbook, options: { dry?: boolean; memory?: HostFactMemory } = {}): Promise<Ran> {
  const scripts: string[] = [];
  let n = 0;
  const result = await new HostRun(
    record,
    playbook,
    async () => {
      const shell = openLocalShell({ cwd: root, env: { ...process.env, PATH: `${work}/bin:${process.env.PATH}` } });
      return {
        run: (script, deadline) => {
          scripts.push(script.replaceAll(root, 'ROOT'));
          return shell.run(script, deadline);
        },
        close: () => shell.close(),
      };
    },
    { dry: options.dry ?? false, input: undefined, vars: {}, memory: options.memory, nonce: () => `@@pcc-${++n}` },
  ).execute();
  return { result, scripts };
}

let rows = 0;
function freshRoot(): string {
  const root = path.join(work, `row${++rows}`);
  mkdirSync(root);
  return root;
}

const statuses = (r: HostResult) => r.ops.map((o) => `${o.status} ${o.name}`.replace(/\/\S*row\d+/g, 'ROOT'));

function expectScripts(ran: Ran, expected: string[]): void {
  expect(ran.scripts).toEqual(expected);
}

describe('the runner on a local sh: operations and facts in, scripts and round trips out', () => {
  it('a fact read alone is one round trip with one part', async () => {
    const root = freshRoot();
    const ran = await runHere(root, definePlaybook({ name: 'one-fact', async run(host) { await host.fact(cpuCount); } }));
    expect([ran.result.status, ran.result.roundTrips]).toEqual(['ok', 1]);
    expectScripts(ran, [
      "printf '%s\\n' '@@pcc-1 fact 0'; ( nproc\n) </dev/null 2>/dev/null; printf '\\n%s %s\\n' '@@pcc-1 end 0' \"$?\"",
    ]);
  });

  it('facts asked in one tick travel together, and file facts share one stat', async () => {
    const root = freshRoot();
    writeFileSync(path.join(root, 'a'), 'A\n');
    const ran = await runHere(
      root,
      definePlaybook({
        name: 'one-tick',
        async run(host) {
          const [a, b, cpus] = await Promise.all([host.fact(fileState(`${root}/a`)), host.fact(fileState(`${root}/b`)), host.fact(cpuCount)]);
          host.output('seen', [a.content?.toString(), b.exists, cpus > 0]);
        },
      }),
    );
    expect([ran.result.roundTrips, ran.result.outputs.seen]).toEqual([1, ['A\n', false, true]]);
    expectScripts(ran, [
      "printf '%s\\n' '@@pcc-1 fact 0'; ( s=$(stat -c '%F|%a|%U|%G|%s|%n' -- ROOT/a ROOT/b)\nprintf '%s\n=\n' \"$s\"\nprintf '\\n=\\n'\nset --; while IFS='|' read -r t m u g z n; do case $t in 'regular file'|'regular empty file') if [ \"$z\" -le 262144 ]; then set -- \"$@\" \"$n\"; fi;; esac; done <<__PCC_STAT__\n$s\n__PCC_STAT__\n[ $# -eq 0 ] || cat -- \"$@\" | base64 -w0\n) </dev/null 2>/dev/null; printf '\\n%s %s\\n' '@@pcc-1 end 0' \"$?\"\nprintf '%s\\n' '@@pcc-1 fact 1'; ( nproc\n) </dev/null 2>/dev/null; printf '\\n%s %s\\n' '@@pcc-1 end 1' \"$?\"",
    ]);
  });

  it('a directory and a file in it: planned from one read, applied in one script', async () => {
    const root = freshRoot();
    const pb = definePlaybook({
      name: 'dir-file',
      run(host) {
        host.add(directory(`${root}/d`, { mode: '0750' }));
        host.add(file(`${root}/d/f`, { content: 'x\n' }));
      },
    });
    const ran = await runHere(root, pb);
    expect([statuses(ran.result), ran.result.roundTrips]).toEqual([['changed directory ROOT/d', 'changed file ROOT/d/f'], 2]);
    expect(readFileSync(`${root}/d/f`, 'utf8')).toBe('x\n');
    expectScripts(ran, [
      "printf '%s\\n' '@@pcc-1 fact 0'; ( s=$(stat -c '%F|%a|%U|%G|%s|%n' -- ROOT/d ROOT/d/f)\nprintf '%s\n=\n' \"$s\"\nset --; while IFS='|' read -r t m u g z n; do case $t in 'regular file'|'regular empty file') if [ \"$z\" -gt 262144 ]; then case $n in ROOT/d/f) set -- \"$@\" \"$n\";; esac; fi;; esac; done <<__PCC_STAT__\n$s\n__PCC_STAT__\n[ $# -eq 0 ] || sha256sum -- \"$@\"; printf '\\n=\\n'\nset --; while IFS='|' read -r t m u g z n; do case $t in 'regular file'|'regular empty file') if [ \"$z\" -le 262144 ]; then set -- \"$@\" \"$n\"; fi;; esac; done <<__PCC_STAT__\n$s\n__PCC_STAT__\n[ $# -eq 0 ] || cat -- \"$@\" | base64 -w0\n) </dev/null 2>/dev/null; printf '\\n%s %s\\n' '@@pcc-1 end 0' \"$?\"",
      "{ mkdir -p -m 0750 ROOT/d </dev/null\n} 2>&1; __pcc_rc=$?; printf '\\n%s %s\\n' '@@pcc-2 op 0' \"$__pcc_rc\"; [ \"$__pcc_rc\" -eq 0 ] || exit 0\n{ (set -- ROOT/d/f 'x\n'; { [ ! -e \"$1.pcc-new\" ] && [ ! -L \"$1.pcc-new\" ] || rm -f \"$1.pcc-new\"; } && umask 0133 && printf '%s' \"$2\" > \"$1.pcc-new\" && mv -f \"$1.pcc-new\" \"$1\"\n) </dev/null\n} 2>&1; __pcc_rc=$?; printf '\\n%s %s\\n' '@@pcc-2 op 1' \"$__pcc_rc\"; [ \"$__pcc_rc\" -eq 0 ] || exit 0",
    ]);
    const again = await runHere(root, pb);
    expect([statuses(again.result), again.result.roundTrips]).toEqual([['ok directory ROOT/d', 'ok file ROOT/d/f'], 1]);
  });

  it('a later operation on a file written earlier plans from what the write predicts, without reading again', async () => {
    const root = freshRoot();
    const ran = await runHere(
      root,
      definePlaybook({
        name: 'predicted',
        run(host) {
          host.add(file(`${root}/conf`, { content: 'level=info\n' }));
          host.add(file(`${root}/conf`, { mode: '0600' }));
        },
      }),
    );
    expect([statuses(ran.result), ran.result.roundTrips]).toEqual([['changed file ROOT/conf', 'changed file ROOT/conf'], 2]);
    expectScripts(ran, [
      "printf '%s\\n' '@@pcc-1 fact 0'; ( s=$(stat -c '%F|%a|%U|%G|%s|%n' -- ROOT/conf)\nprintf '%s\n=\n' \"$s\"\nset --; while IFS='|' read -r t m u g z n; do case $t in 'regular file'|'regular empty file') if [ \"$z\" -gt 262144 ]; then case $n in ROOT/conf) set -- \"$@\" \"$n\";; esac; fi;; esac; done <<__PCC_STAT__\n$s\n__PCC_STAT__\n[ $# -eq 0 ] || sha256sum -- \"$@\"; printf '\\n=\\n'\nset --; while IFS='|' read -r t m u g z n; do case $t in 'regular file'|'regular empty file') if [ \"$z\" -le 262144 ]; then set -- \"$@\" \"$n\"; fi;; esac; done <<__PCC_STAT__\n$s\n__PCC_STAT__\n[ $# -eq 0 ] || cat -- \"$@\" | base64 -w0\n) </dev/null 2>/dev/null; printf '\\n%s %s\\n' '@@pcc-1 end 0' \"$?\"",
      "{ (set -- ROOT/conf 'level=info\n'; { [ ! -e \"$1.pcc-new\" ] && [ ! -L \"$1.pcc-new\" ] || rm -f \"$1.pcc-new\"; } && umask 0133 && printf '%s' \"$2\" > \"$1.pcc-new\" && mv -f \"$1.pcc-new\" \"$1\"\n) </dev/null\n} 2>&1; __pcc_rc=$?; printf '\\n%s %s\\n' '@@pcc-2 op 0' \"$__pcc_rc\"; [ \"$__pcc_rc\" -eq 0 ] || exit 0\n{ chmod 0600 ROOT/conf </dev/null\n} 2>&1; __pcc_rc=$?; printf '\\n%s %s\\n' '@@pcc-2 op 1' \"$__pcc_rc\"; [ \"$__pcc_rc\" -eq 0 ] || exit 0",
    ]);
  });

  it('a command nobody can bound makes what the playbook asks next stale: applied, then read in the same round trip', async () => {
    const root = freshRoot();
    const ran = await runHere(
      root,
      definePlaybook({
        name: 'unbounded',
        async run(host) {
          host.add(command(`echo made > ${root}/x`));
          const x = await host.fact(fileState(`${root}/x`));
          host.output('x', x.content?.toString());
        },
      }),
    );
    expect([statuses(ran.result), ran.result.roundTrips, ran.result.outputs.x]).toEqual([[`changed command echo made > ROOT/x`], 2, 'made\n']);
    expectScripts(ran, [
      "printf '%s\\n' '@@pcc-1 fact 0'; ( s=$(stat -c '%F|%a|%U|%G|%s|%n' -- ROOT/x)\nprintf '%s\n=\n' \"$s\"\nprintf '\\n=\\n'\nset --; while IFS='|' read -r t m u g z n; do case $t in 'regular file'|'regular empty file') if [ \"$z\" -le 262144 ]; then set -- \"$@\" \"$n\"; fi;; esac; done <<__PCC_STAT__\n$s\n__PCC_STAT__\n[ $# -eq 0 ] || cat -- \"$@\" | base64 -w0\n) </dev/null 2>/dev/null; printf '\\n%s %s\\n' '@@pcc-1 end 0' \"$?\"",
      "{ (echo made > ROOT/x\n) </dev/null\n} 2>&1; __pcc_rc=$?; printf '\\n%s %s\\n' '@@pcc-2 op 0' \"$__pcc_rc\"; [ \"$__pcc_rc\" -eq 0 ] || exit 0\nprintf '%s\\n' '@@pcc-2 fact 0'; ( s=$(stat -c '%F|%a|%U|%G|%s|%n' -- ROOT/x)\nprintf '%s\n=\n' \"$s\"\nprintf '\\n=\\n'\nset --; while IFS='|' read -r t m u g z n; do case $t in 'regular file'|'regular empty file') if [ \"$z\" -le 262144 ]; then set -- \"$@\" \"$n\"; fi;; esac; done <<__PCC_STAT__\n$s\n__PCC_STAT__\n[ $# -eq 0 ] || cat -- \"$@\" | base64 -w0\n) </dev/null 2>/dev/null; printf '\\n%s %s\\n' '@@pcc-2 end 0' \"$?\"",
    ]);
  });

  it('a service started earlier in the run is read again before a later operation on it plans', async () => {
    const root = freshRoot();
    const ran = await runHere(
      root,
      definePlaybook({
        name: 'service-twice',
        run(host) {
          host.add(service('fixture.service'));
          host.add(service('fixture.service'));
        },
      }),
    );
    // Before the system axis, the second planned against "inactive" and started it again.
    expect([statuses(ran.result), ran.result.roundTrips]).toEqual([['changed service fixture.service', 'ok service fixture.service'], 2]);
    expectScripts(ran, [
      "printf '%s\\n' '@@pcc-1 fact 0'; ( printf 'enabled=%s\\n' \"$(systemctl is-enabled fixture.service 2>/dev/null)\"; printf 'active=%s\\n' \"$(systemctl is-active fixture.service 2>/dev/null)\"\n) </dev/null 2>/dev/null; printf '\\n%s %s\\n' '@@pcc-1 end 0' \"$?\"",
      "{ systemctl enable fixture.service </dev/null && systemctl start fixture.service </dev/null\n} 2>&1; __pcc_rc=$?; printf '\\n%s %s\\n' '@@pcc-2 op 0' \"$__pcc_rc\"; [ \"$__pcc_rc\" -eq 0 ] || exit 0\nprintf '%s\\n' '@@pcc-2 fact 0'; ( printf 'enabled=%s\\n' \"$(systemctl is-enabled fixture.service 2>/dev/null)\"; printf 'active=%s\\n' \"$(systemctl is-active fixture.service 2>/dev/null)\"\n) </dev/null 2>/dev/null; printf '\\n%s %s\\n' '@@pcc-2 end 0' \"$?\"",
    ]);
  });

  it('a failing change fails the host; the changes after it are skipped and never sent past the failure', async () => {
    const root = freshRoot();
    const ran = await runHere(
      root,
      definePlaybook({
        name: 'fails',
        run(host) {
          host.add(command('echo boom >&2; exit 3', { creates: `${root}/never` }));
          host.add(file(`${root}/after`, { content: 'x' }));
        },
      }),
    );
    expect([ran.result.status, statuses(ran.result), ran.result.error]).toEqual([
      'failed',
      [`failed command echo boom >&2; exit 3`, 'skipped file ROOT/after'],
      'command echo boom >&2; exit 3: boom',
    ]);
    expectScripts(ran, [
      "printf '%s\\n' '@@pcc-1 fact 0'; ( [ -e ROOT/never ] && echo yes || echo no\n) </dev/null 2>/dev/null; printf '\\n%s %s\\n' '@@pcc-1 end 0' \"$?\"\nprintf '%s\\n' '@@pcc-1 fact 1'; ( s=$(stat -c '%F|%a|%U|%G|%s|%n' -- ROOT/after)\nprintf '%s\n=\n' \"$s\"\nset --; while IFS='|' read -r t m u g z n; do case $t in 'regular file'|'regular empty file') if [ \"$z\" -gt 262144 ]; then case $n in ROOT/after) set -- \"$@\" \"$n\";; esac; fi;; esac; done <<__PCC_STAT__\n$s\n__PCC_STAT__\n[ $# -eq 0 ] || sha256sum -- \"$@\"; printf '\\n=\\n'\nset --; while IFS='|' read -r t m u g z n; do case $t in 'regular file'|'regular empty file') if [ \"$z\" -le 262144 ]; then set -- \"$@\" \"$n\"; fi;; esac; done <<__PCC_STAT__\n$s\n__PCC_STAT__\n[ $# -eq 0 ] || cat -- \"$@\" | base64 -w0\n) </dev/null 2>/dev/null; printf '\\n%s %s\\n' '@@pcc-1 end 1' \"$?\"",
      "{ (echo boom >&2; exit 3\n) </dev/null\n} 2>&1; __pcc_rc=$?; printf '\\n%s %s\\n' '@@pcc-2 op 0' \"$__pcc_rc\"; [ \"$__pcc_rc\" -eq 0 ] || exit 0\n{ (set -- ROOT/after x; { [ ! -e \"$1.pcc-new\" ] && [ ! -L \"$1.pcc-new\" ] || rm -f \"$1.pcc-new\"; } && umask 0133 && printf '%s' \"$2\" > \"$1.pcc-new\" && mv -f \"$1.pcc-new\" \"$1\"\n) </dev/null\n} 2>&1; __pcc_rc=$?; printf '\\n%s %s\\n' '@@pcc-2 op 1' \"$__pcc_rc\"; [ \"$__pcc_rc\" -eq 0 ] || exit 0",
    ]);
  });

  it('an operation that refuses to plan fails its host, under --dry too, and nothing is applied', async () => {
    const root = freshRoot();
    writeFileSync(path.join(root, 'plain'), '');
    const pb = definePlaybook({
      name: 'refused',
      run(host) {
        host.add(file(`${root}/first`, { content: 'x' }));
        host.add(directory(`${root}/plain`));
      },
    });
    for (const dry of [true, false]) {
      const ran = await runHere(root, pb, { dry });
      expect([ran.result.status, statuses(ran.result), ran.result.error, ran.result.roundTrips]).toEqual([
        'failed',
        ['changed file ROOT/first', 'failed directory ROOT/plain'],
        `directory ${root}/plain: ${root}/plain exists and is not a directory`,
        1,
      ]);
    }
  });

  it('a check that does not hold is a failure under --dry, not a command that would run', async () => {
    const root = freshRoot();
    const ran = await runHere(root, definePlaybook({ name: 'check', run: (host) => host.add(check('marker there', { succeeds: `test -f ${root}/marker`, otherwise: 'no marker; run the setup first' })) }), { dry: true });
    expect([ran.result.status, statuses(ran.result), ran.result.error, ran.result.roundTrips]).toEqual(['failed', ['failed marker there'], 'marker there: no marker; run the setup first', 1]);
  });

  it('--dry reads, plans and applies nothing; what a command alters is a guess', async () => {
    const root = freshRoot();
    const ran = await runHere(
      root,
      definePlaybook({
        name: 'dry',
        async run(host) {
          host.add(file(`${root}/f`, { content: 'x\n' }));
          host.add(command(`touch ${root}/t`));
          await host.fact(fileState(`${root}/t`));
          host.add(file(`${root}/f`, { mode: '0600' }));
        },
      }),
      { dry: true },
    );
    expect([statuses(ran.result), ran.result.roundTrips, ran.result.guessed]).toEqual([
      ['changed file ROOT/f', `changed command touch ROOT/t`, 'changed file ROOT/f'],
      1,
      [`file:${root}/t`],
    ]);
    expect(ran.result.ops[2]).toMatchObject({ uncertain: true });
    expectScripts(ran, [
      "printf '%s\\n' '@@pcc-1 fact 0'; ( s=$(stat -c '%F|%a|%U|%G|%s|%n' -- ROOT/f ROOT/t)\nprintf '%s\n=\n' \"$s\"\nset --; while IFS='|' read -r t m u g z n; do case $t in 'regular file'|'regular empty file') if [ \"$z\" -gt 262144 ]; then case $n in ROOT/f) set -- \"$@\" \"$n\";; esac; fi;; esac; done <<__PCC_STAT__\n$s\n__PCC_STAT__\n[ $# -eq 0 ] || sha256sum -- \"$@\"; printf '\\n=\\n'\nset --; while IFS='|' read -r t m u g z n; do case $t in 'regular file'|'regular empty file') if [ \"$z\" -le 262144 ]; then set -- \"$@\" \"$n\"; fi;; esac; done <<__PCC_STAT__\n$s\n__PCC_STAT__\n[ $# -eq 0 ] || cat -- \"$@\" | base64 -w0\n) </dev/null 2>/dev/null; printf '\\n%s %s\\n' '@@pcc-1 end 0' \"$?\"",
    ]);
  });

  it('remembered facts are read up front: a re-run with nothing to change is one round trip', async () => {
    const root = freshRoot();
    const memory = memoryBox();
    const pb = definePlaybook({
      name: 'remembered',
      async run(host) {
        host.add(directory(`${root}/d`));
        const cpus = await host.fact(cpuCount);
        host.add(file(`${root}/d/cpus`, { content: `${cpus}\n` }));
      },
    });
    const first = await runHere(root, pb, { memory });
    expect([first.result.status, first.result.roundTrips]).toEqual(['changed', 3]);
    const again = await runHere(root, pb, { memory });
    expect([again.result.status, again.result.roundTrips]).toEqual(['ok', 1]);
    expectScripts(again, [
      "printf '%s\\n' '@@pcc-1 fact 0'; ( s=$(stat -c '%F|%a|%U|%G|%s|%n' -- ROOT/d ROOT/d/cpus)\nprintf '%s\n=\n' \"$s\"\nset --; while IFS='|' read -r t m u g z n; do case $t in 'regular file'|'regular empty file') if [ \"$z\" -gt 262144 ]; then case $n in ROOT/d/cpus) set -- \"$@\" \"$n\";; esac; fi;; esac; done <<__PCC_STAT__\n$s\n__PCC_STAT__\n[ $# -eq 0 ] || sha256sum -- \"$@\"; printf '\\n=\\n'\nset --; while IFS='|' read -r t m u g z n; do case $t in 'regular file'|'regular empty file') if [ \"$z\" -le 262144 ]; then set -- \"$@\" \"$n\"; fi;; esac; done <<__PCC_STAT__\n$s\n__PCC_STAT__\n[ $# -eq 0 ] || cat -- \"$@\" | base64 -w0\n) </dev/null 2>/dev/null; printf '\\n%s %s\\n' '@@pcc-1 end 0' \"$?\"\nprintf '%s\\n' '@@pcc-1 fact 1'; ( nproc\n) </dev/null 2>/dev/null; printf '\\n%s %s\\n' '@@pcc-1 end 1' \"$?\"",
    ]);
  });
});
