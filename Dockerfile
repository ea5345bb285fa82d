# freshgate container image: a build stage compiles src/ to dist/, the runtime stage holds only
# production dependencies, dist/, bin/ and the example config.
#
#   docker build -t freshgate .
#   docker run -p 8080:8080 -e FRESHGATE_ORIGIN=http://app:3000 freshgate
#   docker run -p 8080:8080 -v "$PWD/my.yaml:/etc/freshgate/freshgate.yaml:ro" freshgate
#
# Configuration: /etc/freshgate/freshgate.yaml (the commented example from config/, which sets
# every option to its default and origin to http://127.0.0.1:3000). Mount your own file there,
# or override single options with FRESHGATE_* variables or flags after the image name:
# flags win over the environment, which wins over the file (`docker run freshgate --help`).

FROM node:24-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
# --ignore-scripts: the `node` devDependency's install script downloads a second Node 24 binary
# for the host, and this image already is Node 24; the one script we need, the undici patch
# (patches/, README "Streaming and interim responses"), runs by itself.
COPY patches ./patches
RUN npm ci --ignore-scripts --no-audit --no-fund && npx --no-install patch-package
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build

FROM node:24-slim
ENV NODE_ENV=production
# Listen on every interface inside the container. The environment wins over the config file, so
# this also overrides a `host:` in a mounted file; pass --host to change it.
ENV FRESHGATE_HOST=0.0.0.0
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force
# The patched undici file from the build stage (same lockfile, same undici version).
COPY --from=build /app/node_modules/undici/lib/dispatcher/client-h1.js ./node_modules/undici/lib/dispatcher/client-h1.js
COPY --from=build /app/dist ./dist
COPY bin ./bin
COPY config ./config
COPY config/freshgate.yaml /etc/freshgate/freshgate.yaml
USER node
# 8080: the proxy. The admin listener (health, readiness, metrics, purge) stays on 127.0.0.1:9091
# inside the container unless FRESHGATE_ADMIN_HOST=0.0.0.0 is set (e.g. for Kubernetes probes;
# set FRESHGATE_ADMIN_TOKEN too, /healthz and /readyz stay open).
EXPOSE 8080
# The image has no curl: Node itself asks the admin listener.
HEALTHCHECK --interval=15s --timeout=3s --start-period=10s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.FRESHGATE_ADMIN_PORT||9091)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# Exec form: Node is PID 1 and receives SIGTERM itself; the CLI handles it by draining in-flight
# requests and exiting 0.
ENTRYPOINT ["node", "bin/freshgate.js"]
CMD ["--config", "/etc/freshgate/freshgate.yaml"]
