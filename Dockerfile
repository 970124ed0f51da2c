# syntax=docker/dockerfile:1
# kubegate: `docker build -t ghcr.io/kubegate/kubegate:0.1.0 .` (the tag deploy/ uses as a placeholder).
# Node 24 runs the TypeScript sources directly (type stripping): there is no build step, only the
# production dependencies to install. Pin both images by digest in your own builds.

# Stage 1: production dependencies only, from the lockfile.
FROM node:24-bookworm AS deps
WORKDIR /app
COPY package.json package-lock.json ./
# No dependency needs an install script; not running them keeps the build reproducible.
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund

# Stage 2: the runtime. Everything under /app belongs to root and is read-only for the process,
# which writes nothing but stdout: the image runs with readOnlyRootFilesystem.
FROM node:24-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
# npm and corepack are not needed to run, and are code an attacker could use.
RUN rm -rf /usr/local/lib/node_modules/npm /usr/local/lib/node_modules/corepack \
      /usr/local/bin/npm /usr/local/bin/npx /usr/local/bin/corepack
COPY --from=deps /app/node_modules ./node_modules
COPY package.json ./
COPY src ./src
# The image's `node` user (uid/gid 1000), numeric so runAsNonRoot can verify it.
USER 1000:1000
# 6443: the gateway (TLS). 9443: the admin listener (plain HTTP: probes, /metrics, status page).
EXPOSE 6443 9443
# --max-semi-space-size: see bin/kubegate.
ENTRYPOINT ["node","--max-semi-space-size=8","src/cli/main.ts","serve","-f","/etc/kubegate/config/kubegate.yaml"]
