#!/usr/bin/env bash
# `make sf-validate` (not run in CI: it needs the npm registry and ~300 MB):
# 1. installs the Salesforce CLI, pinned, under salesforce/.sf-cli/ (git-ignored);
# 2. converts force-app to Metadata API format with `sf project convert source`;
# 3. checks every metadata file against the Metadata API's types and the manifest against
#    what the conversion found (scripts/check-metadata.mjs).
#
# The CLI is installed from its own tarball with `npm install` inside it, so that npm follows
# the CLI's npm-shrinkwrap.json. `npm install @salesforce/cli` into another folder ignores that
# file and takes the newest dependencies, which (undici 8, jsforce-node 3.12) need Node 22
# and break the CLI on Node 20. 2.138.0 is the newest release whose pinned dependencies run on
# Node 20 (it declares node >=18.6.0); later ones pin undici 8.
set -euo pipefail

SF_CLI_VERSION="${SF_CLI_VERSION:-2.138.0}"
here="$(cd "$(dirname "$0")/.." && pwd)"
cli="$here/.sf-cli/cli"
export SF_DISABLE_TELEMETRY=true SF_AUTOUPDATE_DISABLE=true SF_SKIP_NEW_VERSION_CHECK=true

if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  echo "sf-validate needs Node.js (18.6 or later) and npm." >&2
  exit 2
fi

installed="$(node -p "require('$cli/package.json').version" 2>/dev/null || true)"
if [ "$installed" != "$SF_CLI_VERSION" ]; then
  echo "Installing @salesforce/cli@$SF_CLI_VERSION into salesforce/.sf-cli/ (once)..."
  rm -rf "$here/.sf-cli"
  mkdir -p "$here/.sf-cli"
  (
    cd "$here/.sf-cli"
    npm pack --silent "@salesforce/cli@$SF_CLI_VERSION" >/dev/null
    tar xzf "salesforce-cli-$SF_CLI_VERSION.tgz"
    rm "salesforce-cli-$SF_CLI_VERSION.tgz"
    mv package cli
  )
  (cd "$cli" && npm install --omit=dev --ignore-scripts --no-save --no-audit --no-fund --loglevel=error)
fi

out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
cd "$here"
node "$cli/bin/run.js" --version
node "$cli/bin/run.js" project convert source --root-dir force-app --output-dir "$out/mdapi"
node scripts/check-metadata.mjs "$cli" force-app manifest/package.xml "$out/mdapi/package.xml"
