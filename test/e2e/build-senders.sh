#!/usr/bin/env bash
# Builds today's senders for the end-to-end sender tests from the Go module proxy: Prometheus 3
# (module version PROMETHEUS_VERSION, v0.3XY.Z = release 3.XY.Z) and Alertmanager (ALERTMANAGER_VERSION;
# later releases embed a web UI that is not in the module and do not build this way). Binaries are
# cached under ~/.cache/kube-sentinel/ keyed by version; a cached build returns at once.
# Never commit the binaries or the wrapper modules: both live only in the cache.
set -euo pipefail
PROMETHEUS_VERSION="${PROMETHEUS_VERSION:-v0.316.0}"
ALERTMANAGER_VERSION="${ALERTMANAGER_VERSION:-v0.28.1}"
CACHE="${KS_CACHE:-$HOME/.cache/kube-sentinel}"
export PATH="/usr/local/go/bin:$PATH"
export CGO_ENABLED=0 GOFLAGS=-mod=mod GOTOOLCHAIN=local

# build NAME MODULE PACKAGE VERSION RELEASE: a wrapper module requiring MODULE@VERSION builds PACKAGE.
# (`go install pkg@version` refuses modules whose go.mod has replace or exclude directives.)
build() {
  local name="$1" module="$2" package="$3" version="$4" release="$5"
  local out="$CACHE/$name-$version"
  if [ -x "$out/$name" ] && "$out/$name" --version 2>&1 | grep -q "version $release"; then
    echo "$out/$name"; return
  fi
  echo "building $name $version (release $release)" >&2
  local work="$CACHE/build-$name-$version"
  rm -rf "$work"; mkdir -p "$work"; cd "$work"
  printf 'module kube-sentinel.local/%s\ngo 1.24\nrequire %s %s\n' "$name" "$module" "$version" > go.mod
  printf '//go:build tools\n\npackage tools\n\nimport _ "%s"\n' "$package" > tools.go
  go mod tidy -e >/dev/null 2>&1 || true
  mkdir -p "$out.tmp"
  # What the release build stamps in, so --version and the User-Agent name the release.
  local v=github.com/prometheus/common/version
  go build -trimpath -ldflags "-s -w -X $v.Version=$release -X $v.Branch=HEAD -X $v.Revision=module-$version" \
    -o "$out.tmp/$name" "$package"
  rm -rf "$out"; mv "$out.tmp" "$out"
  echo "$out/$name"
}

minor="${PROMETHEUS_VERSION#v0.}"; patch="${minor#*.}"; minor="${minor%%.*}"
build prometheus github.com/prometheus/prometheus github.com/prometheus/prometheus/cmd/prometheus \
  "$PROMETHEUS_VERSION" "${minor:0:1}.$((10#${minor:1})).$patch"
build alertmanager github.com/prometheus/alertmanager github.com/prometheus/alertmanager/cmd/alertmanager \
  "$ALERTMANAGER_VERSION" "${ALERTMANAGER_VERSION#v}"
