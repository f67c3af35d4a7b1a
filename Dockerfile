# The one image for web, worker and migrations (docker-compose.yml).

# The /f/ pages' ODK Web Forms bundle: npm installs the lock file, esbuild writes dist/.
FROM python:3.11-slim-bookworm AS webforms
RUN apt-get update && apt-get install -y --no-install-recommends nodejs npm \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /build
COPY server/webforms/package.json server/webforms/package-lock.json ./
RUN npm ci --no-audit --no-fund --loglevel=error
COPY server/webforms/build.mjs ./
COPY server/webforms/src/ src/
RUN npm run --silent build

FROM python:3.11-slim-bookworm

ENV PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1

# ODK Validate (the JavaRosa engine inside pyxform) needs a Java runtime. Slim images drop
# /usr/share/man, where the JRE's post-install script links its man pages; recreate man1.
RUN mkdir -p /usr/share/man/man1 \
 && apt-get update \
 && apt-get install -y --no-install-recommends default-jre-headless \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY requirements.txt ./
RUN pip install --no-cache-dir -r requirements.txt

COPY server/ server/
COPY --from=webforms /build/dist/ server/webforms/dist/
COPY forms/ forms/
COPY sync/ sync/
COPY xlsforms/ xlsforms/
COPY migrations/ migrations/
COPY wsgi.py gunicorn.conf.py ./

RUN useradd --system --uid 10001 --home /app donghanh \
 && mkdir -p /app/instance && chown donghanh /app/instance
USER donghanh

ENV INSTANCE_PATH=/app/instance
EXPOSE 8080
CMD ["gunicorn", "--bind", "0.0.0.0:8080", "--workers", "4", "--access-logfile", "-", "wsgi:app"]
