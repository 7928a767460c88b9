"""Checks a running HDMS stack through its gateway, as a person's browser would reach it.

python3 gateway_check.py BASE_URL   (needs the websockets package)

Every service ready (GET /health), the demo requestor signs in, creates a ticket in IT and reads
it back, and a WebSocket session is answered {"type":"ready"}. Exits non-zero on the first failure.
"""

import asyncio
import json
import sys
import time
import urllib.error
import urllib.request

import websockets

BASE = sys.argv[1].rstrip("/")


def call(method, path, body=None, token=None, expect=(200,)):
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(BASE + path, data=data, method=method)
    if data is not None:
        request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", "Bearer " + token)
    try:
        with urllib.request.urlopen(request, timeout=15) as response:
            status, text = response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        status, text = error.code, error.read().decode()
    if status not in expect:
        raise SystemExit(f"{method} {path}: HTTP {status} (wanted {expect}): {text[:500]}")
    return json.loads(text) if text.strip().startswith(("{", "[")) else text


def wait_healthy(deadline_seconds=120):
    deadline = time.monotonic() + deadline_seconds
    while True:
        try:
            health = call("GET", "/health")
            print("GET /health: 200", json.dumps(health, sort_keys=True))
            return
        except (SystemExit, OSError) as error:
            if time.monotonic() > deadline:
                raise SystemExit(f"GET /health never answered 200: {error}")
            time.sleep(2)


def sign_in(deadline_seconds=120):
    # The one-shot seed service may still be writing the demo organisation.
    deadline = time.monotonic() + deadline_seconds
    while True:
        try:
            return call("POST", "/api/v1/auth/login", {"email": "requestor@hdms.test", "password": "hdms-demo"})
        except SystemExit as error:
            if time.monotonic() > deadline:
                raise
            print("login not yet possible:", error)
            time.sleep(3)


async def websocket_ready(token):
    url = "ws" + BASE[len("http"):] + "/api/v1/ws"
    async with websockets.connect(url, open_timeout=15) as socket:
        await socket.send(json.dumps({"type": "auth", "token": token}))
        frame = json.loads(await asyncio.wait_for(socket.recv(), timeout=15))
        if frame.get("type") != "ready":
            raise SystemExit(f"WebSocket answered {frame}, wanted type ready")
        print("WebSocket /api/v1/ws:", json.dumps(frame))


def main():
    wait_healthy()
    pair = sign_in()
    token = pair["access_token"]
    print("POST /api/v1/auth/login: 200, signed in as", pair["user"].get("email"))
    departments = call("GET", "/api/v1/departments", token=token)["items"]
    it = next((d for d in departments if d.get("name") == "IT" or d.get("code") == "IT"), None)
    if it is None:
        raise SystemExit(f"no IT department among {[d.get('name') for d in departments]}")
    created = call("POST", "/api/v1/tickets", {
        "title": "Compose check: printer on floor 2",
        "description": "Created through the gateway by scripts/compose-check.",
        "priority": "medium",
        "department_id": it["id"],
    }, token=token, expect=(200, 201))
    print("POST /api/v1/tickets:", created["id"], created.get("status"))
    read = call("GET", f"/api/v1/tickets/{created['id']}", token=token)
    if read["id"] != created["id"] or read["title"] != created["title"]:
        raise SystemExit(f"ticket read back differs: {read}")
    print("GET /api/v1/tickets/{id}: 200, same ticket")
    asyncio.run(websocket_ready(token))
    print("gateway check passed")


main()
