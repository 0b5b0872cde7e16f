/**
 * A command run as root: as it is for root, through `sudo -n` for any other
 * login user (never prompting: a sudo that would ask fails at once). The one
 * place pcc becomes root on a host, for shell sessions and single commands alike.
 */
export function asRoot(user: string, command: string): string {
  return user === 'root' ? command : `sudo -n ${command}`;
}
