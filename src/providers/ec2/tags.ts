import { createHash } from 'node:crypto';
import type { Filter, ResourceType, Tag, TagSpecification } from '@aws-sdk/client-ec2';

/**
 * How pcc recognises its own AWS resources: by tags set at creation, never by
 * names alone, so that a sweep finds everything even without `.pcc/state.json`.
 */
export const TAG_PROJECT = 'pcc:project';
export const TAG_ROLE = 'pcc:role';
export const TAG_TYPE = 'pcc:type';
/** A hash of what was asked for (type, instance type, AMI, spot): instances of one kind share it. */
export const TAG_REQUEST = 'pcc:request';
/** The login user of the image, so that adopting an instance needs no image lookup. */
export const TAG_USER = 'pcc:user';
/** On AMIs made by `save --snapshot`: the instance they were made from. */
export const TAG_SOURCE = 'pcc:source-instance';

export type Role = 'compute' | 'controller';
export type HostType = 'cpu' | 'gpu';

/** States in which an instance still exists (and may cost money). */
export const LIVE_STATES = ['pending', 'running', 'stopping', 'stopped', 'shutting-down'];

export function projectFilter(project: string): Filter {
  return { Name: `tag:${TAG_PROJECT}`, Values: [project] };
}

export function tagList(tags: Record<string, string>): Tag[] {
  return Object.entries(tags).map(([Key, Value]) => ({ Key, Value }));
}

export function tagSpecs(types: ResourceType[], tags: Record<string, string>): TagSpecification[] {
  return types.map((ResourceType) => ({ ResourceType, Tags: tagList(tags) }));
}

export function tagValue(tags: readonly Tag[] | undefined, key: string): string | undefined {
  return tags?.find((t) => t.Key === key)?.Value;
}

export function baseTags(project: string, role: Role): Record<string, string> {
  return { [TAG_PROJECT]: project, [TAG_ROLE]: role };
}

/** What makes two instances interchangeable for `acquire`: same project, type, instance type, AMI and market. */
export interface InstanceKind {
  project: string;
  type: HostType;
  instanceType: string;
  ami: string;
  spot: boolean;
}

export function kindHash(kind: InstanceKind): string {
  return sha256(JSON.stringify([kind.project, kind.type, kind.instanceType, kind.ami, kind.spot])).slice(0, 16);
}

/**
 * RunInstances' ClientToken. The same launch retried (by the SDK, or by a
 * re-run that cannot see the new instances yet, since DescribeInstances is
 * eventually consistent) gets the same token, so AWS launches once. What
 * already exists and the security group id are part of it, so a later launch
 * (after some instances went away, or after a destroy made a new group) is a
 * new token: AWS remembers tokens for a day, even of terminated instances.
 */
export function clientToken(input: {
  kind: string;
  count: number;
  existingIds: readonly string[];
  securityGroupId: string;
  salt?: string;
}): string {
  const body = JSON.stringify([input.kind, input.count, [...input.existingIds].sort(), input.securityGroupId, input.salt ?? '']);
  return `pcc-${sha256(body).slice(0, 40)}`;
}

export function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}
