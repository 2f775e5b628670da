#!/usr/bin/env bash
# Vendor Apache ECharts into the dashboard's static files (no CDN: the page's CSP is
# `default-src 'self'`, and a district's intranet may have no way out).
#
#   scripts/vendor_echarts.sh            # the version pinned below
#   scripts/vendor_echarts.sh 6.2.0      # another version from the npm registry
#
# It fetches the package with `npm pack` (the registry checks the tarball's integrity),
# copies dist/echarts.min.js with its LICENSE, NOTICE and the third-party licences it bundles,
# and writes VERSION and README.md. After an update: look at the page (tests/browser/test_charts.py
# takes screenshots into artifacts/) and commit the directory.
set -euo pipefail

VERSION="${1:-6.1.0}"
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
DEST="$ROOT/guatu/dashboard/static/vendor/echarts"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

cd "$WORK"
npm pack "echarts@$VERSION" --silent >/dev/null
tar xzf "echarts-$VERSION.tgz"
INTEGRITY="$(npm view "echarts@$VERSION" dist.integrity)"

rm -rf "$DEST"
mkdir -p "$DEST/licenses"
cp package/dist/echarts.min.js package/LICENSE package/NOTICE "$DEST/"
cp package/licenses/* "$DEST/licenses/"
echo "$VERSION" > "$DEST/VERSION"
SHA256="$(sha256sum "$DEST/echarts.min.js" | cut -d' ' -f1)"

cat > "$DEST/README.md" <<README
# Apache ECharts $VERSION (vendored)

- Source: the npm registry, package \`echarts@$VERSION\`
  (https://registry.npmjs.org/echarts/-/echarts-$VERSION.tgz, integrity \`$INTEGRITY\`).
- File: \`dist/echarts.min.js\` of that package, unchanged (sha256 \`$SHA256\`).
- Licence: Apache License 2.0 (\`LICENSE\`, \`NOTICE\`); code it bundles under other licences:
  \`licenses/\`.
- Served by the dashboard at \`/static/vendor/echarts/echarts.min.js\`; no CDN.
- Update with \`scripts/vendor_echarts.sh <version>\`.
README
echo "echarts $VERSION → $DEST"
