/**
 * Every vagrant command pcc runs, as an argv. Pure, so tests assert the exact
 * commands; `run.ts` executes them inside the project's `.pcc/vagrant/`.
 */
export const vagrantCommands = {
  /** Creates, resumes or boots the named machines. The provider is pinned: a vagrant-libvirt install must not win. */
  up: (names: readonly string[]): string[] => ['vagrant', 'up', '--provider=virtualbox', ...names],
  sshConfig: (names: readonly string[]): string[] => ['vagrant', 'ssh-config', ...names],
  suspend: (names: readonly string[]): string[] => ['vagrant', 'suspend', ...names],
  halt: (names: readonly string[]): string[] => ['vagrant', 'halt', ...names],
  /** The named machines (none named: every machine in the Vagrantfile), without asking. */
  destroy: (names: readonly string[]): string[] => ['vagrant', 'destroy', '-f', ...names],
  status: (): string[] => ['vagrant', 'status', '--machine-readable'],
};

/** The environment vagrant runs with: the Vagrantfile's folder, and no calls home for version checks. */
export function vagrantEnv(vagrantDir: string): Record<string, string> {
  return { VAGRANT_CWD: vagrantDir, VAGRANT_CHECKPOINT_DISABLE: '1' };
}
