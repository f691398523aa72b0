"""A GitHub stand-in: real HTTP servers on 127.0.0.1 that play github.com and GitHub Enterprise.

Three listeners share one `GitHubState`:
- `web_url`  plays https://github.com: OAuth web flow at /login/oauth/*, git smart HTTP at /o/r.git
- `api_url`  plays https://api.github.com: the REST API at the root
- `ghes_url` plays https://HOST of GitHub Enterprise Server: OAuth and git at the root, the REST
  API under /api/v3 (`ghes_api_url`); with `ghes_prefix` set ("/github") all of it lives under
  that path instead (a server behind a path-routing proxy), and the root answers 404

Every REST request and response the description covers (`../shared/github/rest-subset.openapi.json`
plus `tests/support/github_openapi_extra.json`) is validated with openapi-core. A request GitHub
would refuse gets GitHub's 422 and is recorded in `state.violations`; the pytest fixture fails the
test at teardown unless the test took the violations (`state.take_violations()`). A response the
double builds wrong is a 500 and a violation, so a drifting payload builder cannot pass silently.
"""

from __future__ import annotations

import hashlib
import json
import ssl
import threading
from collections.abc import Callable, Iterable
from typing import Any

from werkzeug.exceptions import HTTPException, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

from tests.support import github_oauth, github_rest
from tests.support.github_openapi import (
    ApiCall,
    in_contract,
    is_described,
    request_problem,
    response_problem,
)
from tests.support.github_payloads import Bases, basic_error, validation_error
from tests.support.github_rest import ApiContext, Reply
from tests.support.github_state import GitHubRepo, GitHubState, RecordedRequest

GHES_API_PREFIX = "/api/v3"
JSON = "application/json; charset=utf-8"


API_ROUTES = Map(
    [
        Rule("/user", endpoint=github_rest.get_user, methods=["GET"]),
        Rule("/user/emails", endpoint=github_rest.get_user_emails, methods=["GET"]),
        Rule("/user/repos", endpoint=github_rest.list_user_repos, methods=["GET"]),
        Rule("/user/orgs", endpoint=github_rest.list_user_orgs, methods=["GET"]),
        Rule("/user/installations", endpoint=github_rest.list_installations, methods=["GET"]),
        Rule("/orgs/<org>/repos", endpoint=github_rest.list_org_repos, methods=["GET"]),
        Rule("/repos/<owner>/<repo>", endpoint=github_rest.get_repo, methods=["GET"]),
        Rule("/repositories/<int:repo_id>", endpoint=github_rest.get_repo_by_id,
             methods=["GET"]),
        Rule("/repos/<owner>/<repo>/branches", endpoint=github_rest.list_branches,
             methods=["GET"]),
        Rule("/repos/<owner>/<repo>/collaborators/<username>/permission",
             endpoint=github_rest.get_permission, methods=["GET"]),
        Rule("/repos/<owner>/<repo>/branches/<path:branch>", endpoint=github_rest.get_branch,
             methods=["GET"]),
        Rule("/repos/<owner>/<repo>/pulls", endpoint=github_rest.create_pull, methods=["POST"]),
        Rule("/repos/<owner>/<repo>/pulls", endpoint=github_rest.list_pulls, methods=["GET"]),
        Rule("/repos/<owner>/<repo>/pulls/<int:number>", endpoint=github_rest.get_pull,
             methods=["GET"]),
        Rule("/repos/<owner>/<repo>/pulls/<int:number>", endpoint=github_rest.update_pull,
             methods=["PATCH"]),
        Rule("/repos/<owner>/<repo>/pulls/<int:number>/reviews",
             endpoint=github_rest.create_review, methods=["POST"]),
        Rule("/repos/<owner>/<repo>/issues/<int:number>/comments",
             endpoint=github_rest.list_issue_comments, methods=["GET"]),
        Rule("/repos/<owner>/<repo>/issues/<int:number>/comments",
             endpoint=github_rest.create_issue_comment, methods=["POST"]),
        Rule("/repos/<owner>/<repo>/compare/<path:basehead>", endpoint=github_rest.compare,
             methods=["GET"]),
    ],
    strict_slashes=False,
)


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, *args, **kwargs) -> None:  # state.requests is the log
        return None


class GitHubDouble:
    """Start with `start()`, stop with `stop()`; configure through `.state`."""

    def __init__(self, state: GitHubState | None = None, *,
                 tls: ssl.SSLContext | None = None) -> None:
        """`tls`: serve HTTPS as https://localhost:PORT with this server context (a GHES whose
        certificate a company CA signed), else plain HTTP on 127.0.0.1."""
        self.state = state or GitHubState()
        self._tls = tls
        self.ghes_prefix = ""  # "/github": the GHES host serves everything under that path
        self._servers: dict[str, BaseWSGIServer] = {}
        self._threads: list[threading.Thread] = []
        self.git_backend: Callable[..., Response] | None = None  # set by github_git when loaded

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> GitHubDouble:
        for host in ("web", "api", "ghes"):
            server = make_server("127.0.0.1", 0, self._wsgi(host), threaded=True,
                                 request_handler=_QuietHandler, ssl_context=self._tls)
            self._servers[host] = server
            thread = threading.Thread(target=server.serve_forever, name=f"github-double-{host}",
                                      daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def stop(self) -> None:
        for server in self._servers.values():
            server.shutdown()
            server.server_close()
        for thread in self._threads:
            thread.join(timeout=5)
        self._servers.clear()
        self._threads.clear()

    def _url(self, host: str) -> str:
        port = self._servers[host].server_port
        return f"https://localhost:{port}" if self._tls else f"http://127.0.0.1:{port}"

    @property
    def web_url(self) -> str:
        """github.com (OAuth, git)."""
        return self._url("web")

    @property
    def api_url(self) -> str:
        """api.github.com."""
        return self._url("api")

    @property
    def ghes_url(self) -> str:
        """The GHES host (OAuth, git), under `ghes_prefix`; its API is at ghes_api_url."""
        return self._url("ghes") + self.ghes_prefix

    @property
    def ghes_api_url(self) -> str:
        return self.ghes_url + GHES_API_PREFIX

    def bases(self, layout: str) -> Bases:
        if layout == "ghes":
            return Bases(api=self.ghes_api_url, web=self.ghes_url)
        return Bases(api=self.api_url, web=self.web_url)

    # -- HTTP --------------------------------------------------------------------------------

    def _wsgi(self, host: str) -> Callable:
        @Request.application
        def application(request: Request) -> Response:
            try:
                return self._route(host, request)
            except HTTPException as exc:
                return exc.get_response()
            except Exception as exc:  # a bug in the double must be loud, not a hang
                with self.state.lock:
                    self.state.violations.append(f"double crashed on {request.path}: {exc!r}")
                return Response(f"GitHub double error: {exc!r}", status=500)

        def under_prefix(environ: dict[str, Any], start_response: Callable) -> Iterable[bytes]:
            """The GHES host behind a path: the prefix moves to SCRIPT_NAME, so routing, the
            recorded paths and git's PATH_INFO are the server's own; outside it, 404."""
            prefix = self.ghes_prefix if host == "ghes" else ""
            if prefix:
                path = environ.get("PATH_INFO", "")
                if path != prefix and not path.startswith(prefix + "/"):
                    return NotFound()(environ, start_response)
                environ["SCRIPT_NAME"] = environ.get("SCRIPT_NAME", "") + prefix
                environ["PATH_INFO"] = path[len(prefix):] or "/"
            return application(environ, start_response)

        return under_prefix

    def _route(self, host: str, request: Request) -> Response:
        path = request.path
        if host == "api":
            return self._api(request, "github", path)
        if host == "ghes" and (path == GHES_API_PREFIX or path.startswith(GHES_API_PREFIX + "/")):
            return self._api(request, "ghes", path[len(GHES_API_PREFIX):] or "/")
        layout = "ghes" if host == "ghes" else "github"
        self._record(host, request, path)
        if path == "/login/oauth/authorize":
            return github_oauth.authorize(self.state, request)
        if path == "/login/oauth/access_token":
            return github_oauth.access_token(self.state, request)
        if ".git/" in path and self.git_backend is not None:
            return self.git_backend(self, request, layout)
        raise NotFound()

    def _record(self, host: str, request: Request, path: str) -> RecordedRequest:
        recorded = RecordedRequest(
            host=host, method=request.method, path=path, query=dict(request.args.items()),
            headers=dict(request.headers.items()), body=request.get_data(cache=True),
        )
        with self.state.lock:
            self.state.requests.append(recorded)
        return recorded

    def _api(self, request: Request, layout: str, path: str) -> Response:
        state = self.state
        recorded = self._record("ghes" if layout == "ghes" else "api", request, path)
        call = ApiCall(
            method=request.method, path=path, query=dict(request.args.items()),
            headers={k: v for k, v in request.headers.items()}, body=recorded.body,
            content_type=request.mimetype or "",
        )
        described = is_described(call)
        if described:
            problem = request_problem(call)
            if problem is not None:
                with state.lock:
                    state.violations.append(f"{request.method} {path}: {problem}")
                reply = Reply(422, validation_error("Invalid request.\n\n" + problem))
                return self._finish(recorded, reply, call=None, bases=self.bases(layout))

        bases = self.bases(layout)
        with state.lock:
            reply = self._api_locked(request, layout, path, bases)
        return self._finish(recorded, reply, call=call if described else None, bases=bases)

    def _api_locked(self, request: Request, layout: str, path: str, bases: Bases) -> Reply:
        state = self.state
        login: str | None = None
        auth = request.headers.get("Authorization", "")
        if auth:
            scheme, _, value = auth.partition(" ")
            known = scheme.lower() in {"token", "bearer"}
            token = state.token(value.strip()) if known else None
            if token is None:
                return Reply(401, basic_error("Bad credentials", 401))
            login = token.login

        if state.outage.hits > 0 and state.outage.path in path:
            state.outage.hits -= 1
            return Reply(503, basic_error("Service Unavailable", 503))
        limits = state.rate_limit
        if limits.secondary_hits > 0 and path.endswith(limits.secondary_path):
            limits.secondary_hits -= 1
            return Reply(
                limits.secondary_status,
                basic_error("You have exceeded a secondary rate limit. Please wait a few "
                            "minutes before you try again.", limits.secondary_status),
                {} if limits.retry_after is None else {"Retry-After": str(limits.retry_after)},
            )
        if limits.remaining <= 0:
            who = f"user ID {state.users[login].id}" if login else "127.0.0.1"
            return Reply(403, basic_error(f"API rate limit exceeded for {who}.", 403))
        limits.remaining -= 1

        moved = _moved(state, path)
        if moved is not None:  # GitHub's answer to a renamed or transferred repository
            rest = path.split("/", 4)[4:]  # what follows /repos/OWNER/NAME
            location = f"{bases.api}/repositories/{moved.id}" + "".join(f"/{r}" for r in rest)
            body = {**basic_error("Moved Permanently", 301), "url": location}
            return Reply(301 if request.method == "GET" else 307, body, {"Location": location})
        if state.contract_only and not in_contract(request.method, path):
            return Reply(404, basic_error("Not Found", 404))  # an independent GitHub's gap
        try:
            endpoint, args = API_ROUTES.bind("api").match(path, method=request.method)
        except HTTPException:
            return Reply(404, basic_error("Not Found", 404))
        ctx = ApiContext(state=state, request=request, bases=bases, path=path, login=login)
        reply = endpoint(ctx, **args)
        if reply.status == 200 and request.method == "GET" and reply.body is not None:
            etag = 'W/"' + hashlib.sha256(_dump(reply.body)).hexdigest()[:40] + '"'
            reply.headers["ETag"] = etag
            if request.headers.get("If-None-Match") == etag:
                limits.remaining += 1  # a 304 does not count against the primary limit
                return Reply(304, None, {"ETag": etag})
        if login is not None:
            reply.headers.setdefault("X-OAuth-Scopes", ", ".join(self._scopes(auth)))
        return reply

    def _scopes(self, auth: str) -> Iterable[str]:
        token = self.state.tokens.get(auth.partition(" ")[2].strip())
        return token.scopes if token else []

    def _finish(self, recorded: RecordedRequest, reply: Reply, *, call: ApiCall | None,
                bases: Bases) -> Response:
        limits = self.state.rate_limit
        headers = {
            "X-RateLimit-Limit": str(limits.limit),
            "X-RateLimit-Remaining": str(max(limits.remaining, 0)),
            "X-RateLimit-Reset": str(limits.reset_at),
            "X-RateLimit-Used": str(limits.used),
            "X-RateLimit-Resource": "core",
            "X-GitHub-Media-Type": "github.v3; format=json",
            **reply.headers,
        }
        body = b"" if reply.body is None else _dump(reply.body)
        content_type = JSON if reply.body is not None else ""
        if call is not None:
            problem = response_problem(call, reply.status, body, headers, "application/json")
            if problem is not None:
                with self.state.lock:
                    self.state.violations.append(
                        f"response to {call.method} {call.path} ({reply.status}): {problem}"
                    )
                reply = Reply(500, basic_error("GitHub double built an invalid response", 500))
                body, content_type = _dump(reply.body), JSON
        recorded.status = reply.status
        response = Response(body, status=reply.status, headers=headers)
        if content_type:
            response.headers["Content-Type"] = content_type
        return response


def _moved(state: GitHubState, path: str) -> GitHubRepo | None:
    """The repository a /repos/OWNER/NAME/... path names by its old name, if it moved."""
    parts = path.split("/")
    if len(parts) < 4 or parts[1] != "repos" or (parts[2], parts[3]) in state.repos:
        return None
    repo_id = state.moved.get((parts[2], parts[3]))
    return next((r for r in state.repos.values() if r.id == repo_id), None)


def _dump(payload: Any) -> bytes:
    return json.dumps(payload, separators=(",", ":")).encode()

