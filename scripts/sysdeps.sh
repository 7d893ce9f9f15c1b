#!/bin/sh
# Installs the system packages the test suite needs; a no-op when they are present.
set -eu
PKGS="${SYSDEPS:-chromium fonts-noto-cjk wrk poppler-utils libpango-1.0-0 libpangoft2-1.0-0}"
missing=""
for p in $PKGS; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO=sudo
echo "Installing system packages:$missing"
$SUDO apt-get update -qq
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing
