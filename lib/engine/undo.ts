// The cleanup stack of an ADD: each step that creates something pushes its undo; on failure the
// stack runs last-in first-out and keeps going past errors, so a failed ADD leaves nothing behind.
import type { Logger } from '../cni/log.js';

export class UndoStack {
  private readonly steps: { what: string; undo: () => Promise<unknown> }[] = [];

  push(what: string, undo: () => Promise<unknown>): void {
    this.steps.push({ what, undo });
  }

  async run(log: Logger): Promise<void> {
    for (const step of this.steps.reverse()) {
      try {
        await step.undo();
      } catch (err) {
        log.warn(`undo "${step.what}" failed: ${(err as Error).message}`);
      }
    }
    this.steps.length = 0;
  }
}

/** Runs `body` with a fresh stack; on a throw, unwinds the stack and rethrows the original error. */
export async function withUndo<T>(log: Logger, body: (undo: UndoStack) => Promise<T>): Promise<T> {
  const undo = new UndoStack();
  try {
    return await body(undo);
  } catch (err) {
    await undo.run(log);
    throw err;
  }
}

/**
 * Like Promise.all, but waits for every step to finish before throwing the first failure, so the
 * undo stack never runs while a step that may still push to it (or create something) is in flight.
 */
export async function settleAll<T extends readonly unknown[]>(
  steps: readonly [...{ [K in keyof T]: Promise<T[K]> }],
): Promise<T> {
  const results = await Promise.allSettled(steps);
  const failed = results.find((r) => r.status === 'rejected');
  if (failed) throw (failed as PromiseRejectedResult).reason;
  return results.map((r) => (r as PromiseFulfilledResult<unknown>).value) as unknown as T;
}
