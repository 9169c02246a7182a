# chat-auth-emulator: `docker compose up --build`, or
#   docker build -t chat-auth-emulator . && docker run --rm -p 127.0.0.1:8080:8080 chat-auth-emulator
#
# TEST-ONLY: the embedded fixtures (keys, passwords, secret) are public. Never expose this container to a network
# you do not control. Tested statically (no Docker on the development machines): tests/test_packaging.py.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore

# Install the wheel, not the source tree: hatchling force-includes fixtures/ as emulator/_fixtures, which
# emulator.config.fixtures_dir() finds next to the installed package. The sources are removed afterwards.
WORKDIR /tmp/src
COPY . .
RUN pip install --no-cache-dir . \
    && cd / \
    && rm -rf /tmp/src \
    && groupadd --system --gid 10001 emulator \
    && useradd --system --uid 10001 --gid emulator --create-home --home-dir /home/emulator \
       --shell /usr/sbin/nologin emulator

# Numeric, so that orchestrators enforcing runAsNonRoot can check it.
USER 10001:10001
WORKDIR /home/emulator

EXPOSE 8080

# No curl in the image: the CLI checks GET /_emulator/health (default URL http://127.0.0.1:8080, timeout 3 s).
HEALTHCHECK --interval=10s --timeout=5s --start-period=10s --retries=3 CMD ["chat-emulator", "healthcheck"]

# A user configuration: mount it and set CHAT_EMULATOR_CONFIG (serve --config defaults to it).
CMD ["chat-emulator", "serve", "--host", "0.0.0.0", "--port", "8080"]
