/**
 * The built-in web viewer: one HTML page, its script and its style sheet, served by
 * http-viewer.ts next to noVNC's `core/` and `vendor/` (under `novnc/`).
 *
 * The script and style are separate files, not inline, so the page runs under a strict CSP
 * (`script-src 'self'`, no 'unsafe-inline'). All URLs are relative to the page, so the viewer
 * also works behind a reverse proxy that mounts it under a sub-path. The WebSocket goes to the
 * same host and port (`websockify` next to the page): Chromium blocks pages from non-local
 * origins from opening sockets to 127.0.0.1, and same-origin also keeps the CSP simple.
 *
 * Page state for people and tests: `#status` shows the text, `data-state` one of
 * loading | connecting | auth | connected | disconnected | failed.
 */

export interface ViewerPageOptions {
  /** Page title. Default "vnc-runner". */
  readonly title?: string;
  /** WebSocket path relative to the page. Default "websockify". */
  readonly wsPath?: string;
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

export function viewerHtml(options: ViewerPageOptions = {}): string {
  const title = escapeHtml(options.title ?? 'vnc-runner');
  const wsPath = escapeHtml(options.wsPath ?? 'websockify');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title}</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="viewer.css">
<script type="module" src="viewer.js"></script>
</head>
<body data-ws-path="${wsPath}">
<header id="bar">
<span id="status" data-state="loading" role="status" aria-live="polite">Loading…</span>
<form id="auth" hidden>
<input type="text" name="username" autocomplete="username" hidden>
<label>Password <input id="password" type="password" autocomplete="current-password" maxlength="256"></label>
<button type="submit">Connect</button>
</form>
<button id="reconnect" type="button" hidden>Reconnect</button>
</header>
<main id="screen"></main>
</body>
</html>
`;
}

export const VIEWER_CSS = `html, body { margin: 0; height: 100%; background: #202124; color: #e8eaed;
  font: 14px system-ui, sans-serif; overflow: hidden; }
#bar { position: fixed; top: 0; left: 0; right: 0; height: 32px; display: flex; gap: 12px;
  align-items: center; padding: 0 10px; background: #303134; box-sizing: border-box; }
#status[data-state="connected"] { color: #81c995; }
#status[data-state="failed"], #status[data-state="disconnected"] { color: #f28b82; }
#auth { display: flex; gap: 6px; align-items: center; }
#auth[hidden], #reconnect[hidden] { display: none; }
#screen { position: fixed; top: 32px; left: 0; right: 0; bottom: 0; }
`;

/**
 * The viewer's ES module. It imports noVNC from `novnc/core/rfb.js` (served from the npm package)
 * and scales the remote screen to the window (`scaleViewport`).
 */
export const VIEWER_JS = `import RFB from './novnc/core/rfb.js';

const statusEl = document.getElementById('status');
const screenEl = document.getElementById('screen');
const authForm = document.getElementById('auth');
const passwordEl = document.getElementById('password');
const reconnectEl = document.getElementById('reconnect');
const params = new URLSearchParams(window.location.search);

function setStatus(text, state) {
  statusEl.textContent = text;
  statusEl.dataset.state = state;
}

// ?path= overrides the socket path, as in noVNC's own vnc.html; it stays relative to this page.
function socketUrl() {
  const path = params.get('path') || document.body.dataset.wsPath || 'websockify';
  const url = new URL(path.replace(/^\\/*/, ''), window.location.href);
  if (url.origin !== window.location.origin) throw new Error('path must stay on this server');
  url.protocol = window.location.protocol === 'https:' ? 'wss:' : 'ws:';
  url.search = '';
  url.hash = '';
  return url.href;
}

let rfb = null;

function connect() {
  reconnectEl.hidden = true;
  authForm.hidden = true;
  setStatus('Connecting…', 'connecting');
  try {
    rfb = new RFB(screenEl, socketUrl(), { shared: true, wsProtocols: ['binary'] });
  } catch (err) {
    setStatus('Cannot connect: ' + err.message, 'failed');
    reconnectEl.hidden = false;
    return;
  }
  rfb.scaleViewport = true;
  rfb.resizeSession = false;
  rfb.viewOnly = params.get('view_only') === '1';
  rfb.addEventListener('connect', () => setStatus('Connected', 'connected'));
  rfb.addEventListener('desktopname', (e) => {
    document.title = e.detail.name + ' — vnc-runner';
    if (statusEl.dataset.state === 'connected') setStatus('Connected: ' + e.detail.name, 'connected');
  });
  rfb.addEventListener('credentialsrequired', () => {
    authForm.hidden = false;
    setStatus('Password required', 'auth');
    passwordEl.focus();
  });
  rfb.addEventListener('securityfailure', (e) => {
    setStatus('Authentication failed' + (e.detail.reason ? ': ' + e.detail.reason : ''), 'failed');
  });
  rfb.addEventListener('disconnect', (e) => {
    authForm.hidden = true;
    reconnectEl.hidden = false;
    if (statusEl.dataset.state !== 'failed') {
      setStatus(e.detail.clean ? 'Disconnected' : 'Connection lost', 'disconnected');
    }
    rfb = null;
  });
}

authForm.addEventListener('submit', (e) => {
  e.preventDefault();
  if (!rfb) return;
  rfb.sendCredentials({ password: passwordEl.value });
  passwordEl.value = '';
  authForm.hidden = true;
  setStatus('Authenticating…', 'connecting');
});
reconnectEl.addEventListener('click', connect);
connect();
`;
