#!/usr/bin/env bash
# Builds the real Kubernetes control plane the cluster suites run against, from the Go module proxy:
# kube-apiserver and kube-controller-manager (K8S_VERSION) and etcd (ETCD_VERSION). Binaries are cached
# under ~/.cache/kube-sentinel/ keyed by version; a cached build returns in seconds.
# Never commit the binaries or the wrapper module: both live only in the cache.
set -euo pipefail
K8S_VERSION="${K8S_VERSION:-v1.36.3}"
ETCD_VERSION="${ETCD_VERSION:-v3.6.17}"
CACHE="${KS_CACHE:-$HOME/.cache/kube-sentinel}"
export PATH="/usr/local/go/bin:$PATH"
export CGO_ENABLED=0 GOFLAGS=-mod=mod GOTOOLCHAIN=local

K8S_OUT="$CACHE/kubernetes-$K8S_VERSION"
ETCD_OUT="$CACHE/etcd-$ETCD_VERSION"

if [ ! -x "$ETCD_OUT/etcd" ]; then
  # etcd's server module carries replace directives, so `go install pkg@version` refuses it; a wrapper
  # module that requires it builds the same binary (and needs no replaces of its own).
  echo "building etcd $ETCD_VERSION" >&2
  work="$CACHE/build-etcd-$ETCD_VERSION"
  rm -rf "$work"; mkdir -p "$work"; cd "$work"
  printf 'module kube-sentinel.local/etcd\ngo 1.24\nrequire go.etcd.io/etcd/server/v3 %s\n' "$ETCD_VERSION" > go.mod
  printf '//go:build tools\n\npackage tools\n\nimport _ "go.etcd.io/etcd/server/v3"\n' > tools.go
  go mod tidy -e >/dev/null 2>&1 || true
  mkdir -p "$ETCD_OUT.tmp"
  go build -trimpath -o "$ETCD_OUT.tmp/etcd" go.etcd.io/etcd/server/v3
  rm -rf "$ETCD_OUT"; mv "$ETCD_OUT.tmp" "$ETCD_OUT"
fi

# A cached build counts only when it reports its own version (the ldflags below stamp it).
stamped() { [ -x "$1" ] && "$1" --version 2>/dev/null | grep -qx "Kubernetes $K8S_VERSION"; }
if ! stamped "$K8S_OUT/kube-apiserver" || ! stamped "$K8S_OUT/kube-controller-manager"; then
  echo "building kube-apiserver and kube-controller-manager $K8S_VERSION (about 20 minutes on 2 cores)" >&2
  staging_version="v0.${K8S_VERSION#v1.}"
  work="$CACHE/build-kubernetes-$K8S_VERSION"
  rm -rf "$work"; mkdir -p "$work"; cd "$work"
  # The k8s.io/kubernetes module points every staging module at ./staging; a wrapper module replaces
  # each of them with its published version. The list comes from the release's own go.mod.
  gomod="$(go mod download -json "k8s.io/kubernetes@$K8S_VERSION" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')"
  [ -f "$gomod" ] || { echo "cannot download k8s.io/kubernetes@$K8S_VERSION go.mod" >&2; exit 1; }
  {
    echo "module kube-sentinel.local/control-plane"
    echo "go $(sed -n 's/^go \([0-9.]*\).*/\1/p' "$gomod" | head -1)"
    echo "require k8s.io/kubernetes $K8S_VERSION"
    grep -E '^\s*k8s\.io/[a-z0-9-]+ => \./staging/' "$gomod" \
      | awk -v v="$staging_version" '{print "replace " $1 " => " $1 " " v}'
  } > go.mod
  echo "$(grep -c '^replace' go.mod) staging modules replaced with $staging_version" >&2
  cat > tools.go <<'GO'
//go:build tools

package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
)
GO
  go mod tidy -e >/dev/null 2>&1 || true
  mkdir -p "$K8S_OUT.tmp"
  # What the release build stamps in (hack/lib/version.sh): /version and --version report the release.
  minor="${K8S_VERSION#v1.}"; minor="${minor%%.*}"
  pkg=k8s.io/component-base/version
  ldflags="-s -w -X $pkg.gitVersion=$K8S_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor -X $pkg.gitTreeState=clean"
  ldflags="$ldflags -X $pkg.buildDate=1970-01-01T00:00:00Z"
  go build -trimpath -ldflags "$ldflags" -o "$K8S_OUT.tmp/kube-apiserver" k8s.io/kubernetes/cmd/kube-apiserver
  go build -trimpath -ldflags "$ldflags" -o "$K8S_OUT.tmp/kube-controller-manager" k8s.io/kubernetes/cmd/kube-controller-manager
  rm -rf "$K8S_OUT"; mv "$K8S_OUT.tmp" "$K8S_OUT"
fi
echo "$K8S_OUT"
echo "$ETCD_OUT"
