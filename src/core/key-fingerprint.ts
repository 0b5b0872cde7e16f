import { createHash, createPublicKey } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { Settings } from '../settings/load.js';
import { expandHome, type Project } from './project.js';
import { projectKeyPath } from './user-key.js';

/**
 * The public key's DER (SubjectPublicKeyInfo), which EC2 hashes for RSA and
 * moto for ed25519; undefined for other types. Read through a JWK so that
 * listing keys loads no SSH library.
 */
function spkiDer(publicKey: string): Buffer | undefined {
  const fields = wireStrings(blobOf(publicKey));
  const b64url = (b: Buffer): string => b.toString('base64url');
  const unsigned = (b: Buffer): Buffer => (b[0] === 0 ? b.subarray(1) : b);
  try {
    if (fields[0]?.toString() === 'ssh-ed25519' && fields[1]) {
      return createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: b64url(fields[1]) }, format: 'jwk' }).export({ type: 'spki', format: 'der' });
    }
    if (fields[0]?.toString() === 'ssh-rsa' && fields[1] && fields[2]) {
      return createPublicKey({ key: { kty: 'RSA', e: b64url(unsigned(fields[1])), n: b64url(unsigned(fields[2])) }, format: 'jwk' }).export({ type: 'spki', format: 'der' });
    }
  } catch {
    return undefined;
  }
  return undefined;
}

/** The length-prefixed strings of an SSH public key blob (RFC 4253 section 6.6). */
function wireStrings(blob: Buffer): Buffer[] {
  const out: Buffer[] = [];
  for (let at = 0; at + 4 <= blob.length; ) {
    const len = blob.readUInt32BE(at);
    if (at + 4 + len > blob.length) break;
    out.push(blob.subarray(at + 4, at + 4 + len));
    at += 4 + len;
  }
  return out;
}

function blobOf(publicKey: string): Buffer {
  return Buffer.from(publicKey.trim().split(/\s+/)[1] ?? '', 'base64');
}

const colons = (hex: string): string => hex.replace(/(..)(?!$)/g, '$1:');

/**
 * What EC2's DescribeKeyPairs shows as KeyFingerprint for this public key
 * once imported: for ed25519 the base64 SHA-256 of the key blob (OpenSSH's
 * `ssh-keygen -l` without its `SHA256:`), for RSA the MD5 of the DER public
 * key in colon hex (AWS's own recipe: `openssl rsa -RSAPublicKey_in -outform
 * DER | openssl md5 -c`).
 */
export function ec2KeyFingerprint(publicKey: string): string {
  if (publicKey.trim().startsWith('ssh-ed25519 ')) return createHash('sha256').update(blobOf(publicKey)).digest('base64');
  const der = spkiDer(publicKey);
  return colons(createHash('md5').update(der ?? blobOf(publicKey)).digest('hex'));
}

/**
 * Whether an EC2 KeyFingerprint is this key's. Besides AWS's forms it takes
 * moto's (ed25519: SHA-256 of the DER in colon hex), which the tests run on,
 * and RFC 4716's MD5 of the blob, which AWS's API reference names for RSA.
 */
export function fingerprintMatches(publicKey: string, fingerprint: string): boolean {
  const want = normalise(fingerprint);
  const der = spkiDer(publicKey);
  const forms = [
    ec2KeyFingerprint(publicKey),
    createHash('sha256').update(blobOf(publicKey)).digest('base64'),
    createHash('md5').update(blobOf(publicKey)).digest('hex'),
    ...(der ? [createHash('sha256').update(der).digest('hex'), createHash('md5').update(der).digest('hex')] : []),
  ];
  return forms.some((f) => normalise(f) === want);
}

/** `SHA256:` prefix, base64 padding, colons and hex case do not tell two fingerprints apart. */
function normalise(fingerprint: string): string {
  const f = fingerprint.trim().replace(/^SHA256:/, '').replace(/=+$/, '');
  return /^[0-9a-fA-F:]+$/.test(f) && f.includes(':') ? f.replace(/:/g, '').toLowerCase() : f;
}

/** A private key on this machine with its `.pub` beside it. */
export interface LocalKey {
  /** The path as a host record keeps it (`~/` kept where the user wrote it). */
  privateKey: string;
  publicKey: string;
}

/**
 * The keys a launch could have used, in the order they are tried: the
 * configured PCC_SSH_KEY, the project key in `.pcc/ssh/`, then every
 * `~/.ssh/id_*` with its `.pub`. Only keys whose `.pub` exists are read.
 */
export function localKeys(project: Project, settings: Settings): LocalKey[] {
  const sshDir = path.join(project.home, '.ssh');
  const userIds = existsSync(sshDir)
    ? readdirSync(sshDir)
        .filter((f) => /^id_[^.]+$/.test(f))
        .sort()
        .map((f) => `~/.ssh/${f}`)
    : [];
  const seen = new Set<string>();
  const out: LocalKey[] = [];
  for (const recorded of [settings.values.PCC_SSH_KEY, projectKeyPath(project), ...userIds]) {
    const file = expandHome(recorded, project.home);
    if (seen.has(file) || !existsSync(file) || !existsSync(`${file}.pub`)) continue;
    seen.add(file);
    const publicKey = readFileSync(`${file}.pub`, 'utf8').trim().split('\n')[0]!.trim();
    out.push({ privateKey: recorded, publicKey });
  }
  return out;
}

/** The local key whose public half EC2 fingerprints as `fingerprint`, if this machine has it. */
export function findLocalKey(fingerprint: string, project: Project, settings: Settings): LocalKey | undefined {
  return localKeys(project, settings).find((k) => fingerprintMatches(k.publicKey, fingerprint));
}
