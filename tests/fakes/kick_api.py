"""A stateful fake of Kick's OAuth server and public API, served through httpx.MockTransport.

Point the project's HTTP client factories at ``fake.client()`` / ``fake.async_client()``; every
request is recorded in ``fake.requests``. Tokens are checked like Kick does: an unknown or revoked
access token gets a 401, so refresh paths are exercised for real.
"""

from __future__ import annotations

import itertools
import json
import secrets
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

import httpx


@dataclass
class FakeKick:
    user_id: int = 5001
    username: str = "kickbot_account"
    codes: dict[str, int] = field(default_factory=dict)  # code → user id it authorises
    access: dict[str, int] = field(default_factory=dict)  # access token → user id
    refresh: dict[str, int] = field(default_factory=dict)
    users: dict[int, str] = field(default_factory=dict)
    requests: list[httpx.Request] = field(default_factory=list)
    chat: list[dict[str, Any]] = field(default_factory=list)
    subscriptions: list[dict[str, Any]] = field(default_factory=list)
    live: dict[int, bool] = field(default_factory=dict)
    others_live: int = 0  # other channels' streams, listed before ours (v2 lists oldest first)
    fail_token_endpoint: int | None = None  # status to answer /oauth/token with
    fail_chat: list[int] = field(default_factory=list)  # statuses to answer the next chat sends with
    down: bool = False  # True: every request is refused at connect (as a dead server's port would)
    _ids: Any = field(default_factory=lambda: itertools.count(1))

    def __post_init__(self) -> None:
        self.users.setdefault(self.user_id, self.username)

    # --- helpers for tests -----------------------------------------------------------------
    def issue_code(self, user_id: int | None = None) -> str:
        code = secrets.token_urlsafe(16)
        self.codes[code] = user_id or self.user_id
        return code

    def issue_tokens(self, user_id: int | None = None) -> dict[str, Any]:
        uid = user_id or self.user_id
        access, refresh = f"at-{secrets.token_hex(8)}", f"rt-{secrets.token_hex(8)}"
        self.access[access] = uid
        self.refresh[refresh] = uid
        return {
            "access_token": access,
            "token_type": "Bearer",
            "refresh_token": refresh,
            "expires_in": 3600,
            "scope": "user:read channel:read chat:write events:subscribe",
        }

    def revoke_all_access(self) -> None:
        self.access.clear()

    def client(self) -> httpx.Client:
        return httpx.Client(transport=httpx.MockTransport(self.handle))

    def async_client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=httpx.MockTransport(self.handle))

    # --- the server --------------------------------------------------------------------------
    def handle(self, request: httpx.Request) -> httpx.Response:
        if self.down:
            raise httpx.ConnectError("[Errno 111] Connection refused", request=request)
        self.requests.append(request)
        path = request.url.path
        if path == "/oauth/token":
            return self._token(request)
        if path == "/oauth/revoke":
            return httpx.Response(200)
        if not path.startswith(("/public/v1/", "/public/v2/")):
            return httpx.Response(404, json={"message": "not found"})
        auth = request.headers.get("authorization", "")
        uid = self.access.get(auth.removeprefix("Bearer "))
        if uid is None:
            return httpx.Response(401, json={"message": "Unauthorized"})
        if path == "/public/v2/livestreams" and request.method == "GET":
            return self._livestreams_v2(request)
        if not path.startswith("/public/v1/"):
            return httpx.Response(404, json={"message": "not found"})
        route = path.removeprefix("/public/v1/")
        if route == "users" and request.method == "GET":
            ids = [int(v) for v in request.url.params.get_list("id")] or [uid]
            data = [
                {"user_id": i, "name": self.users.get(i, f"user{i}"), "email": None, "profile_picture": None}
                for i in ids
            ]
            return httpx.Response(200, json={"data": data, "message": "OK"})
        if route == "chat" and request.method == "POST":
            if self.fail_chat:
                return httpx.Response(self.fail_chat.pop(0), json={"message": "nope"})
            body = json.loads(request.content)
            body["_sender"] = uid
            self.chat.append(body)
            return httpx.Response(
                200,
                json={"data": {"is_sent": True, "message_id": f"sent-{next(self._ids)}"}, "message": "OK"},
            )
        if route == "events/subscriptions":
            return self._subscriptions(request)
        return httpx.Response(404, json={"message": "not found"})

    def _livestreams_v2(self, request: httpx.Request) -> httpx.Response:
        """GET /public/v2/livestreams: every live stream, oldest first, ``limit`` (1..1000, default 100) a
        page, ``cursor`` from the previous page's ``pagination.next_cursor``; no broadcaster filter."""
        try:
            limit = int(request.url.params.get("limit", "100"))
            offset = int(request.url.params.get("cursor") or 0)
        except ValueError:
            return httpx.Response(400, json={"message": "bad request"})
        if not 1 <= limit <= 1000:
            return httpx.Response(400, json={"message": "limit must be between 1 and 1000"})
        ids = [10_000_000 + i for i in range(self.others_live)] + [i for i, on in self.live.items() if on]
        page = ids[offset : offset + limit]
        data = [
            {
                "id": f"ls-{i}",
                "broadcaster_user": {"id": i, "username": f"user{i}", "profile_picture": ""},
                "category": {"id": 15, "name": "Just Chatting", "thumbnail": ""},
                "channel": {"slug": f"c{i}"},
                "has_mature_content": False,
                "language_code": "en",
                "started_at": "2026-11-27T10:00:00Z",
                "tags": [],
                "thumbnail": "",
                "title": f"stream of {i}",
                "viewer_count": 10,
            }
            for i in page
        ]
        more = offset + limit < len(ids)
        return httpx.Response(
            200,
            json={
                "data": data,
                "pagination": {"next_cursor": str(offset + limit) if more else ""},
                "message": "OK",
            },
        )

    def _token(self, request: httpx.Request) -> httpx.Response:
        if self.fail_token_endpoint:
            return httpx.Response(self.fail_token_endpoint, json={"error": "Invalid request"})
        form = {k: v[0] for k, v in parse_qs(request.content.decode()).items()}
        if form.get("grant_type") == "authorization_code":
            uid = self.codes.pop(form.get("code", ""), None)
            if uid is None or not form.get("code_verifier"):
                return httpx.Response(400, json={"error": "Invalid request"})
            return httpx.Response(200, json=self.issue_tokens(uid))
        if form.get("grant_type") == "refresh_token":
            uid = self.refresh.pop(form.get("refresh_token", ""), None)
            if uid is None:
                return httpx.Response(400, json={"error": "Invalid request"})
            return httpx.Response(200, json=self.issue_tokens(uid))
        return httpx.Response(400, json={"error": "Invalid request"})

    def _subscriptions(self, request: httpx.Request) -> httpx.Response:
        if request.method == "GET":
            return httpx.Response(200, json={"data": self.subscriptions, "message": "OK"})
        if request.method == "POST":
            body = json.loads(request.content)
            results = []
            for ev in body["events"]:
                sub_id = f"sub-{next(self._ids)}"
                self.subscriptions.append(
                    {
                        "id": sub_id,
                        "app_id": "app",
                        "broadcaster_user_id": body["broadcaster_user_id"],
                        "event": ev["name"],
                        "version": ev["version"],
                        "method": "webhook",
                        "created_at": "2026-11-27T00:00:00Z",
                        "updated_at": "2026-11-27T00:00:00Z",
                    }
                )
                results.append(
                    {"name": ev["name"], "version": ev["version"], "subscription_id": sub_id, "error": None}
                )
            return httpx.Response(200, json={"data": results, "message": "OK"})
        if request.method == "DELETE":
            ids = set(request.url.params.get_list("id"))
            self.subscriptions = [s for s in self.subscriptions if s["id"] not in ids]
            return httpx.Response(204)
        return httpx.Response(405)
