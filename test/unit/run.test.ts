// lib/sys/run: every child has a time limit; a hung one is killed and reported as code 11.
import t from 'tap';
import { CniError } from '../../lib/cni/errors.js';
import { DEFAULT_TIMEOUT_MS, run } from '../../lib/sys/run.js';

t.test('a child past timeoutMs is killed and rejects with code 11 naming it', async (t) => {
  const started = Date.now();
  const err = await run('sleep', ['5'], { timeoutMs: 200 }).catch((e: unknown) => e);
  const took = Date.now() - started;
  t.ok(err instanceof CniError, 'a CniError');
  t.match(err, { code: 11, message: /^sleep 5: timed out after 200 ms/ });
  t.ok(took >= 190 && took < 1000, `rejected after ~200 ms (took ${took} ms)`);
});

t.test('allowFail does not cover a timeout', async (t) => {
  await t.rejects(run('sleep', ['5'], { timeoutMs: 100, allowFail: true }), { code: 11 });
});

t.test('a child within its time limit is unaffected', async (t) => {
  t.equal(DEFAULT_TIMEOUT_MS, 30_000);
  t.match(await run('sh', ['-c', 'sleep 0.1; echo hi'], { timeoutMs: 2000 }), { code: 0, stdout: 'hi\n' });
  t.match(await run('sh', ['-c', 'exit 3'], { allowFail: true }), { code: 3 });
});
