import { describe, expect, it } from 'vitest';
import { UnreachableError } from '../../../src/core/errors.js';
import { asRoot } from '../../../src/remote/become.js';
import { openLocalShell } from '../../../src/remote/local-shell.js';

describe('a local sh -s behind the session framing, as the runner sees a host', () => {
  it('keeps scripts apart: exit codes, stderr, an exit, a syntax error, one shell for all', async () => {
    const shell = openLocalShell({ name: 'here' });
    try {
      expect(await shell.run('echo one; echo err >&2; exit 3')).toEqual({ code: 3, stdout: 'one\n', stderr: 'err\n' });
      const broken = await shell.run('echo "unclosed');
      expect(broken.code).not.toBe(0);
      const [a, b] = await Promise.all([shell.run('echo $$'), shell.run('echo $$')]);
      expect(a!.stdout).toBe(b!.stdout);
    } finally {
      shell.close();
    }
  });

  it('a shell that dies mid-script leaves no exit status: unreachable, and so is every later script', async () => {
    const shell = openLocalShell({ name: 'here' });
    await expect(shell.run('kill -KILL $$')).rejects.toThrow(new UnreachableError('here', 'here: connection lost (SIGKILL)'));
    await expect(shell.run('true')).rejects.toBeInstanceOf(UnreachableError);
  });

  it('a deadline that passes ends the session as unreachable, naming the step', async () => {
    const shell = openLocalShell({ name: 'here' });
    await expect(shell.run('sleep 5', { ms: 200, step: 'while gathering facts' })).rejects.toThrow('here: timed out after 0.2 s while gathering facts');
    await expect(shell.run('true')).rejects.toThrow('here: timed out after 0.2 s while gathering facts');
  });
});

describe('becoming root is written once', () => {
  it('root runs the command as it is; anyone else through sudo -n, which never prompts', () => {
    expect([asRoot('root', 'sh -s'), asRoot('core', 'sh -s'), asRoot('core', "sh -c 'id -u'")]).toEqual(['sh -s', 'sudo -n sh -s', "sudo -n sh -c 'id -u'"]);
  });
});
