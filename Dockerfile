# The hotline app image. Runs the TypeScript sources through tsx (no separate build of the server).
FROM node:20-bookworm-slim AS deps
WORKDIR /app
# better-sqlite3 builds from source when no prebuilt binary matches.
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
RUN npm install --no-audit --no-fund

FROM node:20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
# Report exports: chromium prints the PDFs and draws the charts of Excel files; the CJK fonts set the Chinese.
RUN apt-get update && apt-get install -y --no-install-recommends chromium fonts-noto-cjk && rm -rf /var/lib/apt/lists/*
COPY --from=deps /app/node_modules ./node_modules
COPY . .
# data/attachments, data/recordings and data/prompts exist in the image, so their volumes start out owned by the app user.
RUN npm run build --if-present && useradd --system --home /app hotline && mkdir -p /app/data/attachments /app/data/recordings /app/data/prompts && chown -R hotline /app/data
USER hotline
EXPOSE 3000
HEALTHCHECK --interval=15s --timeout=3s --start-period=30s CMD node -e "fetch('http://127.0.0.1:3000/healthz').then(r=>process.exit(r.ok?0:1)).catch(()=>process.exit(1))"
CMD ["node", "bin/hotline.js", "start"]
