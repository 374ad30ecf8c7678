// Dashboard entry point: client-side routing over one HTML shell, the token prompt, the global
// remediation banner and the live feed, which it hands to whichever page is showing.
import { ApiError, createApi } from './api.js';
import { askToken, createSession } from './auth.js';
import { errorBox, h } from './dom.js';
import { createLiveConnection } from './live.js';
import * as errorDetail from './pages/error-detail.js';
import * as errors from './pages/errors.js';
import * as historyPage from './pages/history.js';
import * as overview from './pages/overview.js';
import * as rules from './pages/rules.js';
import * as settings from './pages/settings.js';

const meta = (name) => document.querySelector(`meta[name="${name}"]`)?.getAttribute('content') ?? '';
const base = meta('ks-base-path');
const role = meta('ks-role');

const ROUTES = [
  { match: /^\/$/, page: overview, nav: '/', title: 'Overview' },
  { match: /^\/errors\/?$/, page: errors, nav: '/errors', title: 'Errors' },
  { match: /^\/errors\/([^/]+)\/?$/, page: errorDetail, nav: '/errors', title: 'Error' },
  { match: /^\/rules\/?$/, page: rules, nav: '/rules', title: 'Rules' },
  { match: /^\/history\/?$/, page: historyPage, nav: '/history', title: 'History' },
  { match: /^\/settings\/?$/, page: settings, nav: '/settings', title: 'Settings' },
];

const session = createSession();
const api = createApi({ base, getToken: () => session.readToken() });
const main = document.getElementById('main');
const announcer = document.getElementById('announcer');
let current = null;
// A live message (or the first subscription) came while a page was mounting, after it may have
// fetched: the page redraws once mounted.
let missed = false;
let renderSeq = 0;

function announce(text) {
  // Clearing first makes screen readers repeat an identical message.
  announcer.textContent = '';
  setTimeout(() => { announcer.textContent = text; }, 50);
}

function navigate(href, { replace = false } = {}) {
  const url = new URL(href, location.href);
  if (replace) history.replaceState(null, '', url);
  else history.pushState(null, '', url);
  void render({ focus: !replace });
}

/** Keep the URL in step with page state (filters) without re-rendering. */
function setQuery(params) {
  const url = new URL(location.href);
  url.search = params.toString();
  if (url.href !== location.href) history.replaceState(null, '', url);
}

/** The page render() #seq mounted, if it is still the one to show; it redraws if live news came meanwhile. */
function adopt(seq, mounted) {
  if (seq !== renderSeq) {
    mounted?.dispose?.();
    return;
  }
  current = mounted ?? null;
  if (missed) current?.refresh?.();
  missed = false;
}

async function render({ focus = false } = {}) {
  const seq = ++renderSeq;
  current?.dispose?.();
  current = null;
  missed = false;
  const path = location.pathname.startsWith(base) ? location.pathname.slice(base.length) || '/' : location.pathname;
  const route = ROUTES.find((r) => r.match.test(path));
  for (const a of document.querySelectorAll('a[data-nav]')) {
    if (route && a.dataset.nav === route.nav) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  // Each page draws into its own container, so a slow, superseded page cannot draw over the next one.
  const container = h('div', { class: 'page' });
  main.replaceChildren(container);
  if (focus) main.focus({ preventScroll: false });
  if (!route) {
    document.title = 'Not found · Kube Sentinel';
    container.append(h('h1', null, 'Page not found'), h('p', null, h('a', { href: `${base}/` }, 'Back to the overview')));
    return;
  }
  document.title = `${route.title} · Kube Sentinel`;
  const ctx = {
    container, api, base, role, session, announce, navigate, setQuery,
    params: route.match.exec(path).slice(1).map(decodeURIComponent),
    query: new URLSearchParams(location.search),
    setTitle: (t) => { document.title = `${t} · Kube Sentinel`; },
    isCurrent: () => seq === renderSeq,
  };
  try {
    adopt(seq, await route.page.mount(ctx));
  } catch (err) {
    if (seq !== renderSeq) return;
    if (err instanceof ApiError && err.status === 401) void needToken(container);
    else container.replaceChildren(h('h1', null, route.title), errorBox(err));
  }
}

let asking = false;
async function needToken(container) {
  const hadToken = Boolean(session.readToken());
  container.replaceChildren(
    h('h1', null, 'Access token needed'),
    h('p', null, 'This server asks for a read token before it shows any data.'),
    h('button', { type: 'button', class: 'primary', onclick: () => promptReadToken(hadToken) }, 'Enter token'));
  if (!asking) await promptReadToken(hadToken);
}

async function promptReadToken(rejected = false) {
  asking = true;
  try {
    const token = await askToken({
      title: 'Access token',
      reason: 'Enter a read token (auth.read_tokens) or an admin token. It is kept only in this browser tab.',
      error: rejected ? 'The stored token was not accepted.' : undefined,
    });
    if (token === null) return;
    session.setReadToken(token);
    live.restart();
    refreshBanner();
    void render();
  } finally {
    asking = false;
  }
}

// ---- remediation banner ----
const banner = document.getElementById('banner');
function showSettings(s) {
  let text = '';
  if (s && s.enabled === false) {
    text = 'Remediation is disabled: problems are recorded and ranked, but nothing is fixed automatically.';
  } else if (s && s.dryRun) {
    text = 'Dry-run: remediation walks every guard and records what it would do, but changes nothing in the cluster.';
  }
  banner.textContent = text;
  banner.hidden = !text;
  banner.dataset.kind = s?.enabled === false ? 'disabled' : s?.dryRun ? 'dry-run' : '';
}
function refreshBanner() {
  api.get('/api/settings').then(showSettings, () => { /* the page reports auth or network trouble */ });
}

// ---- live feed ----
const indicator = document.getElementById('connection');
let countdown = null;
function showConnection(state, detail = {}) {
  clearInterval(countdown);
  indicator.dataset.state = state;
  if (state === 'live') indicator.textContent = 'Live';
  else if (state === 'connecting') indicator.textContent = 'Connecting…';
  else if (state === 'stopped') indicator.textContent = 'Live updates off';
  else {
    const until = Date.now() + detail.retryInMs;
    const tick = () => {
      const s = Math.max(0, Math.ceil((until - Date.now()) / 1000));
      indicator.textContent = `Offline, retrying in ${s} s`;
    };
    tick();
    countdown = setInterval(tick, 1000);
  }
  indicator.title = state === 'live' ? 'Receiving live updates' : 'Not receiving live updates; lists may be stale';
}

const live = createLiveConnection({
  url: `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}${base}/ws`,
  token: () => session.readToken(),
  onState: showConnection,
  onMessage: (msg) => {
    if (msg.type === 'settings') showSettings(msg.settings);
    if (current) current.onMessage?.(msg);
    else missed = true;
  },
  // Anything could have happened while we were away (or before the first subscription, while the page
  // loaded): redraw from the API. The first time, only a page already drawn; render() is on its way.
  onReconnect: (first) => {
    if (first) {
      if (current) current.refresh?.();
      else missed = true;
      return;
    }
    refreshBanner();
    if (current?.refresh) current.refresh();
    else void render();
  },
});

// ---- wiring ----
document.addEventListener('click', (ev) => {
  if (ev.defaultPrevented || ev.button !== 0 || ev.metaKey || ev.ctrlKey || ev.shiftKey || ev.altKey) return;
  const a = ev.target instanceof Element ? ev.target.closest('a[href]') : null;
  if (!a || a.target || a.hasAttribute('download')) return;
  const url = new URL(a.href, location.href);
  if (url.origin !== location.origin || !(url.pathname === base || url.pathname.startsWith(`${base}/`))) return;
  if (url.pathname.startsWith(`${base}/api/`) || url.pathname.startsWith(`${base}/assets/`)) return;
  ev.preventDefault();
  if (url.pathname === location.pathname && url.search === location.search && url.hash) {
    location.hash = url.hash;
    return;
  }
  navigate(url.href);
});
window.addEventListener('popstate', () => void render());
document.getElementById('token-button').addEventListener('click', () => void promptReadToken());

showSettings(null);
refreshBanner();
live.start();
void render();
