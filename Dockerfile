# scanner-agent in a container. Scanners and cameras are host devices: pass each one through
# and give the agent the host's group of the device nodes (by number: names differ between
# the host and the image), e.g.
#   docker run -d --name scanner-agent --network host --restart unless-stopped \
#     --device /dev/serial/by-id/usb-Honeywell_Imaging_Scanner-if00:/dev/ttyACM0 \
#     --device /dev/hidraw3 --device /dev/video0 \
#     --group-add "$(getent group plugdev | cut -d: -f3)" \
#     --group-add "$(getent group dialout | cut -d: -f3)" \
#     --group-add "$(getent group video | cut -d: -f3)" \
#     -v scanner-agent:/data -v /etc/scanner-agent:/etc/scanner-agent:ro \
#     -e SCANNER_AGENT_CONFIG=/etc/scanner-agent/agent.toml scanner-agent
# --network host keeps the API on the host's loopback (it listens on 127.0.0.1 only by design).
# See README, "Deployment".
# bookworm pinned: the library package names (libdmtx0b) are those of Debian 12. hidapi's wheel
# brings its own hidraw and libusb back-ends: no system HID library is needed.
FROM python:3.11-slim-bookworm

# Debian's security updates must reach the image: packages are not pinned to a version.
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends libdmtx0b fonts-dejavu-core \
 && rm -rf /var/lib/apt/lists/*

# A fixed uid, so that the data volume and `--user` keep working across rebuilds.
RUN useradd --system --uid 10001 --create-home --home-dir /home/agent \
      --groups dialout,plugdev,video agent \
 && mkdir -p /data && chown 10001 /data

WORKDIR /opt/scanner-agent
COPY pyproject.toml README.md ./
COPY scanner_agent ./scanner_agent
COPY drivers ./drivers
COPY decoders ./decoders
COPY api ./api
COPY config ./config
RUN pip install --no-cache-dir . \
 && SCANNER_AGENT_CONFIG_DIR=/opt/scanner-agent/config scanner-agent config >/dev/null

USER 10001
ENV PYTHONUNBUFFERED=1 \
    SCANNER_AGENT_AGENT__DATA_DIR=/data \
    SCANNER_AGENT_CONFIG_DIR=/opt/scanner-agent/config
VOLUME ["/data"]
EXPOSE 8765
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s \
  CMD ["python", "-c", "import os, sys, urllib.request; port = os.environ.get('SCANNER_AGENT_API__PORT', '8765'); sys.exit(urllib.request.urlopen(f'http://127.0.0.1:{port}/v1/health', timeout=4).status != 200)"]
ENTRYPOINT ["scanner-agent"]
CMD ["serve"]
