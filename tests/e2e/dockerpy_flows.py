"""docker-py through the proxy: the calls a traefik-like client makes pass, the rest are refused.

Usage: dockerpy_flows.py PORT CONTAINER_NAME SINCE UNTIL IMAGE
Prints one JSON object with what happened; the Rust test asserts on it.
"""
import json
import sys

import docker

port, name, since, until, image = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
# version="auto" makes docker-py call GET /version while it is constructed, as Glances does.
client = docker.DockerClient(base_url=f"tcp://127.0.0.1:{port}", version="auto", timeout=20)
out = {"api_version": client.api.api_version}

containers = client.containers.list(all=True)
out["listed"] = sorted(c.name for c in containers)
out["labels"] = client.containers.get(name).labels
out["server_version"] = client.version().get("ApiVersion")
out["events"] = len(list(client.events(since=since, until=until, decode=True)))


def refused(call):
    try:
        call()
    except docker.errors.APIError as e:
        return {"status": e.status_code, "explanation": e.explanation}
    return {"status": None, "explanation": "the call succeeded"}


target = client.containers.get(name)
out["denied"] = {
    "run": refused(lambda: client.containers.run(image, "true", remove=True)),
    "exec": refused(lambda: target.exec_run("true")),
    "remove": refused(lambda: target.remove()),
    "network_create": refused(lambda: client.networks.create("spg-e2e-net")),
    "volume_list": refused(lambda: client.volumes.list()),
}
print(json.dumps(out))
