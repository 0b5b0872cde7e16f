import { readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { DescribeInstancesCommand, DescribeVolumesCommand } from '@aws-sdk/client-ec2';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { acquireOn, resumeOn, saveOn } from '../../../src/fleet/lifecycle.js';
import { status } from '../../../src/fleet/status.js';
import { describeTotal, summarize } from '../../../src/fleet/costs.js';
import { createClients } from '../../../src/providers/ec2/clients.js';
import { onDemandPrices, priceCacheFile } from '../../../src/providers/ec2/price-book.js';
import { parseGetProducts, priceListAllowed, signedHeaders } from '../../../src/providers/ec2/price-list.js';
import { ON_DEMAND_TABLE_DATE, STORAGE_USD_PER_GB_MONTH } from '../../../src/providers/ec2/prices.js';
import { foundPrice } from '../../../src/cli/commands/adopt.js';
import { pcc } from '../../fixtures/cli.js';
import { countingProvider, liveInstanceIds, REGION, useMotoSuite } from '../../fixtures/ec2.js';

/** Issue 14 part 4: honest prices, spend, and the spend cap, on moto and a loopback Price List. */
const suite = useMotoSuite('cost');

const RECORDED = path.resolve(import.meta.dirname, '../../fixtures/pricing/get-products-c6i-xlarge-us-east-1.json');

const liveIds = (id: string) => liveInstanceIds(suite.aws, id);

function writePccEnv(lines: string): void {
  writeFileSync(path.join(suite.t.project.root, 'config', 'pcc.env'), lines);
}

/** A loopback Price List: answers GetProducts with the recorded response and remembers each request. */
let priceList: Server;
const requests: { target?: string; auth?: string; body: string }[] = [];
beforeAll(async () => {
  priceList = createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      requests.push({ target: req.headers['x-amz-target'] as string, auth: req.headers.authorization, body });
      res.writeHead(200, { 'content-type': 'application/x-amz-json-1.1' });
      res.end(readFileSync(RECORDED));
    });
  });
  await new Promise<void>((resolve) => priceList.listen(0, '127.0.0.1', resolve));
});
afterAll(() => new Promise<void>((resolve) => priceList.close(() => resolve())));

describe('prices', () => {
  test('the Price List parser reads the on-demand hourly price of the recorded GetProducts response and ignores the reserved term', () => {
    const text = readFileSync(RECORDED, 'utf8');
    expect(parseGetProducts(text, 'c6i.xlarge')).toBe(0.17);
    expect(parseGetProducts(text, 'c6i.2xlarge')).toBeUndefined();
    expect(parseGetProducts('{"FormatVersion":"aws_v1","PriceList":[]}', 'c6i.xlarge')).toBeUndefined();
  });

  test('the GetProducts request is signed by the SDK signer for the pricing service in us-east-1, with the session token', async () => {
    const identity = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY', sessionToken: 'session-token-example' };
    const headers = await signedHeaders(new URL('https://api.pricing.us-east-1.amazonaws.com/'), '{"ServiceCode":"AmazonEC2"}', identity, new Date('2026-12-01T10:00:00Z'));
    expect(headers['x-amz-date']).toBe('20261201T100000Z');
    expect(headers['x-amz-security-token']).toBe('session-token-example');
    expect(headers.authorization).toMatch(
      /^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/20261201\/us-east-1\/pricing\/aws4_request, SignedHeaders=content-type;host;x-amz-date;x-amz-security-token;x-amz-target, Signature=[0-9a-f]{64}$/,
    );
  });

  test('with EC2 pointed at moto and no pricing endpoint, the live Price List is never asked', () => {
    expect(priceListAllowed()).toBe(false);
    expect(priceListAllowed({ AWS_ENDPOINT_URL_EC2: 'http://127.0.0.1:1', AWS_ENDPOINT_URL_PRICING: 'http://127.0.0.1:2' })).toBe(true);
  });

  test('the Price List answer is cached in .pcc/ with its date: the second call asks nothing; without it the shipped table says its date', async () => {
    const ctx = suite.t.ctx();
    const aws = createClients(ctx.settings, REGION);
    const port = (priceList.address() as AddressInfo).port;
    requests.length = 0;
    process.env.AWS_ENDPOINT_URL_PRICING = `http://127.0.0.1:${port}`;
    try {
      const first = await onDemandPrices(aws, ctx, ['c6i.xlarge'], new Date('2026-12-01T10:00:00Z'));
      expect(first.get('c6i.xlarge')).toEqual({ usdPerHour: 0.17, source: 'AWS Price List (us-east-1), fetched 2026-12-01' });
      expect(requests).toHaveLength(1);
      expect(requests[0]!.target).toBe('AWSPriceListService.GetProducts');
      expect(requests[0]!.auth).toMatch(/^AWS4-HMAC-SHA256 Credential=AKIATESTPCC0000KEY\/\d{8}\/us-east-1\/pricing\/aws4_request/);
      expect(JSON.parse(requests[0]!.body).Filters).toContainEqual({ Type: 'TERM_MATCH', Field: 'regionCode', Value: 'us-east-1' });
      const cached = JSON.parse(readFileSync(priceCacheFile(ctx, REGION), 'utf8'));
      expect(cached.types['c6i.xlarge']).toEqual({ usdPerHour: 0.17, fetchedAt: '2026-12-01T10:00:00.000Z' });

      const second = await onDemandPrices(aws, ctx, ['c6i.xlarge'], new Date('2026-12-03T10:00:00Z'));
      expect(second.get('c6i.xlarge')?.source).toBe('AWS Price List (us-east-1), fetched 2026-12-01');
      expect(requests).toHaveLength(1);
    } finally {
      delete process.env.AWS_ENDPOINT_URL_PRICING;
      aws.destroy();
    }
    // Another project, moto only: the shipped table, dated; a type it lacks has no price.
    const other = suite.t.ctx();
    const aws2 = createClients(other.settings, 'eu-west-1');
    try {
      const table = await onDemandPrices(aws2, other, ['g5.xlarge', 't2.nano']);
      expect(table.get('g5.xlarge')).toEqual({ usdPerHour: 1.006, source: `pcc's shipped us-east-1 table of ${ON_DEMAND_TABLE_DATE}` });
      expect(table.get('t2.nano')).toEqual({ source: 'unknown' });
    } finally {
      aws2.destroy();
    }
  });
});

describe('spend cap and status on moto (no SSH: wait=false)', () => {
  test('an acquire above PCC_MAX_USD_PER_HOUR is refused with the figure and creates nothing', async () => {
    writePccEnv('PCC_MAX_USD_PER_HOUR=0.50\n');
    const { provider, calls } = countingProvider();
    // 2 × c6i.xlarge at $0.17/h: $0.34/h, under the cap.
    await acquireOn(provider, { type: 'cpu', count: 2, wait: false }, suite.t.ctx());
    expect(await liveIds(suite.t.project.id)).toHaveLength(2);
    const before = calls.filter((c) => c === 'RunInstances').length;
    // A third: $0.51/h.
    const err = await acquireOn(provider, { type: 'cpu', count: 3, wait: false }, suite.t.ctx()).catch((e: Error) => e);
    expect(String(err)).toMatch(
      /acquire would take this project to \$0\.51\/h, above PCC_MAX_USD_PER_HOUR=0\.50 \(config\/pcc\.env\); raise it or ask for fewer/,
    );
    expect(calls.filter((c) => c === 'RunInstances').length).toBe(before);
    expect(await liveIds(suite.t.project.id)).toHaveLength(2);
  });

  test('a resume above PCC_MAX_USD_PER_HOUR is refused with the figure before anything starts (DescribeInstances: still stopped); under it, it starts them', { timeout: 120_000 }, async () => {
    const { provider, calls } = countingProvider();
    await acquireOn(provider, { type: 'cpu', count: 2, wait: false }, suite.t.ctx());
    await saveOn(provider, {}, suite.t.ctx());
    const states = async () => {
      const ids = await liveIds(suite.t.project.id);
      const out = await suite.aws.send(new DescribeInstancesCommand({ InstanceIds: ids }));
      return (out.Reservations ?? []).flatMap((r) => r.Instances ?? []).map((i) => i.State?.Name);
    };
    expect(await states()).toEqual(['stopped', 'stopped']);
    // 2 × c6i.xlarge at $0.17/h: $0.34/h once both run.
    writePccEnv('PCC_MAX_USD_PER_HOUR=0.30\n');
    calls.length = 0;
    const err = await resumeOn(provider, suite.t.ctx()).catch((e: Error) => e);
    expect(String(err)).toContain(
      'resume would take this project to $0.34/h, above PCC_MAX_USD_PER_HOUR=0.30 (config/pcc.env); raise it, or pcc release the saved hosts you can do without (2 × c6i.xlarge (cpu1, cpu2) at $0.170/h, $0.000/h running now)',
    );
    expect(calls).not.toContain('StartInstances');
    expect(await states()).toEqual(['stopped', 'stopped']);

    // The CLI says the same in one line, exits non-zero and starts nothing either.
    const env = { ...suite.moto.env, HOME: suite.t.project.home };
    const cli = pcc(['resume', 'ec2', '--project', suite.t.project.root], env);
    expect(cli.code).not.toBe(0);
    expect(cli.stderr.trim().split('\n').filter((l) => l.includes('PCC_MAX_USD_PER_HOUR'))).toHaveLength(1);
    expect(cli.stderr).toMatch(/resume would take this project to \$0\.34\/h, above PCC_MAX_USD_PER_HOUR=0\.30 \(config\/pcc\.env\)/);
    expect(await states()).toEqual(['stopped', 'stopped']);

    writePccEnv('PCC_MAX_USD_PER_HOUR=0.40\n');
    const { plan } = await resumeOn(provider, suite.t.ctx());
    expect(plan).toEqual([{ op: 'start', hosts: ['cpu1', 'cpu2'] }]);
    expect((await states()).every((s) => s === 'running' || s === 'pending')).toBe(true);
  });

  test('under a cap, a resume of a host whose type has no known price is refused, naming it; nothing starts', async () => {
    const { provider, calls } = countingProvider();
    await acquireOn(provider, { type: 'cpu', count: 1, instanceType: 't2.nano', wait: false }, suite.t.ctx());
    await saveOn(provider, {}, suite.t.ctx());
    writePccEnv('PCC_MAX_USD_PER_HOUR=5\n');
    calls.length = 0;
    const err = await resumeOn(provider, suite.t.ctx()).catch((e: Error) => e);
    expect(String(err)).toContain('resume refused: no known price for t2.nano (cpu1), so PCC_MAX_USD_PER_HOUR=5.00 (config/pcc.env) cannot be kept; pcc release cpu1, or unset the cap');
    expect(calls).not.toContain('StartInstances');
  });

  test('a bad PCC_MAX_USD_PER_HOUR is one line naming the file and the fix; an empty one is no cap', () => {
    writePccEnv('PCC_MAX_USD_PER_HOUR=abc\n');
    expect(() => suite.t.ctx()).toThrow(/^config\/pcc\.env: PCC_MAX_USD_PER_HOUR="abc" is invalid: expected a price in USD per hour, such as 1\.50; fix the value or remove the line for the default$/);
    writePccEnv('PCC_MAX_USD_PER_HOUR=\n');
    expect(suite.t.ctx().settings.values.PCC_MAX_USD_PER_HOUR).toBeUndefined();
  });

  test('under a cap, an instance type with no known price is refused, saying why; nothing is created', async () => {
    writePccEnv('PCC_MAX_USD_PER_HOUR=5\n');
    const { provider, calls } = countingProvider();
    const err = await acquireOn(provider, { type: 'cpu', count: 1, instanceType: 't2.nano', wait: false }, suite.t.ctx()).catch((e: Error) => e);
    expect(String(err)).toMatch(/no known price for t2\.nano cpu in us-east-1, so PCC_MAX_USD_PER_HOUR=5\.00 \(config\/pcc\.env\) cannot be kept/);
    expect(calls).not.toContain('RunInstances');
    expect(await liveIds(suite.t.project.id)).toEqual([]);
  });

  test('pcc status: an unknown instance type shows ? and the total says "at least", naming it; spend since launch; --json too', { timeout: 120_000 }, async () => {
    const { provider } = countingProvider();
    await acquireOn(provider, { type: 'cpu', count: 1, wait: false }, suite.t.ctx());
    await acquireOn(provider, { type: 'cpu', count: 1, instanceType: 't2.nano', wait: false }, suite.t.ctx());
    const rows = await status(suite.t.ctx());
    const summary = summarize(rows);
    expect(describeTotal(summary)).toBe('at least $0.170/h (no known price for t2.nano)');
    expect(rows.find((r) => r.unpriced === 't2.nano')?.usdPerHour).toBeUndefined();

    const env = { ...suite.moto.env, HOME: suite.t.project.home };
    const text = pcc(['status', '--project', suite.t.project.root], env);
    expect(text.code, text.stderr).toBe(0);
    const nano = text.stdout.split('\n').find((l) => l.includes('t2.nano'))!;
    expect(nano).toMatch(/ \? /);
    expect(text.stdout).not.toMatch(/\$0\.000\/h/);
    expect(text.stdout).toMatch(/total: at least \$0\.170\/h \(no known price for t2\.nano\) for what is running/);
    expect(text.stdout).toMatch(new RegExp(`prices: pcc's shipped table of ${ON_DEMAND_TABLE_DATE}`));

    const json = pcc(['status', '--json', '--project', suite.t.project.root], env);
    expect(json.code, json.stderr).toBe(0);
    const out = JSON.parse(json.stdout);
    expect(out).toMatchObject({ usdPerHour: 0.17, usdPerHourAtLeast: true, unpriced: ['t2.nano'] });
    const cpu = out.hosts.find((h: { groups: string[] }) => h.groups.includes('c6i.xlarge'));
    expect(cpu.spentUsd).toBeGreaterThanOrEqual(0);
    expect(cpu.priceSource).toBe(`pcc's shipped table of ${ON_DEMAND_TABLE_DATE}`);
  });

  test("a stopped host's EBS disk is costed per month from DescribeVolumes", async () => {
    const { provider } = countingProvider();
    await acquireOn(provider, { type: 'cpu', count: 1, wait: false }, suite.t.ctx());
    await saveOn(provider, {}, suite.t.ctx());
    const [row] = await provider.status(suite.t.ctx());
    // An independent look at the instance's volumes: what status must have priced.
    const volumes = (await suite.aws.send(new DescribeVolumesCommand({ Filters: [{ Name: 'attachment.instance-id', Values: [row!.name === 'cpu1' ? (await suite.t.ctx().state.read()).hosts.cpu1!.providerId! : row!.name] }] }))).Volumes ?? [];
    expect(volumes.length).toBeGreaterThan(0);
    const want = volumes.reduce((s, v) => s + v.Size! * STORAGE_USD_PER_GB_MONTH[v.VolumeType ?? 'gp3']!, 0);
    expect(row).toMatchObject({ state: 'stopped' });
    expect(row!.usdPerHour).toBeUndefined();
    expect(row!.usdPerMonth).toBeGreaterThan(0);
    expect(row!.storage).toMatch(/GB (gp3|gp2|standard) at \$[\d.]+\/GB-month/);
    const kind = row!.storage!.match(/GB (\w+)/)![1]!;
    const gb = Number(row!.storage!.match(/(\d+) GB/)![1]);
    expect(row!.usdPerMonth).toBeCloseTo(gb * STORAGE_USD_PER_GB_MONTH[kind]!, 6);
    expect(row!.usdPerMonth).toBeCloseTo(want, 6);
  });

  test("save --snapshot: the project's AMIs are costed per month by their snapshots' size", async () => {
    const { provider } = countingProvider();
    await acquireOn(provider, { type: 'cpu', count: 1, wait: false }, suite.t.ctx());
    await saveOn(provider, { snapshot: true }, suite.t.ctx());
    const stored = await provider.storageCosts!(suite.t.ctx());
    expect(stored).toHaveLength(1);
    expect(stored[0]!.what).toMatch(/^AMI ami-[0-9a-f]+ \(us-east-1\): \d+ GB of snapshots at \$0\.05\/GB-month \(\d{4}-\d\d-\d\d\)$/);
    const gb = Number(stored[0]!.what.match(/(\d+) GB/)![1]);
    expect(gb).toBeGreaterThan(0);
    expect(stored[0]!.usdPerMonth).toBeCloseTo(gb * STORAGE_USD_PER_GB_MONTH.snapshot!, 6);
    const text = pcc(['status', '--project', suite.t.project.root], { ...suite.moto.env, HOME: suite.t.project.home });
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toMatch(/stored: AMI ami-/);
    expect(text.stdout).toMatch(/storage: \$[\d.]+\/month for stopped hosts' disks, snapshots and AMIs/);
  });

  test('adopt discovery names a running type without a price instead of counting it as $0', async () => {
    const { provider } = countingProvider();
    await acquireOn(provider, { type: 'cpu', count: 1, instanceType: 't2.nano', wait: false }, suite.t.ctx());
    const mine = (await provider.discover!(suite.t.ctx())).find((p) => p.id === suite.t.project.id)!;
    expect(mine).toMatchObject({ hosts: 1, usdPerHour: 0, unpriced: ['t2.nano'] });
    expect(foundPrice(mine)).toBe('>=0.000 (no price: t2.nano)');
  });

  test('pcc status without credentials says states and prices are unknown and exits non-zero', { timeout: 120_000 }, async () => {
    const { provider } = countingProvider();
    await acquireOn(provider, { type: 'cpu', count: 1, wait: false }, suite.t.ctx());
    suite.t.writePrivate(undefined);
    const env = { ...suite.moto.env, HOME: suite.t.project.home, AWS_ACCESS_KEY_ID: '', AWS_SECRET_ACCESS_KEY: '' };
    const r = pcc(['status', '--project', suite.t.project.root], env);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/no AWS credentials found/);
    expect(r.stdout).toMatch(/total: unknown: the states and prices of cpu1 cannot be read/);
    expect(r.stdout).not.toMatch(/\$0\.000/);
    const j = pcc(['status', '--json', '--project', suite.t.project.root], env);
    expect(j.code).toBe(1);
    expect(JSON.parse(j.stdout)).toMatchObject({ statesUnknown: ['cpu1'], usdPerHourAtLeast: true });
  });
});
