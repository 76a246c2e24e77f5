// Steps that each run whatever the one before did, and report the first failure at the end (DEL, GC).

export const settle = async <T>(step: Promise<T> | undefined): Promise<PromiseSettledResult<T | undefined>> =>
  (await Promise.allSettled([step]))[0]!;

export function throwFirst(results: PromiseSettledResult<unknown>[]): void {
  const failed = results.find((r) => r.status === 'rejected');
  if (failed) throw (failed as PromiseRejectedResult).reason;
}
