import { EC2Client } from '@aws-sdk/client-ec2';
import { SSMClient } from '@aws-sdk/client-ssm';
import { PccError } from '../../core/errors.js';
import { noteSecret, redactSecrets } from '../../core/secrets.js';
import type { Settings } from '../../settings/load.js';

// The SDK warns on every run that its releases from 2027 on need Node 22.
// pcc supports Node 20 with the release it depends on, so the warning would
// only confuse users.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

export interface AwsClients {
  readonly region: string;
  readonly ec2: EC2Client;
  readonly ssm: SSMClient;
  destroy(): void;
}

export type ClientHook = (client: EC2Client | SSMClient) => void;

/**
 * One EC2 and one SSM client per region. Endpoints come from the SDK itself
 * (AWS_ENDPOINT_URL_EC2 / AWS_ENDPOINT_URL_SSM / AWS_ENDPOINT_URL, or the
 * shared config file); credentials from config/.private when both keys are
 * there, else the SDK's default chain (environment, profiles, SSO, IMDS).
 */
export function createClients(settings: Settings, region: string, hook?: ClientHook): AwsClients {
  const credentials = staticCredentials(settings);
  // AWS_PROFILE from config/ec2.env counts as much as from the environment.
  const profile = settings.values.AWS_PROFILE;
  const config = { region, maxAttempts: 4, ...(credentials ? { credentials } : profile ? { profile } : {}) };
  const ec2 = new EC2Client(config);
  const ssm = new SSMClient(config);
  annotateErrors(ec2, region);
  annotateErrors(ssm, region);
  hook?.(ec2);
  hook?.(ssm);
  return {
    region,
    ec2,
    ssm,
    destroy() {
      ec2.destroy();
      ssm.destroy();
    },
  };
}

/** Tags each failure with the operation and region; only annotates, since waiters match on the SDK's own error names. */
function annotateErrors(client: EC2Client | SSMClient, region: string): void {
  (client.middlewareStack as EC2Client['middlewareStack']).add(
    (next, context) => async (args) => {
      try {
        return await next(args);
      } catch (err) {
        if (err instanceof Error) Object.assign(err, { pccOperation: context.commandName, pccRegion: region });
        throw err;
      }
    },
    { step: 'initialize', name: 'pccOperationName' },
  );
}

function staticCredentials(settings: Settings) {
  const { AWS_ACCESS_KEY_ID: id, AWS_SECRET_ACCESS_KEY: secret, AWS_SESSION_TOKEN: token } = settings.values;
  if (!id && !secret) return undefined;
  if (!id || !secret) {
    const [have, missing] = id ? ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY'] : ['AWS_SECRET_ACCESS_KEY', 'AWS_ACCESS_KEY_ID'];
    const where = settings.origin[have] ?? 'config/.private';
    throw new PccError(`${where}: ${have} is set but ${missing} is not; set both, or neither to use your AWS profile`);
  }
  return { accessKeyId: id, secretAccessKey: secret, ...(token ? { sessionToken: token } : {}) };
}

const REJECTED_CREDENTIALS = new Set([
  'AuthFailure',
  'InvalidClientTokenId',
  'SignatureDoesNotMatch',
  'UnrecognizedClientException',
  'InvalidAccessKeyId',
  'ExpiredToken',
  'ExpiredTokenException',
  'RequestExpired',
]);
const NOT_ALLOWED = new Set(['UnauthorizedOperation', 'AccessDenied', 'AccessDeniedException']);

/**
 * Every AWS failure becomes one line that says what to do. Messages are
 * scrubbed of the credential values, whatever the service echoed back.
 */
export function toPccError(err: unknown, settings: Settings): unknown {
  if (err instanceof PccError) return err;
  if (!(err instanceof Error)) return err;
  const annotated = err as { Code?: string; pccOperation?: string; pccRegion?: string };
  if (annotated.pccOperation === undefined && !isCredentialError(err)) return err;
  const code = annotated.Code ?? err.name;
  const at = { region: annotated.pccRegion ?? '?', settings };
  const source = credentialSource(settings);
  const op = (annotated.pccOperation ?? 'call').replace(/Command$/, '');
  let message: string;
  if (isCredentialError(err)) {
    message =
      'no AWS credentials found: put AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY in config/.private (chmod 600), or set up a profile (aws configure / aws sso login)';
  } else if (REJECTED_CREDENTIALS.has(code)) {
    message = `AWS rejected the credentials from ${source} (${code}); check AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or renew the session`;
  } else if (NOT_ALLOWED.has(code)) {
    message = `the AWS identity from ${source} may not call ${op} in ${at.region} (${code}); grant it that permission`;
  } else if (isNetworkError(err)) {
    const endpoint = process.env.AWS_ENDPOINT_URL_EC2 ?? process.env.AWS_ENDPOINT_URL ?? `the ${at.region} endpoint`;
    message = `cannot reach AWS (${op}) at ${endpoint}: ${networkCode(err)}; check the network or AWS_ENDPOINT_URL_EC2`;
  } else {
    message = `AWS ${op} failed in ${at.region}: ${code}: ${firstLine(err.message)}`;
  }
  return new PccError(redact(message, settings), { cause: err });
}

/** Runs a provider step and turns whatever AWS threw into a PccError. */
export async function withAwsErrors<T>(settings: Settings, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw toPccError(err, settings);
  }
}

function isCredentialError(err: Error): boolean {
  return err.name === 'CredentialsProviderError' || /Could not load credentials/i.test(err.message);
}

function credentialSource(settings: Settings): string {
  if (settings.values.AWS_ACCESS_KEY_ID) return settings.origin.AWS_ACCESS_KEY_ID ?? 'config/.private';
  return process.env.AWS_PROFILE ? `profile ${process.env.AWS_PROFILE}` : 'the default AWS credential chain';
}

function isNetworkError(err: Error): boolean {
  return /^(ECONNREFUSED|ENOTFOUND|ECONNRESET|ETIMEDOUT|EAI_AGAIN|EHOSTUNREACH)$/.test(networkCode(err));
}

function networkCode(err: Error): string {
  const e = err as { code?: string; cause?: { code?: string } };
  return e.code ?? e.cause?.code ?? err.name;
}

function firstLine(text: string): string {
  return text.split('\n')[0]!.trim();
}

/** The error keeps no credential, wherever it is shown: the same mask as all of pcc's output (core/secrets.ts). */
export function redact(text: string, settings: Settings): string {
  for (const value of [settings.values.AWS_SECRET_ACCESS_KEY, settings.values.AWS_SESSION_TOKEN, settings.values.AWS_ACCESS_KEY_ID]) {
    if (value) noteSecret(value);
  }
  return redactSecrets(text);
}
