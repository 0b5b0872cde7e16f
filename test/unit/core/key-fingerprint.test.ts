import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import { ec2KeyFingerprint, fingerprintMatches } from '../../../src/core/key-fingerprint.js';

const keys = path.join(import.meta.dirname, '../../fixtures/keys');
const ED25519 = readFileSync(path.join(keys, 'ed25519-leading-zero.pub'), 'utf8');
const RSA = readFileSync(path.join(keys, 'rsa-2048.pub'), 'utf8');

describe('issue 30 item 7: the EC2 fingerprint of an imported key, to find the key adopted instances were launched with', () => {
  test('ed25519: the base64 SHA-256 of the blob, as ssh-keygen -l prints it', () => {
    // ssh-keygen -lf ed25519-leading-zero.pub: SHA256:irtHSlE01fWTBMJWrQTywWptIcki6niubolS3Hxa8Lo
    expect(ec2KeyFingerprint(ED25519)).toBe('irtHSlE01fWTBMJWrQTywWptIcki6niubolS3Hxa8Lo=');
  });

  test("RSA: the MD5 of the DER public key in colon hex, AWS's openssl recipe", () => {
    // ssh-keygen -ef rsa-2048.pub -m PEM | openssl rsa -RSAPublicKey_in -outform DER | openssl md5 -c
    expect(ec2KeyFingerprint(RSA)).toBe('43:50:95:81:b6:9e:db:7d:14:bc:f8:eb:2b:d4:95:bc');
  });

  test("matches AWS's forms, moto's (SHA-256 of the DER for ed25519) and RFC 4716's MD5; not another key's", () => {
    expect(fingerprintMatches(ED25519, 'irtHSlE01fWTBMJWrQTywWptIcki6niubolS3Hxa8Lo=')).toBe(true);
    expect(fingerprintMatches(ED25519, 'SHA256:irtHSlE01fWTBMJWrQTywWptIcki6niubolS3Hxa8Lo')).toBe(true);
    // What moto returns for this key once imported (hashlib.sha256 of the DER SubjectPublicKeyInfo).
    const moto = '65:3b:20:0b:30:8a:f3:49:d9:b4:de:bd:9f:66:8f:eb:a3:c8:05:54:74:b7:12:45:44:73:d5:2d:7a:57:be:38';
    expect(fingerprintMatches(ED25519, moto)).toBe(true);
    expect(fingerprintMatches(RSA, '43:50:95:81:b6:9e:db:7d:14:bc:f8:eb:2b:d4:95:bc')).toBe(true);
    // ssh-keygen -E md5 -lf rsa-2048.pub
    expect(fingerprintMatches(RSA, 'e5:3f:97:ea:cd:85:05:8b:24:99:25:a4:b3:dc:1b:82')).toBe(true);
    expect(fingerprintMatches(RSA, moto)).toBe(false);
    expect(fingerprintMatches(ED25519, '43:50:95:81:b6:9e:db:7d:14:bc:f8:eb:2b:d4:95:bc')).toBe(false);
  });
});
