import {
  AuthorizeSecurityGroupIngressCommand,
  CreateSecurityGroupCommand,
  DescribeKeyPairsCommand,
  DescribeSecurityGroupsCommand,
  ImportKeyPairCommand,
  RevokeSecurityGroupIngressCommand,
  type IpPermission,
} from '@aws-sdk/client-ec2';
import { PccError } from '../../core/errors.js';
import type { AwsClients } from './clients.js';
import { keyFingerprint, type UserKey } from '../../core/user-key.js';
import { baseTags, projectFilter, tagSpecs, type Role } from './tags.js';

/**
 * One inbound rule: a protocol and port, from one CIDR, or from the group
 * itself (the project's own instances, over their private addresses).
 */
export type IngressRule = { protocol: 'tcp' | 'udp'; port: number } & ({ cidr: string } | { fromSelf: true });

export function keyPairName(project: string, key: UserKey): string {
  return `pcc-${project}-${keyFingerprint(key.publicKey)}`;
}

export function securityGroupName(project: string): string {
  return `pcc-${project}`;
}

/** Imported once per public key: a changed key gets a new pair, and the sweep removes the old one. */
export async function ensureKeyPair(aws: AwsClients, project: string, role: Role, key: UserKey): Promise<string> {
  const name = keyPairName(project, key);
  const found = await aws.ec2.send(new DescribeKeyPairsCommand({ Filters: [{ Name: 'key-name', Values: [name] }] }));
  if ((found.KeyPairs ?? []).length > 0) return name;
  await aws.ec2.send(
    new ImportKeyPairCommand({
      KeyName: name,
      PublicKeyMaterial: Buffer.from(key.publicKey),
      TagSpecifications: tagSpecs(['key-pair'], baseTags(project, role)),
    }),
  );
  return name;
}

/**
 * The project's security group in the default VPC: SSH and the overlay port
 * from the caller's address only. Rules that no longer match (the caller
 * moved) are revoked, so the group never collects stale openings.
 */
export async function ensureSecurityGroup(
  aws: AwsClients,
  project: string,
  role: Role,
  desired: readonly IngressRule[],
): Promise<string> {
  const name = securityGroupName(project);
  const found = await aws.ec2.send(
    new DescribeSecurityGroupsCommand({ Filters: [projectFilter(project), { Name: 'group-name', Values: [name] }] }),
  );
  let group = found.SecurityGroups?.[0];
  let groupId = group?.GroupId;
  if (!groupId) {
    try {
      const created = await aws.ec2.send(
        new CreateSecurityGroupCommand({
          GroupName: name,
          Description: `pcc project ${project}: SSH and overlay from the owner's address only`,
          TagSpecifications: tagSpecs(['security-group'], baseTags(project, role)),
        }),
      );
      groupId = created.GroupId!;
    } catch (err) {
      const code = (err as Error).name;
      if (code === 'InvalidGroup.Duplicate') {
        throw new PccError(`a security group named ${name} exists without the ${project} project tag; delete or rename it`);
      }
      if (code === 'VPCIdNotSpecified') {
        throw new PccError(`${aws.region} has no default VPC; create one with: aws ec2 create-default-vpc --region ${aws.region}`);
      }
      throw err;
    }
  }
  const { revoke, authorize } = ingressChanges(group?.IpPermissions ?? [], desired, groupId);
  if (revoke.length > 0) {
    await aws.ec2.send(new RevokeSecurityGroupIngressCommand({ GroupId: groupId, IpPermissions: revoke }));
  }
  if (authorize.length > 0) {
    await aws.ec2.send(new AuthorizeSecurityGroupIngressCommand({ GroupId: groupId, IpPermissions: authorize }));
  }
  return groupId;
}

/** What to revoke and add so that the group holds exactly the desired rules. */
export function ingressChanges(
  existing: readonly IpPermission[],
  desired: readonly IngressRule[],
  groupId: string,
): { revoke: IpPermission[]; authorize: IpPermission[] } {
  const keyOf = (d: IngressRule) => ruleKey(d.protocol, d.port, d.port, 'cidr' in d ? d.cidr : `group:${groupId}`);
  const wantedKeys = new Set(desired.map(keyOf));
  const have = new Set<string>();
  const revoke: IpPermission[] = [];
  for (const perm of existing) {
    const sources = [
      ...(perm.IpRanges ?? []).map((r) => ruleKey(perm.IpProtocol, perm.FromPort, perm.ToPort, r.CidrIp)),
      ...(perm.UserIdGroupPairs ?? []).map((g) => ruleKey(perm.IpProtocol, perm.FromPort, perm.ToPort, `group:${g.GroupId}`)),
    ];
    const stale = (perm.Ipv6Ranges ?? []).length > 0 || sources.some((k) => !wantedKeys.has(k));
    // A rule with a stale source goes whole and its wanted sources come back: EC2 stores
    // a CIDR and a group on one port as one rule, and moto revokes only whole rules.
    if (stale) revoke.push(stripEmpty(perm));
    else for (const k of sources) have.add(k);
  }
  const authorize = desired
    .filter((d) => !have.has(keyOf(d)))
    .map((d): IpPermission => {
      const description = d.protocol === 'tcp' ? 'pcc ssh' : 'pcc overlay';
      const base = { IpProtocol: d.protocol, FromPort: d.port, ToPort: d.port };
      return 'cidr' in d
        ? { ...base, IpRanges: [{ CidrIp: d.cidr, Description: description }] }
        : { ...base, UserIdGroupPairs: [{ GroupId: groupId, Description: `${description} between the project's hosts` }] };
    });
  return { revoke, authorize };
}

function ruleKey(protocol: string | undefined, from: number | undefined, to: number | undefined, cidr: string | undefined): string {
  return `${protocol}/${from}-${to}/${cidr}`;
}

function stripEmpty(perm: IpPermission): IpPermission {
  const out: IpPermission = { IpProtocol: perm.IpProtocol, FromPort: perm.FromPort, ToPort: perm.ToPort };
  if (perm.IpRanges?.length) out.IpRanges = perm.IpRanges.map((r) => ({ CidrIp: r.CidrIp }));
  if (perm.Ipv6Ranges?.length) out.Ipv6Ranges = perm.Ipv6Ranges.map((r) => ({ CidrIpv6: r.CidrIpv6 }));
  // A group source is named as EC2 listed it (moto matches the pair whole, description too).
  if (perm.UserIdGroupPairs?.length) out.UserIdGroupPairs = perm.UserIdGroupPairs.map((g) => ({ GroupId: g.GroupId, ...(g.UserId ? { UserId: g.UserId } : {}), ...(g.Description ? { Description: g.Description } : {}) }));
  return out;
}

/**
 * SSH and the overlay from the caller's address; the overlay also between
 * the project's own instances, which dial each other's private addresses
 * (a group reference matches private traffic only). Never from 0.0.0.0/0.
 */
export function desiredIngress(cidr: string, overlayPort: number): IngressRule[] {
  return [
    { protocol: 'tcp', port: 22, cidr },
    { protocol: 'udp', port: overlayPort, cidr },
    { protocol: 'udp', port: overlayPort, fromSelf: true },
  ];
}

/**
 * EC2_SSH_CIDR as written (a bare address means /32). Anything wider than a
 * /8 is refused: the group exists to keep the world out.
 */
export function parseCallerCidr(value: string, origin: string): string {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})(?:\/(\d{1,2}))?$/.exec(value.trim());
  const octetsOk = m !== null && m.slice(1, 5).every((o) => Number(o) <= 255);
  const prefix = m?.[5] === undefined ? 32 : Number(m[5]);
  if (!m || !octetsOk || prefix > 32) {
    throw new PccError(`${origin}: EC2_SSH_CIDR=${JSON.stringify(value)} is not an IPv4 address or CIDR; write e.g. 203.0.113.7/32`);
  }
  if (prefix < 8) {
    throw new PccError(`${origin}: EC2_SSH_CIDR=${value} would open SSH to much of the internet; use your own address, e.g. 203.0.113.7/32`);
  }
  return `${m.slice(1, 5).join('.')}/${prefix}`;
}

/** Asks a what-is-my-address service (EC2_CHECKIP_URL); only used when EC2_SSH_CIDR is unset. */
export async function discoverPublicIp(url: string): Promise<string> {
  let text: string;
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(5_000) });
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    text = (await res.text()).trim();
  } catch (err) {
    throw new PccError(
      `cannot find your public address at ${url} (${(err as Error).message}); set EC2_SSH_CIDR in config/ec2.env, e.g. 203.0.113.7/32`,
    );
  }
  if (!/^\d{1,3}(\.\d{1,3}){3}$/.test(text)) {
    throw new PccError(`${url} did not answer with an IPv4 address; set EC2_SSH_CIDR in config/ec2.env, e.g. 203.0.113.7/32`);
  }
  return text;
}
