#!/usr/bin/env bash
# Install the Debian packages the project uses, where apt is available:
#   dataset-fashion-mnist  the default dataset (/usr/share/datasets/fashion-mnist)
#   chromium               the headless browser of the dashboard's browser test and of
#                          the PNG figures of docs/RESULTS.md (kaleido)
#   postgresql             PostgreSQL server and client (studies shared by many machines;
#                          the tests start their own server from its initdb and pg_ctl)
# Idempotent: installs only what is missing. Without apt (or root), prints what to do.
set -euo pipefail
want=(dataset-fashion-mnist chromium postgresql postgresql-client)
missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if ! command -v apt-get >/dev/null; then
  echo "note: no apt-get here; get Fashion-MNIST with --data-root DIR or --download" >&2
  exit 0
fi
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null && sudo -n true 2>/dev/null; then sudo="sudo -n"; else
    echo "note: run as root to install: apt-get install ${missing[*]}" >&2; exit 0; fi
fi
echo "installing Debian packages: ${missing[*]}"
$sudo apt-get update -q
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
# The tests start their own servers; the cluster the package may have started is not needed.
