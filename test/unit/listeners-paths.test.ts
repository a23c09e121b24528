import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { formatListenAddress, isLoopbackHost, parseListenAddress } from '../../cli/listen-address.js';
import { displayTarget } from '../../cli/x-display-probe.js';
import { hostHeaderIsLoopback } from '../../server/listeners/host-check.js';
import { confineNovncPath } from '../../server/listeners/http-viewer.js';
import { viewerHtml } from '../../server/listeners/viewer-page.js';

const ROOT = '/srv/novnc';

describe('confineNovncPath', () => {
  it('maps core/ and vendor/ .js files', () => {
    expect(confineNovncPath(ROOT, '/novnc/core/rfb.js')).toBe(path.join(ROOT, 'core/rfb.js'));
    expect(confineNovncPath(ROOT, '/novnc/vendor/pako/lib/zlib/inflate.js')).toBe(path.join(ROOT, 'vendor/pako/lib/zlib/inflate.js'));
    expect(confineNovncPath(ROOT, '/novnc/core/util/%62rowser.js')).toBe(path.join(ROOT, 'core/util/browser.js'));
  });
  it.each([
    '/novnc/core/../../etc/passwd.js',
    '/novnc/core/%2e%2e/%2e%2e/secret.js',
    '/novnc/core/..%2f..%2fsecret.js',
    '/novnc/core/..%5csecret.js',
    '/novnc/core/./rfb.js',
    '/novnc/core//rfb.js',
    '/novnc/core/.hidden.js',
    '/novnc/core/rfb.js%00.js',
    '/novnc/core/%E0%A4%A.js',
    '/novnc/package.json',
    '/novnc/docs/API.md',
    '/novnc/core/',
    '/novnc/core',
    '/etc/passwd',
    '/novnc/vendor/pako/README.md',
  ])('refuses %s', (p) => {
    expect(confineNovncPath(ROOT, p)).toBeUndefined();
  });
});

describe('host checks', () => {
  it.each(['127.0.0.1:6080', 'localhost:6080', 'LOCALHOST', '[::1]:6080', '127.5.5.5', 'app.localhost:1'])('%s is loopback', (h) => {
    expect(hostHeaderIsLoopback(h)).toBe(true);
  });
  it.each([undefined, 'evil.example:6080', '10.0.0.1', '[::]:1', 'localhost.evil.example', '', 'a b'])('%s is not', (h) => {
    expect(hostHeaderIsLoopback(h)).toBe(false);
  });
  it('listen addresses', () => {
    expect(isLoopbackHost('127.0.0.1')).toBe(true);
    expect(isLoopbackHost('::ffff:127.0.0.1')).toBe(true);
    expect(isLoopbackHost('0.0.0.0')).toBe(false);
    expect(isLoopbackHost('::')).toBe(false);
    expect(formatListenAddress(parseListenAddress('[::1]:0', 'x'))).toBe('[::1]:0');
    expect(parseListenAddress('6080', 'x')).toEqual({ host: '127.0.0.1', port: 6080 });
  });
});

describe('display names', () => {
  it('maps to sockets', () => {
    expect(displayTarget(':3')?.unixPaths?.[0]).toBe('/tmp/.X11-unix/X3');
    expect(displayTarget(':3.0')?.unixPaths?.[0]).toBe('/tmp/.X11-unix/X3');
    expect(displayTarget('unix:4')?.unixPaths?.[0]).toBe('/tmp/.X11-unix/X4');
    expect(displayTarget('host:2')?.tcp).toEqual({ host: 'host', port: 6002 });
    expect(displayTarget('nonsense')).toBeUndefined();
  });
});

describe('viewer page', () => {
  it('escapes the title and loads only external script and style', () => {
    const html = viewerHtml({ title: '<script>x</script>' });
    expect(html).not.toContain('<script>x');
    expect(html).toContain('&#60;script&#62;');
    expect(html).toMatch(/<script type="module" src="viewer.js"><\/script>/);
    expect(html).not.toMatch(/<script>|<style>|style="/);
  });
});
