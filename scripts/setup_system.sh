#!/usr/bin/env bash
# Installs the Debian shared libraries that PyQt6, open3d and vispy need, plus Xvfb.
# Installs only what dpkg-query reports missing; does nothing (quickly) when all are present.
set -euo pipefail
PKGS="libgl1 libegl1 libgl1-mesa-dri libegl-mesa0 libglib2.0-0 libfontconfig1 fonts-dejavu-core
libxkbcommon0 libdbus-1-3 libusb-1.0-0 libx11-xcb1 libxkbcommon-x11-0 libxcb-cursor0 libxcb-icccm4
libxcb-image0 libxcb-keysyms1 libxcb-randr0 libxcb-render-util0 libxcb-render0 libxcb-shape0
libxcb-shm0 libxcb-sync1 libxcb-util1 libxcb-xfixes0 libxcb-xkb1 libxcb-glx0 libgomp1 xvfb xauth"
missing=()
for p in $PKGS; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" != "0" ]; then
  echo "setup: missing system packages (run as root to install): ${missing[*]}" >&2
  exit 0
fi
echo "setup: installing system packages: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
