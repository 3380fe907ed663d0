// The browser checks of the residents' pages (issue 14): for every page type, axe-core with the WCAG 2.1 A and
// AA rules, sideways scrolling at 320 px and at 1280 px zoomed to 200%, the page working with JavaScript off; a
// search walked with the keyboard alone with a visible focus at every stop; and the screenshots for the README.
// Each check is recorded as passed or failed with the reason, so one run shows every problem at once.

import fs from 'node:fs';
import path from 'node:path';
import puppeteer from 'puppeteer-core';
import { AxePuppeteer } from '@axe-core/puppeteer';
import { PAGE_TYPES, DEMO_SERVICE_ID, QUERY, navigate, commonMarkup, path as urlPath } from './pages.mjs';

export const WCAG_TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'];

// The desktop viewport every check starts from.
const DESKTOP = { width: 1280, height: 800, deviceScaleFactor: 1 };
// WCAG 1.4.10 Reflow: content at 320 CSS px wide (a 1280 px window at 400%) must not scroll sideways.
const NARROW = { width: 320, height: 640, deviceScaleFactor: 1 };
// WCAG 1.4.4 Resize text: a 1280 px window zoomed to 200%. Browser zoom scales the CSS pixel, so the layout
// viewport becomes 640 CSS px at two device pixels each, and media queries see 640 px: that is exactly this
// emulation. CSS `zoom: 2` on the body would be unfaithful: the viewport stays 1280 px, media queries never
// fire, and the page is magnified like a picture instead of laid out again.
const ZOOM_200 = { width: 640, height: 400, deviceScaleFactor: 2 };

// findChromium returns the browser to drive: $CUS_CHROMIUM, else Debian's chromium.
export function findChromium() {
  const candidates = [process.env.CUS_CHROMIUM, '/usr/bin/chromium', '/usr/bin/chromium-browser'];
  for (const c of candidates) if (c && fs.existsSync(c)) return c;
  throw new Error('no chromium: install Debian\'s chromium package (apt-get install -y chromium) or set CUS_CHROMIUM');
}

// launch starts Chromium. headless: true is Chrome's new headless mode (puppeteer passes --headless=new); no
// sandbox because CI runs as root, where Chromium's sandbox cannot start; no GPU on these machines. Puppeteer
// also hides scrollbars in headless mode; the checks show them (scrollbars: true), as a desktop browser does,
// so a page as wide as 100vw that scrolls sideways beside a vertical scrollbar is caught; the screenshots hide
// them.
export async function launch({ executablePath = findChromium(), scrollbars = true } = {}) {
  return puppeteer.launch({
    executablePath,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--lang=pl-PL', '--font-render-hinting=none'],
    ignoreDefaultArgs: scrollbars ? ['--hide-scrollbars'] : [],
    defaultViewport: DESKTOP,
  });
}

// newPage opens a tab with timeouts generous enough for a loaded 2-core machine.
async function newPage(browser) {
  const page = await browser.newPage();
  page.setDefaultTimeout(60_000);
  return page;
}

// Results collects passed and failed checks.
export class Results {
  constructor(log = console.log) {
    this.passed = [];
    this.failed = [];
    this.log = log;
  }

  pass(check, what) {
    this.passed.push({ check, what });
    this.log(`ok   ${check} ${what}`);
  }

  fail(check, what, details) {
    const lines = Array.isArray(details) ? details : [String(details)];
    this.failed.push({ check, what, details: lines });
    this.log(`FAIL ${check} ${what}`);
    for (const l of lines) this.log(`       ${l}`);
  }

  // run runs fn as the check named check on what, recording a thrown error as its failure.
  async run(check, what, fn) {
    const t0 = Date.now();
    try {
      const problems = await fn();
      if (problems && problems.length) this.fail(check, what, problems);
      else this.pass(check, what);
    } catch (err) {
      this.fail(check, what, err.message);
    }
    if (process.env.CUS_BROWSER_TIMING) this.log(`       ${Date.now() - t0} ms`);
  }

  summary() {
    return `${this.passed.length} passed, ${this.failed.length} failed`;
  }
}

// runAll runs every check against the pages served at base.
export async function runAll(browser, base, results, opts = {}) {
  const types = opts.only ? PAGE_TYPES.filter((t) => opts.only.includes(t.name)) : PAGE_TYPES;
  const page = await newPage(browser);
  try {
    for (const type of types) await checkPageType(page, base, type, results);
    await results.run('keyboard', 'search walked with the keyboard alone', () => keyboardWalk(page, base, results.log));
  } finally {
    await page.close();
  }
  const noJS = await newPage(browser);
  try {
    await noJS.setJavaScriptEnabled(false);
    for (const type of types) {
      await results.run('no-javascript', type.name, async () => {
        await type.reach(noJS, base);
        await commonMarkup(noJS);
        await type.check(noJS);
      });
    }
    await results.run('no-javascript', 'search form submitted', () => searchWithoutJavaScript(noJS, base));
  } finally {
    await noJS.close();
  }
}

async function checkPageType(page, base, type, results) {
  await page.setViewport(DESKTOP);
  let reached = false;
  await results.run('page', type.name, async () => {
    await type.reach(page, base);
    reached = true;
    await commonMarkup(page);
    await type.check(page);
  });
  if (!reached) return; // the other checks would only repeat that the page is not there
  const where = `${type.name} (${urlPath(page)})`;
  await results.run('axe', `${where} at 1280 px`, () => axe(page));
  await results.run('reflow', `${where} at 320 px`, () => sideways(page, NARROW));
  await results.run('axe', `${where} at 320 px`, () => axe(page));
  await results.run('zoom', `${where} at 1280 px zoomed to 200%`, () => sideways(page, ZOOM_200));
  await page.setViewport(DESKTOP);
  await results.run('focus', `${where} every Tab stop shows its focus`, () => focusEverywhere(page));
}

// focusEverywhere opens the page again (without its fragment, so the walk starts at the top) and presses Tab
// until focus leaves the document or comes back to the first stop, requiring a visible focus at every stop.
export async function focusEverywhere(page) {
  const u = new URL(page.url());
  u.hash = '';
  await page.goto(u.href, { waitUntil: 'load' });
  const problems = [];
  let first = null;
  for (let i = 1; i <= 300; i++) {
    await page.keyboard.press('Tab');
    const f = await focused(page);
    if (!f) {
      if (i === 1) problems.push('Tab focuses nothing');
      return problems;
    }
    const id = `${f.desc} ${f.href}`;
    if (id === first) return problems;
    first ??= id;
    const bad = visibleFocus(f);
    if (bad) problems.push(`Tab ${i}: ${bad}`);
  }
  problems.push('focus never left the page after 300 Tabs');
  return problems;
}

// axe returns one line per element of every WCAG 2.1 A/AA violation: rule, impact, target, help URL.
export async function axe(page) {
  const res = await new AxePuppeteer(page).withTags(WCAG_TAGS).analyze();
  const problems = [];
  for (const v of res.violations) {
    for (const node of v.nodes) {
      problems.push(`${v.id} (${v.impact}) at ${node.target.join(' ')}: ${v.help} ${v.helpUrl}`);
    }
  }
  return problems;
}

// sideways sets the viewport and returns a problem when the document scrolls horizontally, naming the widest
// elements that stick out.
export async function sideways(page, viewport) {
  await page.setViewport(viewport);
  await settle(page);
  const m = await page.evaluate(() => {
    const se = document.scrollingElement;
    const out = [];
    if (se.scrollWidth > se.clientWidth) {
      for (const el of document.querySelectorAll('body *')) {
        const r = el.getBoundingClientRect();
        if (r.right > se.clientWidth + 1 && r.width > 0) {
          let name = el.tagName.toLowerCase();
          if (el.id) name += `#${el.id}`;
          else if (el.classList.length) name += `.${[...el.classList].join('.')}`;
          out.push({ name, right: Math.round(r.right) });
        }
      }
    }
    return { scrollWidth: se.scrollWidth, clientWidth: se.clientWidth, out };
  });
  if (m.scrollWidth <= m.clientWidth) return [];
  const widest = m.out.sort((a, b) => b.right - a.right).slice(0, 5).map((e) => `${e.name} ends at ${e.right}px`);
  return [`scrolls sideways: scrollWidth ${m.scrollWidth} > clientWidth ${m.clientWidth} at ${viewport.width} CSS px; ${widest.join(', ')}`];
}

// settle waits for layout after a viewport change and for web fonts.
async function settle(page) {
  await page.evaluate(() => new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve))));
  await page.evaluate(() => document.fonts.ready.then(() => undefined));
}

// focused describes document.activeElement and whether its focus is visible (an outline or a box shadow).
async function focused(page) {
  return page.evaluate(() => {
    const el = document.activeElement;
    if (!el || el === document.body || el === document.documentElement) return null;
    const cs = getComputedStyle(el);
    const r = el.getBoundingClientRect();
    const main = document.querySelector('main#tresc');
    let desc = el.tagName.toLowerCase();
    if (el.id) desc += `#${el.id}`;
    if (el.classList.length) desc += `.${[...el.classList].join('.')}`;
    const text = (el.textContent || el.getAttribute('aria-label') || '').trim().replace(/\s+/g, ' ').slice(0, 40);
    if (text) desc += ` "${text}"`;
    return {
      desc,
      tag: el.tagName.toLowerCase(),
      id: el.id,
      isSkip: el.matches('a.skip-link[href="#tresc"]'),
      isMain: el === main,
      inMain: !!main && main.contains(el),
      href: el.getAttribute('href'),
      outline: cs.outlineStyle !== 'none' && parseFloat(cs.outlineWidth) > 0,
      shadow: cs.boxShadow !== 'none',
      onScreen: r.width > 0 && r.height > 0 && r.bottom > 0 && r.right > 0 &&
        r.top < window.innerHeight && r.left < window.innerWidth,
    };
  });
}

function visibleFocus(f) {
  if (!f) return 'nothing has focus';
  if (!f.outline && !f.shadow) return `${f.desc} has focus but no outline or box shadow (focus not visible)`;
  if (!f.onScreen) return `${f.desc} has focus but is off screen`;
  return '';
}

// tabTo presses Tab until want(focused) holds, checking that every stop on the way shows its focus; it returns
// the number of presses, or throws naming the stops it passed.
async function tabTo(page, want, what, limit) {
  const seen = [];
  for (let i = 1; i <= limit; i++) {
    await page.keyboard.press('Tab');
    const f = await focused(page);
    const bad = visibleFocus(f);
    if (bad) throw new Error(`Tab ${i} on ${urlPath(page)}: ${bad}`);
    seen.push(f.desc);
    if (want(f)) return i;
  }
  throw new Error(`${what} not reached after ${limit} Tabs on ${urlPath(page)}; stops: ${seen.slice(0, 12).join(' | ')}${seen.length > 12 ? ' ...' : ''}`);
}

// keyboardWalk searches with the keyboard alone: Tab from the top reaches the skip link first, Enter moves
// focus to main, Tab reaches the search field, typing and Enter submit it, Tab reaches the first result, Enter
// opens the service. It returns the steps' problems (the walk stops at the first).
export async function keyboardWalk(page, base, log = console.log) {
  await page.setViewport(DESKTOP);
  await navigate(page, base, '/');
  // A fresh page: focus on the document, as after a resident opens it.
  await page.keyboard.press('Tab');
  let f = await focused(page);
  if (!f || !f.isSkip) return [`first Tab stop is ${f ? f.desc : 'nothing'}, want a.skip-link[href="#tresc"]`];
  const bad = visibleFocus(f);
  if (bad) return [`skip link: ${bad}`];

  await page.keyboard.press('Enter');
  await settle(page);
  f = await focused(page);
  if (new URL(page.url()).hash !== '#tresc') return [`Enter on the skip link left the address at ${urlPath(page)}, want #tresc`];
  if (!f || !(f.isMain || f.inMain)) {
    return [`Enter on the skip link left focus on ${f ? f.desc : 'the document'}, want main#tresc (give it tabindex="-1")`];
  }

  await tabTo(page, (x) => x.tag === 'input' && x.id === 'q', 'the search field input#q', 40);
  await page.keyboard.type(QUERY);
  const [res] = await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), page.keyboard.press('Enter')]);
  const u = new URL(page.url());
  if (!res || res.status() !== 200 || u.pathname !== '/szukaj' || u.searchParams.get('q') !== QUERY) {
    return [`Enter in the search field opened ${urlPath(page)} (HTTP ${res && res.status()}), want /szukaj?q=${QUERY}`];
  }

  const first = await page.$eval('ol#wyniki > li a[href]', (a) => a.getAttribute('href')).catch(() => null);
  if (!first) return [`no results on ${urlPath(page)}`];
  const tabs = await tabTo(page, (x) => x.href === first, `the first result link (${first})`, 120);
  const [svc] = await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), page.keyboard.press('Enter')]);
  if (!svc || svc.status() !== 200 || new URL(page.url()).pathname !== first) {
    return [`Enter on the first result opened ${urlPath(page)} (HTTP ${svc && svc.status()}), want ${first}`];
  }
  log(`       (the first result was Tab stop ${tabs} of the results page)`);
  return [];
}

// searchWithoutJavaScript submits the search form of the home page with scripts off and expects results.
async function searchWithoutJavaScript(page, base) {
  await navigate(page, base, '/');
  const q = await page.$('form[role="search"] input#q');
  if (!q) return ['no search field'];
  await q.type(QUERY);
  const [res] = await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), page.click('form[role="search"] button[type="submit"]')]);
  if (!res || res.status() !== 200 || new URL(page.url()).pathname !== '/szukaj') return [`the form opened ${urlPath(page)}`];
  const n = (await page.$$('ol#wyniki > li')).length;
  return n > 0 ? [] : [`no results (ol#wyniki > li) on ${urlPath(page)} with JavaScript off`];
}

// SHOTS are the pages shown in the README, at a phone's and a desktop's width.
export const SHOTS = [
  { name: 'home', path: '/' },
  { name: 'results', path: `/szukaj?q=${QUERY}` },
  { name: 'service', path: `/uslugi/${DEMO_SERVICE_ID}` },
];
export const SHOT_WIDTHS = [375, 1280];
// The screenshots are full pages cut at this many CSS px, so a long page stays a reasonable PNG.
const SHOT_MAX_HEIGHT = { 375: 2400, 1280: 1600 };

// screenshots writes dir/<page>-<width>.png and returns the files written.
export async function screenshots(browser, base, dir) {
  fs.mkdirSync(dir, { recursive: true });
  const page = await newPage(browser);
  const files = [];
  try {
    for (const shot of SHOTS) {
      for (const width of SHOT_WIDTHS) {
        await page.setViewport({ width, height: width < 600 ? 812 : 800, deviceScaleFactor: 1 });
        await navigate(page, base, shot.path);
        await settle(page);
        const height = await page.evaluate(() => document.scrollingElement.scrollHeight);
        const file = path.join(dir, `${shot.name}-${width}.png`);
        await page.screenshot({
          path: file,
          type: 'png',
          captureBeyondViewport: true,
          clip: { x: 0, y: 0, width, height: Math.min(height, SHOT_MAX_HEIGHT[width]) },
        });
        files.push(file);
      }
    }
  } finally {
    await page.close();
  }
  return files;
}
