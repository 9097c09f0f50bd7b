# syntax=docker/dockerfile:1
# Production image in two stages: the build stage has the dev dependencies the compiler needs,
# the runtime stage only production dependencies and the compiled dist/. The same commands, run
# without Docker, are what `npm run test:deploy` checks (test/deploy/).
#   docker build -t whatsapp-service .
#   docker run --rm --env-file .env.production whatsapp-service npm run migration:run:prod
#   docker run -d --env-file .env.production -p 3000:3000 whatsapp-service

FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
# NODE_ENV must not be production here: npm would then leave out the compiler and the types.
# The npm cache lives in a BuildKit cache mount: shared between builds, never in a layer.
RUN --mount=type=cache,target=/root/.npm npm ci --include=dev
COPY . .
RUN npm run build

FROM node:20-bookworm-slim AS runtime
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
RUN --mount=type=cache,target=/root/.npm npm ci --omit=dev
COPY --from=build /app/dist ./dist
USER node
EXPOSE 3000
# Without .git in the image the service logs to stdout only (LOG_DIR sets a directory).
CMD ["node", "dist/src/main.js"]
