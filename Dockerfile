# newsdesk bot image: the same install as `make install`, nothing downloaded at run time.
FROM python:3.11-slim
RUN apt-get update && apt-get install -y --no-install-recommends make && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY . .
RUN make install && rm -rf /root/.cache
ENV NEWSDESK_DATA_DIR=/data
VOLUME ["/data"]
CMD [".venv/bin/newsdesk", "bot"]
