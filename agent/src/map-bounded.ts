/**
 * mapBounded runs `fn` over `items` with at most `limit` calls in flight at once and resolves
 * with the results in the items' order. The first rejection rejects the whole, as Promise.all
 * does, and no new call starts after it. For reads that are one command per item (a package
 * query per jail): they overlap, and the host never runs more than `limit` at once.
 */
export async function mapBounded<T, R>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  let failed = false;
  const worker = async (): Promise<void> => {
    while (!failed && next < items.length) {
      const i = next++;
      try {
        results[i] = await fn(items[i] as T, i);
      } catch (e) {
        failed = true;
        throw e;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  return results;
}
