// Tokens. The read token lives in sessionStorage (per tab, gone when the tab closes); the admin token
// is only kept in memory for the page's lifetime and asked for when a setting changes.

const READ_KEY = 'kube-sentinel.read-token';

export function createSession() {
  let admin = null;
  return {
    readToken() {
      try {
        return sessionStorage.getItem(READ_KEY);
      } catch {
        return null;
      }
    },
    setReadToken(token) {
      try {
        if (token) sessionStorage.setItem(READ_KEY, token);
        else sessionStorage.removeItem(READ_KEY);
      } catch {
        // Storage disabled: the token still works until the next reload through the caller.
      }
    },
    adminToken: () => admin,
    setAdminToken(token) { admin = token || null; },
  };
}

/**
 * Shows the token dialog; resolves with the entered token, '' when the user asked to forget the
 * stored one, or null when cancelled.
 */
export function askToken({ title, reason, error, allowForget = true }) {
  const dialog = document.getElementById('token-dialog');
  const form = document.getElementById('token-form');
  const input = document.getElementById('token-input');
  const errorEl = document.getElementById('token-error');
  const forget = document.getElementById('token-forget');
  const cancel = document.getElementById('token-cancel');
  document.getElementById('token-title').textContent = title;
  document.getElementById('token-reason').textContent = reason;
  errorEl.textContent = error ?? '';
  errorEl.hidden = !error;
  forget.hidden = !allowForget;
  input.value = '';

  return new Promise((resolve) => {
    let result = null;
    const finish = () => {
      form.removeEventListener('submit', onSubmit);
      cancel.removeEventListener('click', onCancel);
      forget.removeEventListener('click', onForget);
      dialog.removeEventListener('close', finish);
      resolve(result);
    };
    const onSubmit = (ev) => {
      ev.preventDefault();
      const value = input.value.trim();
      if (!value) return;
      result = value;
      dialog.close();
    };
    const onCancel = () => dialog.close();
    const onForget = () => { result = ''; dialog.close(); };
    form.addEventListener('submit', onSubmit);
    cancel.addEventListener('click', onCancel);
    forget.addEventListener('click', onForget);
    dialog.addEventListener('close', finish);
    if (!dialog.open) dialog.showModal();
    input.focus();
  });
}
