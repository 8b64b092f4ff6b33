"""The tutorial's third-party app: a partner's service that calls your API with its own token.

Run it with ``SHOP_URL``, ``CLIENT_ID`` and ``CLIENT_SECRET`` in the environment.
"""

from __future__ import annotations

import os

import requests

shop = os.environ.get("SHOP_URL", "http://127.0.0.1:5000")

# 1. Get a token for this client (client credentials grant).
response = requests.post(f"{shop}/oauth/token", data={
    "grant_type": "client_credentials",
    "client_id": os.environ["CLIENT_ID"],
    "client_secret": os.environ["CLIENT_SECRET"],
    "scope": "check-status",
}, timeout=10)
response.raise_for_status()
token = response.json()["access_token"]

# 2. Call the protected API with it.
status = requests.get(f"{shop}/api/status", timeout=10,
                      headers={"Authorization": f"Bearer {token}"})
status.raise_for_status()
print("The shop says:", status.json()["status"])
