// The harness's proof that it can fail: against the contract fixture (fixture/server.mjs) every check passes,
// and each fault switched on in the fixture makes exactly the checks that guard against it fail, with the
// problem named. Run with `node --test` (make web-check runs it before checking the real pages).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, runAll, Results } from './lib/checks.mjs';
import { startFixture } from './fixture/server.mjs';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

// check runs the harness against the fixture with the given faults and returns its results; the log is kept
// and shown only when the test fails.
async function check(t, breaks, only) {
  const fixture = await startFixture(breaks);
  const lines = [];
  const results = new Results((l) => lines.push(l));
  try {
    await runAll(browser, fixture.url, results, { only });
  } finally {
    await fixture.close();
  }
  t.diagnostic(`fixture run: ${results.passed.length} checks passed, ${results.failed.length} failed`);
  return { results, log: lines.join('\n') };
}

// failedChecks lists the failures as "check what" with the what cut at its first space (the page type).
function failedChecks(results) {
  return results.failed.map((f) => `${f.check} ${f.what.split(' (')[0]}`).sort();
}

function details(results, check) {
  return results.failed.filter((f) => f.check === check).flatMap((f) => f.details).join('\n');
}

test('the contract fixture passes every check of every page type', async (t) => {
  const { results, log } = await check(t, []);
  assert.deepEqual(results.failed, [], log);
  assert.ok(results.passed.length >= 50, `only ${results.passed.length} checks ran\n${log}`);
});

test('an image without alt text and a fixed-width box fail axe and the 320 px reflow check', async (t) => {
  const { results, log } = await check(t, ['axe', 'overflow'], ['home']);
  assert.deepEqual(failedChecks(results), ['axe home', 'axe home', 'reflow home'], log);
  // Every violation is printed with its rule, impact, target and help URL.
  assert.match(details(results, 'axe'), /^image-alt \(critical\) at img: .* https:\/\/dequeuniversity\.com\/rules\/axe\/[\d.]+\/image-alt/m, log);
  assert.match(details(results, 'reflow'), /scrollWidth \d+ > clientWidth 3\d\d at 320 CSS px; div ends at \d+px/, log);
});

test('a fixed-width box fails at 320 px but not at 640 px (1280 px zoomed to 200%)', async (t) => {
  const { results, log } = await check(t, ['overflow'], ['home']);
  assert.deepEqual(failedChecks(results), ['reflow home'], log);
});

test('a banner 100vw wide scrolls sideways beside the vertical scrollbar, at 320 px and at 200%', async (t) => {
  const { results, log } = await check(t, ['vw'], ['home']);
  assert.deepEqual(failedChecks(results), ['reflow home', 'zoom home'], log);
  assert.match(details(results, 'reflow'), /div\.baner ends at \d+px/, log);
});

test('focus without an outline or a box shadow fails the keyboard walk', async (t) => {
  const { results, log } = await check(t, ['focus'], ['home']);
  assert.deepEqual(failedChecks(results), ['focus home', 'keyboard search walked with the keyboard alone'], log);
  assert.match(details(results, 'keyboard'), /has focus but no outline or box shadow/, log);
  // The walk through the whole home page names every stop without a visible focus: the skip link, then links.
  assert.match(details(results, 'focus'), /^Tab 1: a\.skip-link "Przejdź do treści" has focus but no outline/m, log);
});

test('a page without the skip link fails the markup check and the first Tab stop', async (t) => {
  const { results, log } = await check(t, ['skip'], ['home']);
  assert.deepEqual(failedChecks(results), ['keyboard search walked with the keyboard alone', 'no-javascript home', 'page home'], log);
  assert.match(details(results, 'keyboard'), /first Tab stop is a "Centrum Usług Społecznych w Rawiczu", want a\.skip-link/, log);
});

test('results rendered only by a script fail with JavaScript off', async (t) => {
  const { results, log } = await check(t, ['script-results'], ['results']);
  assert.deepEqual(failedChecks(results), ['no-javascript results', 'no-javascript search form submitted'], log);
  assert.match(details(results, 'no-javascript'), /no results \(ol#wyniki > li\)/, log);
});

test('a fee calculator that answers nothing fails with JavaScript on and off', async (t) => {
  const { results, log } = await check(t, ['fee-ignored'], ['service-fee']);
  assert.deepEqual(failedChecks(results), ['no-javascript service-fee', 'page service-fee'], log);
  assert.match(details(results, 'page'), /the fee calculator answered nothing/, log);
});
