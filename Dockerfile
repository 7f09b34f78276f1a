# Build stage: compile the proxy (src only; the tests are not part of the image) with the full
# dependency set.
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json ./
COPY src ./src
RUN npx tsc -p tsconfig.json

# Runtime stage: production dependencies and the compiled proxy only.
FROM node:20-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist/src ./dist/src
COPY config ./config
# The embedded default. Mount your own file over it (or a directory over /etc/anteroom, so that saves
# on the host are seen and reloaded). It reads the environment: ANTEROOM_SECRET (required: without a
# secret the proxy refuses to start), ANTEROOM_UPSTREAM, ANTEROOM_PORT, ANTEROOM_ADMIN_TOKEN, LOG_LEVEL.
COPY config/anteroom.yaml /etc/anteroom/anteroom.yaml
USER node
# The public listener. The admin API (9180) listens on the container's loopback unless the config
# sets admin.host (and admin.token) and the port is published.
EXPOSE 8080
# Probes the port of the config file the proxy was started with, so a mounted file with another
# port stays healthy.
HEALTHCHECK --interval=10s --timeout=5s --start-period=10s --retries=3 \
  CMD ["node", "dist/src/cli/healthcheck.js"]
# SIGTERM drains for up to shutdown.graceMs (10 s by default) and exits 0: give `docker stop` a
# longer timeout than that (`docker run --stop-timeout 15`, compose `stop_grace_period: 15s`).
STOPSIGNAL SIGTERM
ENTRYPOINT ["node", "dist/src/cli/main.js"]
CMD ["start", "--config", "/etc/anteroom/anteroom.yaml"]
