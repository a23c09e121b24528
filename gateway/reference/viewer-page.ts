/**
 * The viewer: a page that asks the gateway for a stream and shows it with noVNC, plus static
 * serving of noVNC's ES modules (`core/` and `vendor/` of the installed @novnc/novnc package).
 * The viewer token travels in the URL fragment (never sent to the server with the page request)
 * and is given to the API as a Bearer token and to the WebSocket as `?token=` (browsers cannot
 * set headers on a WebSocket).
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import type { ServerResponse } from 'node:http';
import { dirname, extname, join, resolve, sep } from 'node:path';
import { HttpError } from './http-util.js';

const MIME: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
};

/** Root of the installed noVNC package (its `exports` only names core/rfb.js, so resolve that). */
export function noVncRoot(): string {
  const require = createRequire(import.meta.url);
  return dirname(dirname(require.resolve('@novnc/novnc')));
}

/** Serve `core/**.js` or `vendor/**.js` from noVNC; anything else is a 404. */
export async function serveNoVncFile(relPath: string, res: ServerResponse, root = noVncRoot()): Promise<void> {
  if (relPath === 'app/viewer.js') {
    sendText(res, VIEWER_SCRIPT, MIME['.js']!);
    return;
  }
  const ext = extname(relPath);
  const top = relPath.split('/')[0];
  if ((top !== 'core' && top !== 'vendor') || !MIME[ext] || relPath.includes('\0')) throw new HttpError(404, 'Not found');
  const full = resolve(join(root, relPath));
  if (!full.startsWith(resolve(root) + sep)) throw new HttpError(404, 'Not found');
  let size: number;
  try {
    const st = await stat(full);
    if (!st.isFile()) throw new Error('not a file');
    size = st.size;
  } catch {
    throw new HttpError(404, 'Not found');
  }
  res.writeHead(200, {
    'Content-Type': MIME[ext]!,
    'Content-Length': size,
    'Cache-Control': 'public, max-age=3600',
    'X-Content-Type-Options': 'nosniff',
  });
  createReadStream(full).on('error', () => res.destroy()).pipe(res);
}

function sendText(res: ServerResponse, text: string, type: string): void {
  res.writeHead(200, { 'Content-Type': type, 'Content-Length': Buffer.byteLength(text), 'Cache-Control': 'no-store' });
  res.end(text);
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** The viewer page for one run. The state is mirrored to `body[data-state]` for automation. */
export function viewerPageHtml(runId: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>VNC – run ${escapeHtml(runId)}</title>
<style>
  html, body { margin: 0; height: 100%; background: #1e1e1e; color: #ddd; font: 14px system-ui, sans-serif; }
  body { display: flex; flex-direction: column; }
  #bar { display: flex; gap: 8px; align-items: center; padding: 6px 10px; background: #2d2d2d; }
  #status { flex: 1; }
  button { background: #3c3c3c; color: #ddd; border: 1px solid #555; padding: 4px 10px; cursor: pointer; }
  #screen { flex: 1; overflow: hidden; }
</style>
</head>
<body data-run-id="${escapeHtml(runId)}" data-state="idle">
<div id="bar">
  <span id="status">Idle</span>
  <button id="start" type="button">Start stream</button>
  <button id="disconnect" type="button" disabled>Disconnect</button>
  <button id="cad" type="button" disabled>Ctrl+Alt+Del</button>
</div>
<div id="screen"></div>
<script type="module" src="/novnc/app/viewer.js"></script>
</body>
</html>
`;
}

/** Browser side of the viewer page (served as /novnc/app/viewer.js so the CSP needs no inline script). */
const VIEWER_SCRIPT = `import RFB from '/novnc/core/rfb.js';

const runId = document.body.dataset.runId;
const params = new URLSearchParams(location.hash.slice(1));
const token = params.get('token') || sessionStorage.getItem('vnc-token:' + runId) || '';
if (token) sessionStorage.setItem('vnc-token:' + runId, token);
const $ = (id) => document.getElementById(id);
let rfb = null;

function setState(state, text) {
  document.body.dataset.state = state;
  $('status').textContent = text;
  $('start').disabled = state === 'starting' || state === 'connected';
  $('disconnect').disabled = state !== 'connected' && state !== 'starting';
  $('cad').disabled = state !== 'connected';
}

async function start() {
  if (!token) { setState('error', 'No viewer token: open this page with #token=<viewer token>'); return; }
  setState('starting', 'Requesting stream…');
  let res;
  try {
    res = await fetch('/api/runs/' + encodeURIComponent(runId) + '/vnc/start', {
      method: 'POST', headers: { Authorization: 'Bearer ' + token },
    });
  } catch (e) { setState('error', 'Gateway unreachable: ' + e.message); return; }
  if (!res.ok) {
    const body = await res.json().catch(() => ({}));
    setState('error', 'Start refused: HTTP ' + res.status + ' ' + (body.error || ''));
    return;
  }
  setState('starting', 'Waiting for the runner…');
  const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
  const url = scheme + '://' + location.host + '/ws/vnc/' + encodeURIComponent(runId) + '?token=' + encodeURIComponent(token);
  rfb = new RFB($('screen'), url, { shared: true });
  window.rfb = rfb;
  rfb.scaleViewport = true;
  rfb.resizeSession = true;
  rfb.addEventListener('connect', () => setState('connected', 'Connected'));
  rfb.addEventListener('disconnect', (e) => {
    rfb = null;
    setState(e.detail.clean ? 'disconnected' : 'error', e.detail.clean ? 'Disconnected' : 'Connection lost');
  });
  rfb.addEventListener('credentialsrequired', () => {
    const password = prompt('VNC password');
    if (password === null) { rfb.disconnect(); return; }
    rfb.sendCredentials({ password });
  });
  rfb.addEventListener('securityfailure', (e) => setState('error', 'Security failure: ' + (e.detail.reason || e.detail.status)));
  rfb.addEventListener('desktopname', (e) => { document.title = e.detail.name + ' – VNC'; });
}

$('start').addEventListener('click', start);
$('disconnect').addEventListener('click', () => rfb && rfb.disconnect());
$('cad').addEventListener('click', () => rfb && rfb.sendCtrlAltDel());
if (params.get('autostart') !== '0') start();
`;
