/**
 * `--help` and `--version` text. The help documents every option that `options.ts` accepts; a
 * unit test checks that each flag of the parser appears here, so the two cannot drift apart.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The text printed by `vnc-runner --help`. `program` is the name shown in the usage lines. */
export function helpText(program = 'vnc-runner'): string {
  return `Usage:
  ${program} [OPTIONS]                         serve the X11 desktop over VNC
  ${program} --run-id ID --gateway-url URL ...  stream through an AiRemoteCoder gateway
  ${program} gateway [GATEWAY OPTIONS]          run the reference gateway (see: ${program} gateway --help)

A pure-TypeScript VNC (RFB 3.8) server. Without --display it uses $DISPLAY if that X server
answers; otherwise (or with --run) it starts a private Xvfb that only this process can reach.

Direct server:
  --listen [HOST:]PORT     VNC (RFB over TCP) address. Default 127.0.0.1:5900.
                           IPv6: [::1]:5900. All interfaces: 0.0.0.0:5900 or [::]:5900.
  --ws-port [HOST:]PORT    Also accept browsers (WebSocket, noVNC-compatible) on this
                           address, any path. Off unless given.
  --http-port [HOST:]PORT  Built-in web viewer (noVNC) and its WebSocket on /websockify.
                           Default 127.0.0.1:6080. Open http://127.0.0.1:6080/ in a browser.
  --no-http                Do not start the web viewer.
  --allow-origin ORIGINS   Comma-separated web origins (http://host:port) whose pages may use
                           the WebSocket listeners, or * for any. Same-origin pages, the
                           built-in viewer and non-browser clients are always allowed.
  --password-file FILE     VNC password: the first line of a text file, or a file made by
                           \`vncpasswd -f\` (a 16-byte one also sets a view-only password).
                           Only the first 8 bytes count (a limit of VNC authentication).
  --insecure-no-auth       Allow listening on a non-loopback address without a password.
                           Anyone who can reach the port controls the desktop.

Encryption (TLS):
  --tls                    Encrypt: the VNC port offers VeNCrypt (security type 19, subtypes
                           X509Vnc and X509Plain with a password, X509None without one) before
                           the unencrypted type, and the web viewer and --ws-port serve
                           https:// and wss://. Without --tls-cert, a self-signed certificate
                           (ECDSA P-256; CN = host name; SAN = host name, localhost, 127.0.0.1,
                           ::1) is generated at the first start and reused. Its SHA-256
                           fingerprint is printed at every start: compare it with what your
                           viewer shows. TigerVNC: vncviewer -X509CA CERT.pem HOST::PORT.
                           The anonymous-TLS subtypes (TLSNone/TLSVnc/TLSPlain) are not offered:
                           they cannot tell your server from a man in the middle.
  --tls-cert FILE          Use this PEM certificate (chain) instead; implies --tls.
  --tls-key FILE           Its unencrypted PEM private key (with --tls-cert).
  --tls-dir DIR            Where the generated certificate is kept (implies --tls). Default
                           $XDG_STATE_HOME/vnc-runner/tls or ~/.local/state/vnc-runner/tls
                           (cert.pem, and key.pem with mode 0600).
  --require-tls            The VNC port accepts only VeNCrypt: no unencrypted RFB (RFB 3.3
                           viewers are refused). Implies --tls.
  --vnc-user NAME          User name that X509Plain requires. Without it any user name is
                           accepted. X509Plain checks the VNC password in full (VNC
                           authentication only uses its first 8 bytes); a \`vncpasswd -f\` file
                           stores only those 8 bytes. User name and password are never logged.

Desktop:
  --display :N             Serve this existing X display (no fallback if it does not answer).
  --width N, --height N    Size of the private Xvfb. Default 1920x1080 (16..16384).
  --run CMD                Start CMD (via sh -c) on a private Xvfb, even if $DISPLAY is set;
                           it is stopped when ${program} exits.
  --framerate N            Frames per second at most, per client. Default 30 (1..240).
  --view-only              Ignore keyboard, mouse and clipboard input from every client.
  --max-cut-text BYTES     Largest clipboard text accepted from a client. Default 1048576.

Gateway runner (AiRemoteCoder drop-in; selected by --run-id / --gateway-url):
  --run-id ID              Run to serve (required).
  --gateway-url URL        Gateway base URL, http(s)://HOST[:PORT] (required).
  --capability-token TOKEN Run's capability token (required; or VNC_CAPABILITY_TOKEN, which
                           keeps it out of the process list).
  --width N, --height N    Screen size hint (and private Xvfb size). Default 1920x1080.
  --framerate N            As above.
  --display-mode MODE      screen (default) or window: show one window only (its inside,
                           following moves and resizes; input goes into it).
  --window-title TITLE     The window for --display-mode window: exact title, else a title
                           containing it (any case). Default: the active window (EWMH), else
                           the largest top-level window.
  --agent-id ID            Registered agent id (1..100 characters). Default: the host name.
  --agent-label LABEL      Agent display name (1..100 characters; spaces and @ are fine).
                           Default: ai-runner@HOSTNAME.
  --insecure               Accept a self-signed gateway TLS certificate.
  --display, --run, --view-only, --max-cut-text and --log-level work as above.

General:
  --log-level LEVEL        error, warn, info (default) or debug. Logs go to stderr.
  -h, --help               Show this help.
  --version                Show the version.

Options take their value as --opt VALUE or --opt=VALUE. Unknown options, missing values and
options given twice are errors (exit status 2).

Environment:
  VNC_PASSWORD             VNC password, if --password-file is not given.
  VNC_CAPABILITY_TOKEN     Capability token, if --capability-token is not given.
  DISPLAY                  X display to serve when --display and --run are not given.
  HMAC_SECRET              Gateway runner: request-signing key (at least 32 characters).
  AI_RUNNER_TOKEN          Gateway runner: agent client token (fallback: CLIENT_TOKEN).

Security: without a password, every listener must be on a loopback address (127.0.0.1, ::1,
localhost) unless --insecure-no-auth is given. Without --tls, everything (screen, keys,
clipboard) travels unencrypted. Passwords and tokens are never logged.

Examples:
  # Share the current desktop with a local VNC viewer and the browser viewer
  ${program}

  # A headless xterm, viewable at http://127.0.0.1:6080/
  ${program} --run xterm --width 1280 --height 800

  # Reachable from the network, with a password made by TigerVNC's vncpasswd
  vncpasswd -f > ~/.vnc/passwd.bin
  ${program} --listen 0.0.0.0:5900 --password-file ~/.vnc/passwd.bin --no-http

  # Encrypted and reachable from the network: TLS only, certificate generated at first start
  VNC_PASSWORD=secret ${program} --listen 0.0.0.0:5900 --require-tls --http-port 0.0.0.0:6443
  vncviewer -X509CA ~/.local/state/vnc-runner/tls/cert.pem -SecurityTypes X509Vnc HOST::5900

  # Only a WebSocket for an external noVNC on port 5901, view-only
  VNC_PASSWORD=secret ${program} --ws-port 127.0.0.1:5901 --no-http --view-only

  # Gateway runner, as the AiRemoteCoder TypeScript wrapper starts it
  VNC_CAPABILITY_TOKEN=... HMAC_SECRET=... ${program} --run-id AbCd123 \\
    --gateway-url https://localhost:3100 --width 1920 --height 1080 --framerate 30 \\
    --display-mode screen --agent-id host-1 --agent-label "Jane Doe@host-1" --insecure

System packages (Xvfb, xauth): scripts/install-deps.sh --runtime
`;
}

/**
 * The package version, read from the nearest package.json named `vnc-runner` above this module
 * (works from the sources and from dist/ alike).
 */
export function versionText(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'vnc-runner' && typeof pkg.version === 'string') return `vnc-runner ${pkg.version}`;
    } catch {
      // not here: keep walking up
    }
    const parent = dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  return 'vnc-runner (unknown version)';
}
