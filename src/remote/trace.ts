/**
 * Where `--verbose` sees every script and command sent to a host. The remote
 * layer reports each one here; nothing listens unless the CLI asked to.
 */
export type ScriptTrace = (host: string, script: string) => void;

let trace: ScriptTrace | undefined;

export function setScriptTrace(next: ScriptTrace | undefined): void {
  trace = next;
}

export function traceScript(host: string, script: string): void {
  trace?.(host, script);
}
