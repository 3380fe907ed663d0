// The page types of the residents' pages (strona dla mieszkańców) that the browser check visits, following the
// page contract of issue 14: how to reach each one (a URL, then the clicks and form submissions a resident
// makes) and what must be on it. The same steps run with JavaScript on and off, so a page type that only works
// with scripts fails the JavaScript-off pass.

// The demo service the README uses; it has a fee with income bands, so its page has the fee calculator.
export const DEMO_SERVICE_ID = '0194c050-3022-7053-8000-000000000001';

// Searches of the demo data: a query that finds services, a typo that must produce a suggestion, and a filter
// that matches enough services for a second page of results (free of charge: about half the demo catalogue).
export const QUERY = 'zlobek';
export const TYPO = 'swietlca';
export const FILTERED = '/szukaj?q=&bezplatne=1';

// A path no page answers.
export const MISSING = '/nie-ma-takiej-strony';

// navigate loads path and fails unless the answer has the wanted status.
export async function navigate(page, base, path, status = 200) {
  const res = await page.goto(new URL(path, base).href, { waitUntil: 'load' });
  expectStatus(res, status, path);
  return res;
}

function expectStatus(res, status, what) {
  if (!res) throw new Error(`${what}: no response`);
  if (res.status() !== status) throw new Error(`${what}: HTTP ${res.status()}, want ${status}`);
}

// follow clicks the element matched by selector (a link or a submit button) and waits for the page it opens.
// The click is a real mouse click through the DevTools protocol, so it works with scripts disabled too.
export async function follow(page, selector, status = 200) {
  const el = await page.$(selector);
  if (!el) throw new Error(`no ${selector} on ${path(page)}`);
  const [res] = await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), el.click()]);
  expectStatus(res, status, `after clicking ${selector}`);
  return res;
}

// fill replaces the value of a form field the way a user does: select all, then type.
export async function fill(page, selector, text) {
  const el = await page.$(selector);
  if (!el) throw new Error(`no ${selector} on ${path(page)}`);
  await el.click({ count: 3 });
  await page.keyboard.down('Control');
  await page.keyboard.press('KeyA');
  await page.keyboard.up('Control');
  await page.keyboard.press('Backspace');
  await el.type(text);
}

export function path(page) {
  const u = new URL(page.url());
  return u.pathname + u.search + u.hash;
}

async function need(page, selector, what) {
  if (!(await page.$(selector))) throw new Error(`${what}: no ${selector} on ${path(page)}`);
}

async function count(page, selector) {
  return (await page.$$(selector)).length;
}

// Every page: Polish, the skip link first, the main landmark it points at.
export async function commonMarkup(page) {
  await need(page, 'html[lang="pl"]', 'language');
  await need(page, 'a.skip-link[href="#tresc"]', 'skip link');
  await need(page, 'main#tresc', 'main landmark');
}

export const PAGE_TYPES = [
  {
    name: 'home',
    async reach(page, base) {
      await navigate(page, base, '/');
    },
    async check(page) {
      await need(page, 'form[role="search"][action="/szukaj"] input#q[name="q"][type="search"]', 'search form');
      await need(page, 'label[for="q"]', 'search label');
      await need(page, 'form[role="search"] button[type="submit"]', 'search button');
      if ((await count(page, 'a[href*="obszar=AREA_"]')) < 14) throw new Error('home: fewer than 14 area links');
    },
  },
  {
    name: 'results',
    async reach(page, base) {
      await navigate(page, base, `/szukaj?q=${QUERY}`);
    },
    async check(page) {
      await firstResultIsService(page);
    },
  },
  {
    name: 'results-filtered-page-2',
    async reach(page, base) {
      await navigate(page, base, FILTERED);
      await need(page, 'form#filtry[action="/szukaj"][method="get"]', 'filter form');
      await follow(page, 'nav[aria-label="Strony wyników"] a[rel="next"]');
    },
    async check(page) {
      const u = new URL(page.url());
      if (u.searchParams.get('strona') !== '2') throw new Error(`next page is ${path(page)}, want strona=2`);
      if (u.searchParams.get('bezplatne') !== '1') throw new Error(`next page ${path(page)} lost the filter bezplatne=1`);
      await firstResultIsService(page);
    },
  },
  {
    name: 'did-you-mean',
    async reach(page, base) {
      await navigate(page, base, `/szukaj?q=${TYPO}`);
    },
    async check(page) {
      await need(page, 'p#sugestia a[href]', 'suggestion');
    },
  },
  {
    name: 'service-fee',
    async reach(page, base) {
      await navigate(page, base, `/uslugi/${DEMO_SERVICE_ID}`);
      await need(page, 'form#oplata', 'fee calculator');
      feeBefore.set(page, await mainText(page));
      await fill(page, 'form#oplata [name="dochod"]', '1500');
      await fill(page, 'form#oplata [name="osoby"]', '3');
      await follow(page, 'form#oplata [type="submit"]');
    },
    async check(page) {
      const u = new URL(page.url());
      if (u.pathname !== `/uslugi/${DEMO_SERVICE_ID}` || u.searchParams.get('dochod') !== '1500' ||
        u.searchParams.get('osoby') !== '3') {
        throw new Error(`fee form went to ${path(page)}, want /uslugi/${DEMO_SERVICE_ID}?dochod=1500&osoby=3`);
      }
      await need(page, 'form#oplata', 'fee calculator after submitting');
      // The answer is rendered by the server: the page's text must change (a field's value is not text).
      if ((await mainText(page)) === feeBefore.get(page)) throw new Error('the fee calculator answered nothing: the page reads the same as before submitting');
    },
  },
  {
    name: 'programmes',
    async reach(page, base) {
      await navigate(page, base, '/programy');
    },
    async check(page) {
      await need(page, 'main a[href^="/programy/"]', 'programme link');
    },
  },
  {
    name: 'programme',
    async reach(page, base) {
      await navigate(page, base, '/programy');
      await follow(page, 'main a[href^="/programy/"]');
    },
    async check(page) {
      if (!new URL(page.url()).pathname.startsWith('/programy/')) throw new Error(`programme link went to ${path(page)}`);
      await need(page, 'main h1', 'programme title');
    },
  },
  {
    name: 'accessibility-declaration',
    async reach(page, base) {
      await navigate(page, base, '/deklaracja-dostepnosci');
    },
    async check(page) {
      await need(page, 'main h1', 'title');
    },
  },
  {
    name: 'contact',
    async reach(page, base) {
      await navigate(page, base, '/kontakt');
    },
    async check(page) {
      await need(page, 'main h1', 'title');
    },
  },
  {
    name: 'not-found',
    async reach(page, base) {
      await navigate(page, base, MISSING, 404);
    },
    async check(page) {
      await need(page, 'main h1', 'title');
      await need(page, 'main a[href="/"]', 'a way back home');
    },
  },
];

// The text of the service page before its fee form was submitted, per tab.
const feeBefore = new WeakMap();

async function mainText(page) {
  return page.$eval('main', (m) => m.textContent.replace(/\s+/g, ' ').trim());
}

async function firstResultIsService(page) {
  if ((await count(page, 'ol#wyniki > li')) === 0) throw new Error(`no results (ol#wyniki > li) on ${path(page)}`);
  const href = await page.$eval('ol#wyniki > li a[href]', (a) => a.getAttribute('href'));
  if (!/^\/uslugi\/[^/?#]+$/.test(href)) throw new Error(`the first result links to ${href}, want /uslugi/{id}`);
}
