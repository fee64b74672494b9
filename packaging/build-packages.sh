#!/usr/bin/env bash
# Build the Debian and RPM packages: target/debian/keepalived-rs_*.deb and
# target/generate-rpm/keepalived-rs-*.rpm. Installs the pinned packaging
# tools with `cargo install --locked` when they are missing or of another
# version (a few minutes once; ~/.cargo/bin keeps them for later runs).
set -euo pipefail
cd "$(dirname "$0")/.."

CARGO_DEB_VERSION=3.8.0
CARGO_GENERATE_RPM_VERSION=0.21.1

# tool_version CRATE: the version of the installed CRATE binary, if any
# ("cargo-deb 3.8.0" -> 3.8.0).
tool_version() {
  "$1" --version 2>/dev/null | awk '{print $NF}' || true
}

ensure_tool() {
  local crate=$1 version=$2
  if [ "$(tool_version "$crate")" = "$version" ]; then
    echo "== $crate $version already installed"
    return
  fi
  echo "== cargo install --locked $crate@$version"
  local start=$SECONDS
  cargo install --locked --quiet "$crate@$version"
  echo "== $crate installed in $((SECONDS - start)) s"
}

ensure_tool cargo-deb "$CARGO_DEB_VERSION"
ensure_tool cargo-generate-rpm "$CARGO_GENERATE_RPM_VERSION"

start=$SECONDS
echo "== cargo deb (release build)"
rm -rf target/debian target/generate-rpm target/packaging
# --dbgsym: the .deb gets a stripped binary, the debug symbols (the release
# profile keeps them for profiling) go to a separate -dbgsym.ddeb.
cargo deb --dbgsym
echo "== cargo generate-rpm"
mkdir -p target/packaging
strip --strip-debug -o target/packaging/keepalived-rs target/release/keepalived-rs
cargo generate-rpm
echo "== packages built in $((SECONDS - start)) s:"
ls -l target/debian/*deb target/generate-rpm/*.rpm
