#!/usr/bin/env bash
# Install the Debian/Ubuntu packages edms-adapter needs beside its Python packages:
#   libpango-1.0-0, libpangoft2-1.0-0  PDF rendering (WeasyPrint draws text with Pango)
#   libharfbuzz-subset0                font subsetting for smaller, faster PDFs
#   softhsm2                           a software PKCS#11 token for the signing tests
#   poppler-utils                      pdftotext and pdftoppm, used by the rendering tests
#   postgresql                         a throwaway server for the tracking store tests on PostgreSQL
# Runs apt-get through sudo unless already root.
set -euo pipefail

packages=(libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 softhsm2 poppler-utils postgresql)

if [ "$(id -u)" -eq 0 ]; then
    run=()
else
    run=(sudo)
fi

export DEBIAN_FRONTEND=noninteractive
"${run[@]}" apt-get update -qq
"${run[@]}" apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null
