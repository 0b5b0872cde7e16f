/**
 * proper-lockfile, loaded on the first lock: most runs only read the state,
 * and every module loaded before the first connection delays every host.
 */
export async function lockLibrary(): Promise<typeof import('proper-lockfile')> {
  return (await import('proper-lockfile')).default;
}
