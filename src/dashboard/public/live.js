// The /ws live feed with reconnects. The indicator only says "Live" after the server's hello, and an
// open socket that has gone quiet for longer than its heartbeat promises is treated as dead: a
// half-open TCP connection would otherwise look connected forever.

export const PROTOCOL = 'kube-sentinel.v1';
const MAX_BACKOFF_MS = 30_000;

export function tokenProtocol(token) {
  const bytes = new TextEncoder().encode(token);
  let bin = '';
  for (const b of bytes) bin += String.fromCharCode(b);
  return `bearer.${btoa(bin).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '')}`;
}

/** Exponential backoff with jitter: 1 s, 2 s, 4 s … capped at 30 s, each scaled by 0.5–1. */
export function backoffDelay(attempt, random = Math.random) {
  const ceiling = Math.min(MAX_BACKOFF_MS, 1000 * 2 ** Math.min(attempt, 10));
  return Math.round(ceiling * (0.5 + random() / 2));
}

/**
 * @param {{ url: string, token: () => string | null, onMessage: (msg: object) => void,
 *   onState: (state: string, detail?: object) => void, onReconnect?: (first: boolean) => void }} opts
 * onReconnect runs on every subscription, the first included: what changed between the page's first
 * fetch and the socket's subscription reaches no one as a message.
 */
export function createLiveConnection(opts) {
  let ws = null;
  let attempt = 0;
  let retryTimer = null;
  let watchdog = null;
  let lastMessageAt = 0;
  let everLive = false;
  let stopped = false;

  function cleanup() {
    clearTimeout(retryTimer);
    clearInterval(watchdog);
    retryTimer = null;
    watchdog = null;
    if (ws) {
      ws.onopen = ws.onmessage = ws.onclose = ws.onerror = null;
      if (ws.readyState === WebSocket.OPEN || ws.readyState === WebSocket.CONNECTING) ws.close();
      ws = null;
    }
  }

  function scheduleRetry() {
    cleanup();
    if (stopped) return;
    const delay = backoffDelay(attempt++);
    opts.onState('offline', { retryInMs: delay, attempt });
    retryTimer = setTimeout(connect, delay);
  }

  function connect() {
    cleanup();
    if (stopped) return;
    opts.onState('connecting');
    const token = opts.token();
    try {
      ws = new WebSocket(opts.url, token ? [PROTOCOL, tokenProtocol(token)] : [PROTOCOL]);
    } catch {
      scheduleRetry();
      return;
    }
    ws.onmessage = (ev) => {
      lastMessageAt = Date.now();
      let msg;
      try {
        msg = JSON.parse(ev.data);
      } catch {
        return;
      }
      if (msg.type === 'hello') {
        attempt = 0;
        const heartbeatMs = Number(msg.heartbeatMs) > 0 ? Number(msg.heartbeatMs) : 30_000;
        watchdog = setInterval(() => {
          if (Date.now() - lastMessageAt > heartbeatMs * 2.5) scheduleRetry();
        }, Math.min(heartbeatMs, 10_000));
        opts.onState('live');
        opts.onReconnect?.(!everLive);
        everLive = true;
        return;
      }
      if (msg.type === 'heartbeat') return;
      opts.onMessage(msg);
    };
    ws.onclose = () => scheduleRetry();
  }

  return {
    start: connect,
    /** Reconnect now (e.g. after a new token), forgetting the backoff. */
    restart() {
      attempt = 0;
      connect();
    },
    stop() {
      stopped = true;
      cleanup();
      opts.onState('stopped');
    },
  };
}
