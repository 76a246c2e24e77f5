// The test bed itself: hosts reach each other over the underlay, and teardown leaves nothing.

import { execa } from 'execa';
import t from 'tap';
import { inNs, Lab } from '../helpers/lab.js';

t.test('two hosts ping over the underlay; a container netns exists', async (t) => {
  const lab = await Lab.create(t);
  const h1 = await lab.host('h1');
  const h2 = await lab.host('h2');
  const ping = await inNs(h1.name, 'ping', ['-c1', '-W2', h2.ip]);
  t.match(ping.stdout, /1 received/);
  const pod = await lab.container('pod');
  t.match((await execa('ip', ['netns', 'list'])).stdout, pod.name);
  await lab.destroy();
  t.notMatch(
    (await execa('ip', ['netns', 'list'])).stdout,
    lab.prefix,
    'destroy removed every netns of the lab',
  );
});
