import { createHash, createHmac, type Hash, type Hmac } from 'node:crypto';
import { SignatureV4 } from '@smithy/signature-v4';

/**
 * The AWS Price List API (`AWSPriceListService.GetProducts`, JSON 1.1
 * protocol), called with fetch and signed by the AWS SDK's own SigV4 signer
 * (`@smithy/signature-v4`): one call does not warrant the whole
 * `@aws-sdk/client-pricing`, whose releases here lag the EC2 client's.
 * Credentials come from the EC2 client's own resolved chain, so whatever EC2
 * uses, this uses.
 */

export interface AwsIdentity {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

/** The Price List API answers in us-east-1 (also eu-central-1 and ap-south-1); us-east-1 serves every region's prices. */
const PRICING_REGION = 'us-east-1';

/** Where GetProducts goes: AWS_ENDPOINT_URL_PRICING (the SDK's own variable for this service), else AWS. */
export function pricingEndpoint(env: NodeJS.ProcessEnv = process.env): string {
  return env.AWS_ENDPOINT_URL_PRICING ?? `https://api.pricing.${PRICING_REGION}.amazonaws.com`;
}

/**
 * Whether the live API may be asked. Where EC2 is pointed elsewhere (moto,
 * a test) and pricing is not, a Price List call would leave for real AWS:
 * it is not made, and the cached or shipped prices serve.
 */
export function priceListAllowed(env: NodeJS.ProcessEnv = process.env): boolean {
  if (env.AWS_ENDPOINT_URL_PRICING) return true;
  return !env.AWS_ENDPOINT_URL_EC2 && !env.AWS_ENDPOINT_URL;
}

/**
 * The on-demand Linux (shared tenancy, no pre-installed software) hourly
 * price of one instance type in one region, or undefined where the Price
 * List has none. One GetProducts call.
 */
export async function fetchOnDemandPrice(instanceType: string, region: string, identity: AwsIdentity, endpoint = pricingEndpoint()): Promise<number | undefined> {
  const filter = (Field: string, Value: string) => ({ Type: 'TERM_MATCH', Field, Value });
  const body = JSON.stringify({
    ServiceCode: 'AmazonEC2',
    FormatVersion: 'aws_v1',
    MaxResults: 10,
    Filters: [
      filter('instanceType', instanceType),
      filter('regionCode', region),
      filter('operatingSystem', 'Linux'),
      filter('tenancy', 'Shared'),
      filter('preInstalledSw', 'NA'),
      filter('capacitystatus', 'Used'),
    ],
  });
  const url = new URL(endpoint);
  const headers = await signedHeaders(url, body, identity, new Date());
  const res = await fetch(url, { method: 'POST', headers, body, signal: AbortSignal.timeout(15_000) });
  const text = await res.text();
  if (!res.ok) {
    let code = `HTTP ${res.status}`;
    try {
      const parsed = JSON.parse(text) as { __type?: string };
      if (parsed.__type) code = parsed.__type.split('#').pop()!;
    } catch {
      // not JSON: the status says enough
    }
    throw new Error(`Price List GetProducts: ${code}`);
  }
  return parseGetProducts(text, instanceType);
}

/**
 * A GetProducts answer: `PriceList` is a list of JSON strings, each one
 * product with its `terms.OnDemand` offers, each with `priceDimensions` whose
 * `pricePerUnit.USD` is the price per `unit` (`Hrs`). The lowest hourly
 * on-demand price of a product of the type wins (the filters already leave one).
 */
export function parseGetProducts(text: string, instanceType: string): number | undefined {
  const answer = JSON.parse(text) as { PriceList?: unknown[] };
  let best: number | undefined;
  for (const item of answer.PriceList ?? []) {
    const product = (typeof item === 'string' ? JSON.parse(item) : item) as PriceListProduct;
    if (product.product?.attributes?.instanceType !== instanceType) continue;
    for (const offer of Object.values(product.terms?.OnDemand ?? {})) {
      for (const dim of Object.values(offer.priceDimensions ?? {})) {
        if (dim.unit !== 'Hrs') continue;
        const usd = Number(dim.pricePerUnit?.USD);
        if (Number.isFinite(usd) && usd > 0 && (best === undefined || usd < best)) best = usd;
      }
    }
  }
  return best;
}

interface PriceListProduct {
  product?: { attributes?: Record<string, string> };
  terms?: { OnDemand?: Record<string, { priceDimensions?: Record<string, { unit?: string; pricePerUnit?: { USD?: string } }> }> };
}

/** AWS Signature Version 4 for one JSON POST to the pricing service, by the SDK's signer. */
export async function signedHeaders(url: URL, body: string, id: AwsIdentity, now: Date): Promise<Record<string, string>> {
  const signer = new SignatureV4({ service: 'pricing', region: PRICING_REGION, credentials: id, sha256: NodeSha256, applyChecksum: false });
  const request = {
    method: 'POST',
    protocol: url.protocol,
    hostname: url.hostname,
    ...(url.port ? { port: Number(url.port) } : {}),
    path: url.pathname || '/',
    query: {},
    headers: { 'content-type': 'application/x-amz-json-1.1', host: url.host, 'x-amz-target': 'AWSPriceListService.GetProducts' },
    body,
  };
  const signed = await signer.sign(request, { signingDate: now });
  return signed.headers;
}

/** The hash the signer asks for, from node's crypto (an HMAC when given a key). */
class NodeSha256 {
  private readonly hash: Hash | Hmac;
  constructor(secret?: string | ArrayBuffer | ArrayBufferView) {
    this.hash = secret === undefined ? createHash('sha256') : createHmac('sha256', typeof secret === 'string' ? secret : Buffer.from(secret as ArrayBuffer));
  }
  update(data: string | ArrayBuffer | ArrayBufferView): void {
    this.hash.update(typeof data === 'string' ? data : Buffer.from(data as ArrayBuffer));
  }
  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.hash.digest());
  }
}
