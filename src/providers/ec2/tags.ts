import { createHash } from 'node:crypto';
import type { Filter, ResourceType, Tag, TagSpecification } from '@aws-sdk/client-ec2';

/**
 * How pcc recognises its own AWS resources: by tags set at creation, never by
 * names alone, so that a sweep finds everything even without `.pcc/state.json`.
 */
/** The project's folder name, for people reading the console; never matched. */
export const TAG_PROJECT = 'pcc:project';
/** The project's random id (`.pcc/project-id`): what every lookup, adopt and sweep matches. */
export const TAG_PROJECT_ID = 'pcc:project-id';
/** The project folder's absolute path, so `pcc adopt` can say which folder a project was. */
export const TAG_PATH = 'pcc:path';
export const TAG_ROLE = 'pcc:role';
export const TAG_TYPE = 'pcc:type';
/** A hash of what was asked for (type, instance type, AMI, spot): instances of one kind share it. */
export const TAG_REQUEST = 'pcc:request';
/** The login user of the image, so that adopting an instance needs no image lookup. */
export const TAG_USER = 'pcc:user';
/** On AMIs made by `save --snapshot`: the instance they were made from. */
export const TAG_SOURCE = 'pcc:source-instance';
/** On data volumes (`pcc volume create`): the volume's name. destroy's sweep leaves volumes that carry it. */
export const TAG_VOLUME = 'pcc:volume';
/** On an attached data volume: where it is mounted on its host, so adopt can say so again. */
export const TAG_MOUNT = 'pcc:mount-point';

export type Role = 'compute' | 'controller';
export type HostType = 'cpu' | 'gpu';

/** States in which an instance still exists (and may cost money). */
export const LIVE_STATES = ['pending', 'running', 'stopping', 'stopped', 'shutting-down'];

/** Who a resource belongs to: the id that is matched, the name and path that people read. */
export interface ProjectIdentity {
  readonly id: string;
  readonly name: string;
  readonly root: string;
}

export function projectFilter(project: Pick<ProjectIdentity, 'id'>): Filter {
  return { Name: `tag:${TAG_PROJECT_ID}`, Values: [project.id] };
}

export function projectTags(project: ProjectIdentity): Record<string, string> {
  // AWS tag values are at most 256 characters; a longer path is cut (it is only for people).
  return { [TAG_PROJECT]: project.name, [TAG_PROJECT_ID]: project.id, [TAG_PATH]: project.root.slice(-256) };
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

export function baseTags(project: ProjectIdentity, role: Role): Record<string, string> {
  return { ...projectTags(project), [TAG_ROLE]: role };
}

/** What makes two instances interchangeable for `acquire`: same project, type, instance type, AMI and market. */
export interface InstanceKind {
  /** The project id. */
  project: string;
  type: HostType;
  instanceType: string;
  ami: string;
  spot: boolean;
  /** Pinned to a zone (a host for a data volume lives in the volume's zone). */
  zone?: string;
}

export function kindHash(kind: InstanceKind): string {
  const parts: unknown[] = [kind.project, kind.type, kind.instanceType, kind.ami, kind.spot];
  if (kind.zone !== undefined) parts.push(kind.zone);
  return sha256(JSON.stringify(parts)).slice(0, 16);
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
