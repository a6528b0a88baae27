#!/usr/bin/env bash
# System libraries the pipeline needs beyond Python packages:
#  - pango (WeasyPrint renders the PDF reports with it),
#  - DejaVu fonts (Dutch accents, Arabic and Cyrillic in charts and PDFs),
#  - HarfBuzz-Subset (WeasyPrint subsets the fonts it embeds with it; without it it falls
#    back to fontTools, which takes about half of every PDF's render time),
#  - poppler-utils (pdftotext, used by the tests to read the PDFs back),
#  - with --test: LibreOffice Calc without GUI (a test opens the Excel appendix in it).
# Installs only what is missing, so a second run costs nothing.
set -euo pipefail
packages=(libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-dejavu-core fonts-dejavu-extra poppler-utils)
if [ "${1:-}" = "--test" ]; then
  packages+=(libreoffice-calc-nogui)
fi
need=()
for pkg in "${packages[@]}"; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
done
if [ ${#need[@]} -eq 0 ]; then
  exit 0
fi
echo "Installing system packages: ${need[*]}"
if [ "$(id -u)" -ne 0 ]; then
  SUDO=sudo
else
  SUDO=
fi
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}"
