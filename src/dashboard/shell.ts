// The one HTML document behind every dashboard page. It carries no data (so it needs no token) and
// no inline script (the CSP forbids it): the base path, role and asset version reach the scripts
// through <meta> tags, and the page modules fetch everything else from the API.

/** Dashboard routes (relative to web.base_path), as the server mounts them and the client routes them. */
export const PAGE_PATHS = ['/', '/errors', '/errors/:id', '/rules', '/history', '/settings'] as const;

const NAV = [
  ['/', 'Overview'],
  ['/errors', 'Errors'],
  ['/rules', 'Rules'],
  ['/history', 'History'],
  ['/settings', 'Settings'],
] as const;

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
export const escapeHtml = (s: string): string => s.replace(/[&<>"']/g, (c) => ESCAPES[c]);

export interface ShellOptions {
  basePath: string;
  role: string;
  /** Content hash of the asset folder; part of every asset URL so assets can be cached forever. */
  assetVersion: string;
}

export function renderShell(opts: ShellOptions): string {
  const e = escapeHtml;
  const assets = `${opts.basePath}/assets/${opts.assetVersion}`;
  const nav = NAV.map(([path, label]) => `<li><a href="${e(opts.basePath + path)}" data-nav="${e(path)}">${label}</a></li>`).join('');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<meta name="ks-base-path" content="${e(opts.basePath)}">
<meta name="ks-role" content="${e(opts.role)}">
<title>Kube Sentinel</title>
<link rel="icon" href="${e(assets)}/favicon.svg" type="image/svg+xml">
<link rel="stylesheet" href="${e(assets)}/styles.css">
<script type="module" src="${e(assets)}/app.js"></script>
</head>
<body>
<a class="skip-link" href="#main">Skip to content</a>
<header class="topbar">
<a class="brand" href="${e(opts.basePath)}/">Kube Sentinel</a>
<nav aria-label="Main"><ul>${nav}</ul></nav>
<div class="topbar-tools">
<span id="connection" class="connection" data-state="connecting" role="status">Connecting…</span>
<button type="button" id="token-button" class="link-button">Access token</button>
</div>
</header>
<div id="banner" class="banner" role="alert" hidden></div>
<main id="main" tabindex="-1"><p class="muted">Loading…</p></main>
<div id="announcer" class="visually-hidden" aria-live="polite"></div>
<dialog id="token-dialog" aria-labelledby="token-title">
<form method="dialog" id="token-form">
<h2 id="token-title">Access token</h2>
<p id="token-reason">This server needs a read token to show its data.</p>
<label for="token-input">Token</label>
<input id="token-input" name="token" type="password" autocomplete="off" spellcheck="false" required>
<p id="token-error" class="error" role="alert" hidden></p>
<div class="actions">
<button type="submit" value="save" class="primary">Use token</button>
<button type="button" id="token-cancel">Cancel</button>
<button type="button" id="token-forget" class="link-button">Forget stored token</button>
</div>
</form>
</dialog>
<noscript><p class="banner">The dashboard needs JavaScript. The JSON API under ${e(opts.basePath)}/api works without it.</p></noscript>
</body>
</html>
`;
}
