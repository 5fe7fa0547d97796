#!/usr/bin/env bash
# Makes headless Chromium available for the browser tests (tests/site/test_site_browser.py).
# Installs the Debian packages where this machine allows it (root, or sudo without a password);
# otherwise says plainly that the browser tests will be skipped and how to get them. Never fails.
set -u
if [ -x /usr/bin/chromium ]; then
  exit 0
fi
if command -v apt-get >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ]; then
    sudo=""
  elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    sudo="sudo -n"
  else
    sudo="none"
  fi
  if [ "$sudo" != none ]; then
    echo "installing chromium for the browser tests (apt-get)..."
    if $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq chromium chromium-driver >/dev/null; then
      exit 0
    fi
  fi
fi
cat <<'MSG'
NOTE: /usr/bin/chromium is missing and could not be installed here, so the browser tests
      (tests/site/test_site_browser.py) will be SKIPPED. To run them, install Chromium as
      root and run `make test` again:
          apt-get install chromium chromium-driver      (Debian, Ubuntu)
MSG
exit 0
