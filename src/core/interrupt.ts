/**
 * What pcc does when it is interrupted (Ctrl-C, SIGTERM): the CLI installs the
 * signal handlers and calls `interrupt()`; the core registers what must be
 * stopped (remote commands pcc started) and says what was running, so the
 * message names it. Locks are released by their own exit hook
 * (proper-lockfile), and every file pcc owns is written atomically, so the
 * next run converges from whatever state the interruption left.
 */
type Stopper = () => Promise<void> | void;

const stoppers = new Set<Stopper>();
const activities: string[] = [];

/** Registers a stopper for as long as the returned function is not called. */
export function onInterrupt(stop: Stopper): () => void {
  stoppers.add(stop);
  return () => stoppers.delete(stop);
}

/** Names the work in progress (innermost last), e.g. "exec on h1, h2". */
export function activity<T>(what: string, work: () => Promise<T>): Promise<T> {
  activities.push(what);
  return work().finally(() => {
    const at = activities.lastIndexOf(what);
    if (at >= 0) activities.splice(at, 1);
  });
}

export function currentActivity(): string | undefined {
  return activities.at(-1);
}

/** Runs every stopper once, at most `timeoutMs` in all: an interrupted pcc must not hang. */
export async function interrupt(timeoutMs = 3_000): Promise<void> {
  const all = [...stoppers];
  stoppers.clear();
  await Promise.race([
    Promise.allSettled(all.map(async (s) => s())),
    new Promise((r) => setTimeout(r, timeoutMs).unref()),
  ]);
}
