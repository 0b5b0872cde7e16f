import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DescribeInstancesCommand, EC2Client, type Instance } from '@aws-sdk/client-ec2';
import { afterAll, afterEach, beforeAll, beforeEach } from 'vitest';
import { openProject, type Project } from '../../src/core/project.js';
import type { Progress } from '../../src/core/progress.js';
import { createEc2Provider, type Ec2Hooks } from '../../src/providers/ec2/index.js';
import type { Provider, ProviderContext } from '../../src/providers/types.js';
import { loadSettings } from '../../src/settings/load.js';
import { StateStore } from '../../src/state/store.js';
import { MOTO_ACCOUNT_ID, seedImages, startMoto, type MotoServer } from '../fixtures/moto.js';

export const REGION = 'us-east-1';
export const DLAMI_PARAMETER = '/pcc-test/dlami/ami-id';
export const TEST_CIDR = '198.51.100.7/32';

/** A throwaway project with config/ec2.env, config/.private and its own key, pointed at moto. */
export interface TestProject {
  project: Project;
  dir: string;
  messages: string[];
  ctx(overrides?: { env?: Record<string, string>; dry?: boolean }): ProviderContext;
  writeEnv(lines: Record<string, string>): void;
  writePrivate(lines: Record<string, string> | undefined): void;
  cleanup(): void;
}

export function makeProject(name = 'demo'): TestProject {
  const dir = mkdtempSync(path.join(tmpdir(), 'pcc-ec2-'));
  const root = path.join(dir, name);
  const home = path.join(dir, 'home');
  mkdirSync(path.join(root, 'config'), { recursive: true });
  mkdirSync(path.join(home, '.ssh'), { recursive: true });
  const key = path.join(home, '.ssh', 'id_ed25519');
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'pcc-test', '-f', key]);
  const project = openProject({ project: root, home });
  const messages: string[] = [];
  const progress: Progress = {
    host: (h, m) => messages.push(`${h}: ${m}`),
    note: (m) => messages.push(m),
    warn: (m) => messages.push(`warning: ${m}`),
  };
  const state = new StateStore(project);
  const t: TestProject = {
    project,
    dir,
    messages,
    ctx: (overrides = {}) => ({
      project,
      // Only what the test passes: the runner's own AWS_* variables must not leak in.
      settings: loadSettings(project, overrides.env ?? {}),
      state,
      progress,
      dry: overrides.dry ?? false,
    }),
    writeEnv(lines) {
      writeFileSync(path.join(root, 'config', 'ec2.env'), envText(lines));
    },
    writePrivate(lines) {
      const file = path.join(root, 'config', '.private');
      if (!lines) return rmSync(file, { force: true });
      writeFileSync(file, envText(lines), { mode: 0o600 });
      chmodSync(file, 0o600);
    },
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
  t.writeEnv({
    EC2_REGION: REGION,
    EC2_AMI_OWNER: MOTO_ACCOUNT_ID,
    EC2_SSH_CIDR: TEST_CIDR,
    EC2_DLAMI_SSM_PARAMETER: DLAMI_PARAMETER,
    PCC_SSH_KEY: '~/.ssh/id_ed25519',
  });
  t.writePrivate({ AWS_ACCESS_KEY_ID: 'AKIATESTPCC0000KEY', AWS_SECRET_ACCESS_KEY: 'pcc-test-secret-value-0123456789' });
  return t;
}

function envText(lines: Record<string, string>): string {
  return `${Object.entries(lines)
    .map(([k, v]) => `${k}=${v}`)
    .join('\n')}\n`;
}

/** Points the SDK at moto for this test file's process (each file runs in its own fork). */
export function useMotoEnv(moto: MotoServer): void {
  Object.assign(process.env, moto.env);
  for (const k of ['AWS_PROFILE', 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', 'AWS_ENDPOINT_URL']) {
    delete process.env[k];
  }
}

/** A provider whose EC2 calls are counted by an SDK middleware, and which may never look up the caller's IP online. */
export function countingProvider(extra: Ec2Hooks = {}): { provider: Provider; calls: string[] } {
  const calls: string[] = [];
  const provider = createEc2Provider({
    waitDelay: { min: 0.2, max: 1 },
    discoverPublicIp: async (url) => {
      throw new Error(`test tried to discover its public IP at ${url}; set EC2_SSH_CIDR or a loopback EC2_CHECKIP_URL`);
    },
    ...extra,
    onClient: (client) => {
      if (!(client instanceof EC2Client)) return;
      client.middlewareStack.add(
        (next, context) => async (args) => {
          calls.push(String(context.commandName).replace(/Command$/, ''));
          return next(args);
        },
        { step: 'initialize', name: 'countCalls' },
      );
      extra.onClient?.(client);
    },
  });
  return { provider, calls };
}

/** An independent view of moto, for assertions (never the provider's own client). */
export function motoClient(moto: MotoServer): EC2Client {
  return new EC2Client({
    region: REGION,
    endpoint: moto.endpoint,
    credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
  });
}

/** A project's instances that are not terminated, as moto sees them (by the project-id tag). */
export async function liveInstances(aws: EC2Client, projectId: string): Promise<Instance[]> {
  const out = await aws.send(
    new DescribeInstancesCommand({
      Filters: [
        { Name: 'tag:pcc:project-id', Values: [projectId] },
        { Name: 'instance-state-name', Values: ['pending', 'running', 'stopping', 'stopped'] },
      ],
    }),
  );
  return (out.Reservations ?? []).flatMap((r) => r.Instances ?? []);
}

/** Their ids, sorted. */
export async function liveInstanceIds(aws: EC2Client, projectId: string): Promise<string[]> {
  return (await liveInstances(aws, projectId)).map((i) => i.InstanceId!).sort();
}

export interface MotoSuite {
  moto: MotoServer;
  /** An independent view of moto, for assertions. */
  aws: EC2Client;
  seeds: { flatcarAmi: string; dlamiAmi: string };
  /** This test's own project (a fresh one per test). */
  t: TestProject;
}

/**
 * One moto per test file, seeded once, and a fresh project per test. Tests do
 * not reset moto: each project has its own name, and pcc scopes everything by
 * the pcc:project tag, so tests cannot see each other's resources.
 */
export function useMotoSuite(prefix: string): MotoSuite {
  const suite = {} as MotoSuite;
  let serial = 0;
  beforeAll(async () => {
    suite.moto = await startMoto();
    useMotoEnv(suite.moto);
    suite.aws = motoClient(suite.moto);
    suite.seeds = await seedImages(suite.moto, { region: REGION, dlamiParameter: DLAMI_PARAMETER });
  });
  afterAll(async () => {
    suite.aws?.destroy();
    await suite.moto?.stop();
  });
  beforeEach(() => {
    suite.t = makeProject(`${prefix}${++serial}`);
  });
  afterEach(() => suite.t.cleanup());
  return suite;
}
