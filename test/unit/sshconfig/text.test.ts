import { describe, expect, it } from 'vitest';
import { PccError } from '../../../src/core/errors.js';
import {
  dropAliases,
  hostAliases,
  parseOwnFile,
  planAliases,
  renderHostBlock,
  renderProviderFile,
  type Claim,
} from '../../../src/sshconfig/entries.js';
import {
  configLines,
  eolOf,
  findInclude,
  includeDirective,
  prependLine,
  quoteArg,
  removeFirstLine,
} from '../../../src/sshconfig/include.js';
import { host } from '../../fixtures/sshconfig.js';

const where = { home: '/home/u', sshDir: '/home/u/.ssh' };
const pattern = '/home/u/.ssh/config.d/pcc/*.conf';

describe('reading ssh config lines', () => {
  it('tokenizes like OpenSSH: = or space, quotes, escapes, trailing comments, any case', () => {
    const lines = configLines('Include=/a/b\r\n  include = "/x y/*" c # tail\n\tHOST a\\ b \'q r\'\n# only a comment\n\n');
    expect(lines).toEqual([
      { lineNo: 1, keyword: 'include', args: ['/a/b'] },
      { lineNo: 2, keyword: 'include', args: ['/x y/*', 'c'] },
      { lineNo: 3, keyword: 'host', args: ['a b', 'q r'] },
    ]);
  });

  it('finds pcc Include in any spelling, and tells whether it comes before every Host and Match', () => {
    expect(findInclude(`Include ${pattern}\nHost *\n`, pattern, where)).toEqual({ lineNo: 1, atTop: true });
    expect(findInclude('IdentitiesOnly yes\ninclude = "~/.ssh/config.d/pcc/*.conf"\n', pattern, where)).toEqual({
      lineNo: 2,
      atTop: true,
    });
    expect(findInclude('Include other config.d/pcc/*.conf\n', pattern, where)).toEqual({ lineNo: 1, atTop: true });
    expect(findInclude(`Match all\n  Include ${pattern}\n`, pattern, where)).toEqual({ lineNo: 2, atTop: false });
    expect(findInclude(`# Include ${pattern}\nInclude ~/.ssh/config.d/pcc/*\n`, pattern, where)).toBeUndefined();
  });
});

describe('the added line', () => {
  const directive = includeDirective(pattern);

  it('is one Include of the absolute pattern, quoted when the path needs it', () => {
    expect(directive).toBe(`Include ${pattern}`);
    expect(includeDirective('/home/a b/.ssh/config.d/pcc/*.conf')).toBe('Include "/home/a b/.ssh/config.d/pcc/*.conf"');
    expect(quoteArg('a"b\\c')).toBe('"a\\"b\\\\c"');
    expect(configLines(`X ${quoteArg('a "b" \\c d')}`)[0]!.args).toEqual(['a "b" \\c d']);
  });

  it('goes first with the file own line ending, and comes off to give back the same bytes', () => {
    for (const original of ['', 'Host a\n', 'Host a\r\n  Port 1\r\n', 'Host a', 'Host a\r\n  Port 1']) {
      const bytes = Buffer.from(original);
      const added = prependLine(bytes, directive);
      const eol = original.includes('\r\n') ? '\r\n' : '\n';
      expect(added.toString()).toBe(directive + eol + original);
      expect(eolOf(bytes)).toBe(eol);
      expect(removeFirstLine(added, directive)!.equals(bytes)).toBe(true);
    }
    expect(removeFirstLine(Buffer.from(`Host a\n${directive}\n`), directive)).toBeUndefined();
  });
});

describe('aliases', () => {
  it('are the host and group-host for each group, provider first, lowercased, without duplicates or unsafe names', () => {
    expect(hostAliases(host('local1'))).toEqual(['local1', 'local-local1', 'cpu-local1']);
    expect(hostAliases(host('gpu1', { provider: 'ec2', groups: ['ec2', 'gpu', 'g5.xlarge', 'GPU', 'my group', 'a*'] }))).toEqual([
      'gpu1',
      'ec2-gpu1',
      'gpu-gpu1',
      'g5.xlarge-gpu1',
    ]);
  });

  it('render one block per host with every option that keeps trust in pcc known_hosts', () => {
    const paths = { home: '/home/u', root: '/home/u/proj', knownHosts: '/home/u/.ssh/config.d/pcc/known_hosts' };
    expect(renderHostBlock(host('local1', { key: '~/.ssh/id_ed25519', port: 2200 }), ['local1', 'cpu-local1'], paths)).toBe(
      [
        'Host local1 cpu-local1',
        '  HostName 127.31.0.1',
        '  Port 2200',
        '  User root',
        '  IdentityFile /home/u/.ssh/id_ed25519',
        '  IdentitiesOnly yes',
        '  UserKnownHostsFile /home/u/.ssh/config.d/pcc/known_hosts',
        '  StrictHostKeyChecking yes',
        '  HostKeyAlias local1',
        '',
      ].join('\n'),
    );
    // A relative key is the project's; `%` is literal; no key means ssh's defaults.
    const odd = renderHostBlock(host('h', { key: '.pcc/ssh/id 100%' }), ['h'], paths);
    expect(odd).toContain('  IdentityFile "/home/u/proj/.pcc/ssh/id 100%%"\n');
    expect(renderHostBlock(host('h', { key: undefined }), ['h'], paths)).not.toMatch(/IdentityFile|IdentitiesOnly/);
    expect(() => renderHostBlock(host('h', { address: '1.2.3.4 -oProxyCommand=x' }), ['h'], paths)).toThrow(PccError);
  });

  it('come back out of a file pcc wrote, and can be taken out of it', () => {
    const paths = { home: '/h', root: '/h/p', knownHosts: '/h/k' };
    const text = renderProviderFile(
      'ec2',
      [
        { host: host('gpu1', { provider: 'ec2', groups: ['gpu'] }), aliases: ['gpu1', 'ec2-gpu1', 'gpu-gpu1'] },
        { host: host('cpu1', { provider: 'ec2' }), aliases: ['cpu1'] },
      ],
      paths,
    );
    expect(parseOwnFile(text).map((b) => [b.hostName, b.aliases])).toEqual([
      ['cpu1', ['cpu1']],
      ['gpu1', ['gpu1', 'ec2-gpu1', 'gpu-gpu1']],
    ]);
    const dropped = dropAliases(text, new Set(['gpu-gpu1', 'cpu1']));
    expect(parseOwnFile(dropped).map((b) => [b.hostName, b.aliases])).toEqual([['gpu1', ['gpu1', 'ec2-gpu1']]]);
    expect(dropped).not.toContain('HostKeyAlias cpu1');
    expect(dropped.startsWith(text.slice(0, text.indexOf('Host ')))).toBe(true);
  });
});

describe('alias clashes', () => {
  const gpu1 = host('gpu1', { provider: 'ec2', groups: ['gpu'] });
  const staticHost = host('gpu-gpu1', { provider: 'static', groups: [] });
  const claims = (h: ReturnType<typeof host>): Claim[] =>
    hostAliases(h).map((alias) => ({ alias, hostName: h.name, provider: h.provider }));

  it('leave an alias the user defines to the user', () => {
    const plan = planAliases('local', [host('local1')], new Set(['local1']), []);
    expect(plan.clashes).toEqual(['local1']);
    expect(plan.blocks[0]!.aliases).toEqual(['local-local1', 'cpu-local1']);
  });

  it('between two pcc hosts end the same whichever provider writes first: the host named so wins', () => {
    const ec2First = planAliases('static', [staticHost], new Set(), claims(gpu1));
    expect(ec2First.blocks[0]!.aliases).toContain('gpu-gpu1');
    expect(ec2First.takeFrom.get('ec2')).toEqual(new Set(['gpu-gpu1']));
    expect(ec2First.conflicts).toEqual(['ssh alias gpu-gpu1 of ec2 host gpu1 goes to static host gpu-gpu1']);

    const staticFirst = planAliases('ec2', [gpu1], new Set(), claims(staticHost));
    expect(staticFirst.blocks[0]!.aliases).toEqual(['gpu1', 'ec2-gpu1']);
    expect(staticFirst.takeFrom.size).toBe(0);
    expect(staticFirst.conflicts).toEqual(['ssh alias gpu-gpu1 of ec2 host gpu1 stays with static host gpu-gpu1']);
  });

  it('take back from other providers what the user has since defined', () => {
    const plan = planAliases('static', [staticHost], new Set(['ec2-gpu1']), claims(gpu1));
    expect(plan.takeFrom.get('ec2')).toEqual(new Set(['ec2-gpu1', 'gpu-gpu1']));
    expect(plan.clashes).toEqual(['ec2-gpu1']);
  });
});
