#!/usr/bin/env bash
# Installs the Debian packages vnc-runner needs. Idempotent: packages already present are
# left alone (apt-get install is a no-op for them), and the package lists are refreshed only
# when something is missing.
#
#   scripts/install-deps.sh --runtime   # what the server needs at run time (a private Xvfb)
#   scripts/install-deps.sh --test      # runtime + everything the test suite drives (default)
#   scripts/install-deps.sh --bench     # test + the VNC servers of the side-by-side benchmark
#
# Runs apt-get as root, or through sudo when not root. Debian bookworm package names.
set -euo pipefail

usage() {
  sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'
}

mode=test
for arg in "$@"; do
  case "$arg" in
    --runtime) mode=runtime ;;
    --test) mode=test ;;
    --bench) mode=bench ;;
    -h|--help) usage; exit 0 ;;
    *) echo "install-deps.sh: unknown option '$arg'" >&2; usage >&2; exit 2 ;;
  esac
done

# Run time: the server starts its own Xvfb unless pointed at an existing display; xterm is the
# program the README's quick start shows on it.
runtime_pkgs=(xvfb xauth xterm)
# Tests: real peers and X ground-truth tools (test/helpers/*):
#   xterm (typed-text sink), xdotool (XTEST input, window search), xclip (selections),
#   x11-apps (xwd), x11-utils (xwininfo, xdpyinfo, xev), x11-xserver-utils (xrandr, xsetroot),
#   vncsnapshot, tigervnc-viewer, tigervnc-tools (vncpasswd), xtightvncviewer,
#   chromium (noVNC through playwright-core; never downloaded by a tool), fonts-dejavu-core
#   (fonts for chromium and the viewers).
test_pkgs=(xterm xdotool xclip x11-apps x11-utils x11-xserver-utils vncsnapshot tigervnc-viewer
  tigervnc-tools xtightvncviewer chromium fonts-dejavu-core)
# Benchmark: other VNC servers to compare against.
bench_pkgs=(x11vnc tigervnc-scraping-server)

pkgs=("${runtime_pkgs[@]}")
case "$mode" in
  test) pkgs+=("${test_pkgs[@]}") ;;
  bench) pkgs+=("${test_pkgs[@]}" "${bench_pkgs[@]}") ;;
esac

if [ "$(id -u)" -eq 0 ]; then
  as_root=()
elif command -v sudo >/dev/null 2>&1; then
  as_root=(sudo)
else
  echo "install-deps.sh: must run as root or have sudo" >&2
  exit 1
fi

missing=()
for p in "${pkgs[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q '^install ok installed$'; then
    missing+=("$p")
  fi
done

if [ "${#missing[@]}" -eq 0 ]; then
  echo "install-deps.sh: all ${#pkgs[@]} packages for --$mode are installed"
  exit 0
fi

echo "install-deps.sh: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q
"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
