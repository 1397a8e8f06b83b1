# scanner-agent in a container. Scanners and cameras are host devices: pass them through, e.g.
#   docker run --network host --device /dev/ttyACM0 --device /dev/hidraw0 --device /dev/video0 \
#              --group-add dialout --group-add plugdev -v scanner-agent:/data scanner-agent
# --network host keeps the API on the host's loopback (it listens on 127.0.0.1 only by design).
FROM python:3.11-slim

RUN apt-get update \
 && apt-get install -y --no-install-recommends libdmtx0b libhidapi-hidraw0 fonts-dejavu-core \
 && rm -rf /var/lib/apt/lists/*

RUN useradd --system --create-home --home-dir /home/agent --groups dialout,plugdev agent \
 && mkdir -p /data && chown agent /data

WORKDIR /opt/scanner-agent
COPY pyproject.toml README.md ./
COPY scanner_agent ./scanner_agent
COPY drivers ./drivers
COPY decoders ./decoders
COPY api ./api
COPY config ./config
RUN pip install --no-cache-dir . \
 && scanner-agent config >/dev/null

USER agent
ENV SCANNER_AGENT_AGENT__DATA_DIR=/data \
    SCANNER_AGENT_CONFIG_DIR=/opt/scanner-agent/config
VOLUME ["/data"]
EXPOSE 8765
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s \
  CMD python -c "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8765/v1/health', timeout=4).status != 200)"
ENTRYPOINT ["scanner-agent"]
CMD ["serve"]
