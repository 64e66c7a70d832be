# tracker: edge server and analytics tracker.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 TRACKER_BIND=0.0.0.0:8080
WORKDIR /opt/tracker

COPY pyproject.toml README.md ./
COPY tracker ./tracker
COPY .setup ./.setup
RUN pip install . && useradd --system --home /var/lib/tracker tracker \
    && mkdir -p /etc/tracker /var/lib/tracker/data && chown -R tracker /var/lib/tracker

COPY config.json /etc/tracker/config.json
COPY entrypoint.sh /usr/local/bin/entrypoint.sh

# Spool, DuckDB file and ACME certificates live under /var/lib/tracker/data: mount a volume there.
WORKDIR /var/lib/tracker
VOLUME ["/var/lib/tracker/data"]
USER tracker
EXPOSE 8080 8443
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=30s --timeout=3s CMD python -c "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8080/health', timeout=2).status != 200)"
ENTRYPOINT ["/usr/local/bin/entrypoint.sh"]
