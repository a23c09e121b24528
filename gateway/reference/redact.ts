/**
 * Secret redaction applied to event data before it is stored or shown, mirroring the original
 * gateway's patterns (gateway-protocol.md §5): key=value style secrets, common token prefixes
 * and PEM blocks.
 */
const PATTERNS: [RegExp, string][] = [
  [/-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?-----END [A-Z ]*PRIVATE KEY-----/g, '[REDACTED PRIVATE KEY]'],
  [/\b(api[_-]?key|secret|password|token|auth|bearer|credential)s?(\s*[=:]\s*|\s+)(["']?)[^\s"',}]+\3/gi, '$1$2$3[REDACTED]$3'],
  [/\bsk-[A-Za-z0-9_-]{16,}/g, 'sk-[REDACTED]'],
  [/\b(ghp|ghs|gho|npm)_[A-Za-z0-9]{16,}/g, '$1_[REDACTED]'],
];

export function redactSecrets(text: string): string {
  let out = text;
  for (const [re, rep] of PATTERNS) out = out.replace(re, rep);
  return out;
}
