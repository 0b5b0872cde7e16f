/**
 * A module resolve hook so that a playbook anywhere on disk can
 * `import ... from 'pcc'` and get this very pcc, installed or not.
 */
let target = '';

export async function initialize(data: { pccUrl: string }): Promise<void> {
  target = data.pccUrl;
}

type Next = (specifier: string, context: unknown) => Promise<{ url: string }>;

export async function resolve(specifier: string, context: unknown, next: Next): Promise<{ url: string; shortCircuit?: boolean }> {
  if (specifier === 'pcc' && target) return { url: target, shortCircuit: true };
  return next(specifier, context);
}
