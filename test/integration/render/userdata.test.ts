import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Ajv2019 from 'ajv/dist/2019.js';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { parse as parseYaml } from 'yaml';
import {
  renderCloudConfig,
  renderIgnition,
  shippedTemplatesDir,
  type UserDataInput,
} from '../../../src/render/userdata.js';
import { nvidiaProvisioning } from '../../../src/gpu/flatcar.js';
import { ignitionReport } from '../../fixtures/ignition-validate.js';

/**
 * The official Ignition spec 3.4.0 JSON schema, copied unchanged from
 * coreos/ignition v2.20.0 (config/v3_4/schema/ignition.json, Apache-2.0).
 * The upstream schema allows unknown keys, which Ignition itself only warns
 * about; here every object is closed (`unevaluatedProperties: false`) so a
 * misspelt key in a template fails the test.
 */
const schemaFile = fileURLToPath(new URL('../../fixtures/ignition-v3_4.schema.json', import.meta.url));
const validateIgnition = (() => {
  const schema = JSON.parse(readFileSync(schemaFile, 'utf8'));
  delete schema.$schema; // draft-04 URI; the keywords it uses mean the same in 2019-09
  closeObjects(schema, false);
  // A definition used as an allOf branch (storage's `node`) is closed by its allOf parent instead.
  for (const ref of allOfRefs(schema)) delete resolve(schema, ref).unevaluatedProperties;
  const ajv = new Ajv2019.default({ allErrors: true, strict: false });
  return ajv.compile(schema);
})();

function closeObjects(node: unknown, inAllOf: boolean): void {
  if (Array.isArray(node)) return node.forEach((n) => closeObjects(n, inAllOf));
  if (!node || typeof node !== 'object') return;
  const obj = node as Record<string, unknown>;
  if (obj.allOf) obj.unevaluatedProperties = false;
  else if (obj.properties && !inAllOf) obj.unevaluatedProperties = false;
  for (const [key, value] of Object.entries(obj)) {
    if (key === 'allOf') closeObjects(value, true);
    else if (key === 'properties' || key === 'definitions') {
      for (const child of Object.values(value as Record<string, unknown>)) closeObjects(child, false);
    } else if (key === 'items') closeObjects(value, false);
  }
}

function allOfRefs(node: unknown): string[] {
  if (Array.isArray(node)) return node.flatMap(allOfRefs);
  if (!node || typeof node !== 'object') return [];
  const obj = node as Record<string, unknown>;
  const here = Array.isArray(obj.allOf) ? obj.allOf.flatMap((b) => (typeof b?.$ref === 'string' ? [b.$ref as string] : [])) : [];
  return [...here, ...Object.values(obj).flatMap(allOfRefs)];
}

function resolve(schema: Record<string, any>, ref: string): Record<string, unknown> {
  return ref
    .replace(/^#\//, '')
    .split('/')
    .reduce((at, part) => at[part], schema);
}

function expectValidIgnition(text: string): any {
  expect(ignitionReport(text)).toBe('');
  const config = JSON.parse(text);
  const ok = validateIgnition(config);
  expect(validateIgnition.errors ?? [], JSON.stringify(validateIgnition.errors)).toEqual([]);
  expect(ok).toBe(true);
  return config;
}

function fileContents(config: any, file: string): string | undefined {
  const entry = config.storage.files.find((f: { path: string }) => f.path === file);
  if (!entry) return undefined;
  const source: string = entry.contents.source;
  expect(source.startsWith('data:,')).toBe(true);
  return decodeURIComponent(source.slice('data:,'.length));
}

const key = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIC4VN0cKAY3jp+4nbmb2VqN+vqqOqKP+lcoCgrBbajbR "odd" <user>&co';
const full: UserDataInput = {
  hostname: 'gpu1',
  role: 'compute',
  sshAuthorizedKeys: [key],
  registryHost: '10.214.0.1:5000',
  nvidia: nvidiaProvisioning('A10G', '570', 'v1.17.9'),
};

describe('Ignition user data', () => {
  test('a GPU compute host: valid for the upstream validator and the closed 3.4 schema, keys, hostname, registry trust, NVIDIA sysexts', () => {
    const config = expectValidIgnition(renderIgnition(full));
    expect(config.ignition.version).toBe('3.4.0');
    expect(config.passwd.users).toEqual([{ name: 'core', sshAuthorizedKeys: [key] }]);
    expect(fileContents(config, '/etc/hostname')).toBe('gpu1\n');
    expect(fileContents(config, '/etc/pcc/role')).toBe('compute\n');
    expect(fileContents(config, '/etc/flatcar/update.conf')).toBe('REBOOT_STRATEGY=off\n');
    expect(JSON.parse(fileContents(config, '/etc/docker/daemon.json')!)).toEqual({ 'insecure-registries': ['10.214.0.1:5000'] });
    // Flatcar's prebuilt driver sysext (the initrd fetches it at first boot) and the container toolkit sysext; no nvidia.service.
    expect(fileContents(config, '/etc/flatcar/enabled-sysext.conf')).toBe('nvidia-drivers-570-open\n');
    const runtime = '/opt/extensions/nvidia-runtime/nvidia-runtime-v1.17.9-x86-64.raw';
    expect(config.storage.files.find((f: { path: string }) => f.path === runtime)).toEqual({
      path: runtime,
      mode: 420,
      contents: { source: 'https://extensions.flatcar.org/extensions/nvidia-runtime-v1.17.9-x86-64.raw' },
    });
    expect(config.storage.links).toEqual([{ path: '/etc/extensions/nvidia-runtime.raw', target: runtime, hard: false, overwrite: true }]);
    expect(config.systemd.units).toEqual([{ name: 'docker.service', enabled: true }]);
  });

  test('a Volta host gets the proprietary driver sysext', () => {
    const config = expectValidIgnition(renderIgnition({ ...full, nvidia: nvidiaProvisioning('V100', '570', 'v1.17.9') }));
    expect(fileContents(config, '/etc/flatcar/enabled-sysext.conf')).toBe('nvidia-drivers-570\n');
  });

  test('the upstream validator itself rejects what Ignition would (the check works)', () => {
    expect(ignitionReport('{"ignition":{"version":"3.4.0"},"storage":{"files":[{"path":"/x","mod":420}]}}')).toMatch(/Unused key mod/);
    expect(ignitionReport('{"ignition":{"version":"3.4.0"},"storage":{"files":[{"path":"relative","mode":420}]}}')).not.toBe('');
    expect(ignitionReport('{"ignition":{"version":"3.4.0"}}')).toBe('');
  });

  test('a shared config without hostname, registry or GPU leaves those parts out and stays valid', () => {
    const config = expectValidIgnition(renderIgnition({ role: 'controller', sshAuthorizedKeys: [key, 'ssh-rsa AAAAB3 other'] }));
    expect(fileContents(config, '/etc/hostname')).toBeUndefined();
    expect(fileContents(config, '/etc/docker/daemon.json')).toBeUndefined();
    expect(fileContents(config, '/etc/pcc/role')).toBe('controller\n');
    expect(config.passwd.users[0].sshAuthorizedKeys).toHaveLength(2);
    expect(config.systemd.units).toEqual([{ name: 'docker.service', enabled: true }]);
  });

  test('the closed schema rejects a misspelt key (the check itself works)', () => {
    expect(validateIgnition({ ignition: { version: '3.4.0' }, passwd: { users: [{ name: 'core', sshAuthorizedKey: ['x'] }] } })).toBe(false);
    expect(validateIgnition({ ignition: { version: '3.4.0' }, storage: { files: [{ path: '/x', mod: 420 }] } })).toBe(false);
    expect(validateIgnition({ ignition: { version: '3.4.0' }, storage: { files: [{ path: '/x', mode: 420 }] } })).toBe(true);
  });

  test('bad input is a one-line error', () => {
    expect(() => renderIgnition({ role: 'compute', sshAuthorizedKeys: [] })).toThrow(/^no SSH public key/);
    expect(() => renderIgnition({ ...full, hostname: 'Bad_Name' })).toThrow("host name 'Bad_Name' is not a valid hostname");
  });
});

describe('cloud-config user data', () => {
  test('valid YAML under a #cloud-config line, with keys, files and units', () => {
    const text = renderCloudConfig(full);
    expect(text.split('\n')[0]).toBe('#cloud-config');
    const doc = parseYaml(text);
    expect(doc).toEqual({
      hostname: 'gpu1',
      ssh_authorized_keys: [key],
      write_files: [
        { path: '/etc/pcc/role', permissions: '0644', content: 'compute\n' },
        { path: '/etc/flatcar/update.conf', permissions: '0644', content: 'REBOOT_STRATEGY=off\n' },
        { path: '/etc/docker/daemon.json', permissions: '0644', content: expect.stringContaining('"10.214.0.1:5000"') },
      ],
      coreos: {
        units: [{ name: 'docker.service', command: 'start', enable: true }],
      },
    });
  });

  test('for a non-Flatcar image (cloud-init) the Flatcar parts are left out', () => {
    const doc = parseYaml(renderCloudConfig({ role: 'compute', sshAuthorizedKeys: [key], flatcar: false }));
    expect(doc).toEqual({
      ssh_authorized_keys: [key],
      write_files: [{ path: '/etc/pcc/role', permissions: '0644', content: 'compute\n' }],
    });
  });
});

describe('templates', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'pcc-templates-'));
    mkdirSync(dir, { recursive: true });
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  test('the shipped templates sit in cloud-config/ at the package root', () => {
    const root = path.resolve(fileURLToPath(new URL('../../..', import.meta.url)));
    expect(shippedTemplatesDir()).toBe(path.join(root, 'cloud-config'));
  });

  test("a project's own template wins, file by file", () => {
    writeFileSync(path.join(dir, 'ignition.json.hbs'), '{"ignition":{"version":"3.4.0"},"passwd":{"users":[{"name": {{json user}} }]}}');
    expect(JSON.parse(renderIgnition(full, dir))).toEqual({ ignition: { version: '3.4.0' }, passwd: { users: [{ name: 'core' }] } });
    expect(renderCloudConfig(full, dir)).toContain('ssh_authorized_keys:');
  });

  test('a template error is one line that names the template file', () => {
    const file = path.join(dir, 'ignition.json.hbs');
    writeFileSync(file, '{"ignition": {{#if gpu}} }');
    const err = (() => {
      try {
        renderIgnition(full, dir);
      } catch (e) {
        return e as Error;
      }
    })();
    expect(err?.name).toBe('PccError');
    expect(err?.message.startsWith(`${file}: Parse error on line 1`)).toBe(true);
    expect(err?.message).toMatch(/fix the template$/);
    expect(err?.message).not.toContain('\n');

    writeFileSync(file, '{"ignition": {"version": {{json hostnme}} }}');
    expect(() => renderIgnition(full, dir)).toThrow(new RegExp(`^${file}: unknown field 'hostnme'; known fields: hostname, role,`));
    writeFileSync(file, '{"ignition": {"version": "3.4.0"} {{#if registryHots}}, "x": 1{{/if}} }');
    expect(() => renderIgnition(full, dir)).toThrow(/unknown field 'registryHots'/);

    writeFileSync(file, '{"ignition": {"version": "3.4.0"},}');
    expect(() => renderIgnition(full, dir)).toThrow(new RegExp(`^${file}: the rendered Ignition config is not JSON`));

    writeFileSync(path.join(dir, 'cloud-config.yaml.hbs'), 'hostname: x\n');
    expect(() => renderCloudConfig(full, dir)).toThrow(/must start with a '#cloud-config' line/);
  });
});
