#!/usr/bin/env bash
# Makes sure Debian's Chromium is installed for the consent app's browser
# tests (chromedp drives /usr/bin/chromium headless). A tool's own browser
# download does not work on these machines; the distribution package does.
set -eu

# fonts-wqy-microhei: the app speaks Chinese first; without a CJK font the
# screenshots show empty boxes.
if command -v chromium >/dev/null 2>&1 && fc-list 2>/dev/null | grep -qi "wenquanyi micro hei"; then
	exit 0
fi
echo "ensure-chromium: installing Chromium and a Chinese font from Debian's packages" >&2
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-wqy-microhei >/dev/null
command -v chromium >/dev/null
