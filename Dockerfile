# syntax=docker/dockerfile:1.7
# Kube Sentinel container image.
#   docker build -t kube-sentinel:dev --build-arg VERSION=0.1.0 --build-arg REVISION=$(git rev-parse HEAD) .
# Runs as UID 1000 on a read-only root filesystem; the only writable paths are volumes:
#   docker run --read-only --tmpfs /tmp -v ks-data:/var/lib/kube-sentinel \
#     -v "$PWD/deploy-config:/etc/kube-sentinel:ro" -p 8443:8443 kube-sentinel:dev

# Pin by digest in release pipelines: --build-arg NODE_IMAGE=node:24-bookworm-slim@sha256:...
# bookworm-slim rather than alpine: glibc, which the prebuilt native TypeScript compiler expects.
ARG NODE_IMAGE=node:24-bookworm-slim

# ---- build: full dependency tree, compile TypeScript to dist/ ------------------------------------
FROM ${NODE_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN --mount=type=cache,target=/root/.npm npm ci --no-audit --no-fund
COPY tsconfig.json ./
COPY src ./src
RUN npm run build

# ---- deps: production dependencies only, no install scripts --------------------------------------
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN --mount=type=cache,target=/root/.npm npm ci --omit=dev --ignore-scripts --no-audit --no-fund

# ---- runtime -------------------------------------------------------------------------------------
FROM ${NODE_IMAGE}
ARG VERSION=0.0.0-dev
ARG REVISION=unknown
ARG CREATED=unknown
LABEL org.opencontainers.image.title="kube-sentinel" \
      org.opencontainers.image.description="Kubernetes error prioritization and auto-remediation webhook server" \
      org.opencontainers.image.source="https://github.com/kube-sentinel/kube-sentinel" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.created="${CREATED}" \
      org.opencontainers.image.base.name="docker.io/library/node:24-bookworm-slim"

# The server never installs packages at runtime: drop npm/npx/corepack to shrink the attack surface.
# The data and config directories exist (owned by the runtime user) so they work without volumes too.
RUN rm -rf /usr/local/lib/node_modules/npm /usr/local/lib/node_modules/corepack \
           /usr/local/bin/npm /usr/local/bin/npx /usr/local/bin/corepack \
 && mkdir -p /var/lib/kube-sentinel /etc/kube-sentinel \
 && chown 1000:1000 /var/lib/kube-sentinel

ENV NODE_ENV=production
WORKDIR /app
# Application files stay root-owned: the runtime user can read but never modify its own code.
COPY package.json ./
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /src/dist ./dist

USER 1000:1000
VOLUME ["/var/lib/kube-sentinel"]
EXPOSE 8443

# Self-signed or private-CA certificates are the norm here, so the probe does not verify the chain;
# it only asks whether the process answers /healthz over TLS.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD ["node", "-e", "require('node:https').get({host:'127.0.0.1',port:8443,path:'/healthz',rejectUnauthorized:false,timeout:4000},(r)=>process.exit(r.statusCode===200?0:1)).on('error',()=>process.exit(1)).on('timeout',()=>process.exit(1))"]

# Heap flags: see NODE_HEAP_FLAGS in test/support/proc.ts (RSS stays near live data; checked by test/deploy).
ENTRYPOINT ["node", "--max-semi-space-size=4", "--max-old-space-size=256", "--heap-growing-percent=50", "dist/main.js"]
CMD ["serve", "--config", "/etc/kube-sentinel/config.yaml", "--rules", "/etc/kube-sentinel/rules.yaml"]
