#!/usr/bin/env node
// Browser check of the CUS residents' pages served at a base URL (the gateway), in Debian's chromium.
//
//   node check.mjs http://127.0.0.1:8080                 every check; exit 1 on any failure
//   node check.mjs --only home,results http://...        some page types only (the keyboard walk always runs)
//   node check.mjs --screenshots ../../docs/screenshots http://...   write the README screenshots, no checks
//
// $CUS_CHROMIUM names another Chromium binary (default /usr/bin/chromium).

import { launch, runAll, Results, screenshots } from './lib/checks.mjs';

function usage(msg) {
  if (msg) console.error(`check.mjs: ${msg}`);
  console.error('usage: node check.mjs [--only type,...] [--screenshots DIR] BASE_URL');
  process.exit(2);
}

const args = process.argv.slice(2);
let base = '';
let only = null;
let shotsDir = '';
for (let i = 0; i < args.length; i++) {
  const a = args[i];
  if (a === '--only') only = (args[++i] || usage('--only needs a list')).split(',');
  else if (a === '--screenshots') shotsDir = args[++i] || usage('--screenshots needs a directory');
  else if (a.startsWith('-')) usage(`unknown flag ${a}`);
  else if (base) usage('one base URL');
  else base = a;
}
if (!base) usage('no base URL');

const browser = await launch({ scrollbars: !shotsDir });
let code = 0;
try {
  console.log(`== ${await browser.version()} on ${base}`);
  if (shotsDir) {
    for (const f of await screenshots(browser, base, shotsDir)) console.log(`wrote ${f}`);
  } else {
    const results = new Results();
    await runAll(browser, base, results, { only });
    console.log(results.summary());
    if (results.failed.length) {
      console.log('== failed:');
      for (const f of results.failed) console.log(`   ${f.check} ${f.what}: ${f.details.length} problem(s)`);
      code = 1;
    }
  }
} catch (err) {
  console.error(`check.mjs: ${err.stack || err}`);
  code = 1;
} finally {
  await browser.close();
}
process.exit(code);
