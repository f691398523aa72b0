"""Git smart HTTP for the GitHub double: `git http-backend` (CGI) behind GitHub's token auth.

Both layouts serve `/<owner>/<repo>.git/...` at the web root (github.com and GHES alike).
Credentials are what GitHub accepts: HTTP Basic with the token as password (any user name, e.g.
`x-access-token`), or `Authorization: Bearer|token <token>` as given by `http.extraHeader`.
- fetch: public repositories anonymously; private ones need a token with read access (else a
  401 challenge, then 404 for a token without access, as GitHub hides private repositories);
- push: a token with write access, else 403; `repo.push_rejection` makes the server's
  pre-receive hook refuse every push with that message (like a protected branch).
"""

from __future__ import annotations

import base64
import os
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING

from werkzeug.wrappers import Request, Response

if TYPE_CHECKING:
    from tests.support.github_double import GitHubDouble

HTTP_BACKEND = "/usr/lib/git-core/git-http-backend"
PRE_RECEIVE = """#!/bin/sh
# Installed by the GitHub double: refuse pushes while GITHUB_DOUBLE_REJECT is set.
if [ -n "$GITHUB_DOUBLE_REJECT" ]; then
  echo "error: GH006: Protected branch update failed. $GITHUB_DOUBLE_REJECT" >&2
  exit 1
fi
exit 0
"""
CGI_TIMEOUT_SECONDS = 60


def install(double: GitHubDouble) -> None:
    """Make `double` serve /OWNER/REPO.git/* through `git http-backend`."""
    double.git_backend = serve


def prepare_bare(bare_dir: Path) -> None:
    """Enable pushes over HTTP and the rejecting pre-receive hook in a bare repository."""
    subprocess.run(["git", "-C", str(bare_dir), "config", "http.receivepack", "true"], check=True)
    hook = bare_dir / "hooks" / "pre-receive"
    hook.parent.mkdir(exist_ok=True)
    hook.write_text(PRE_RECEIVE)
    hook.chmod(0o755)


def _token(request: Request) -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "basic":
        try:
            _, _, password = base64.b64decode(value).decode().partition(":")
        except ValueError:
            return None
        return password or None
    if scheme.lower() in {"bearer", "token"}:
        return value.strip() or None
    return None


def _challenge() -> Response:
    return Response("Authentication required\n", status=401,
                    headers={"WWW-Authenticate": 'Basic realm="GitHub"'})


def serve(double: GitHubDouble, request: Request, layout: str) -> Response:
    state = double.state
    repo_part, _, rest = request.path.lstrip("/").partition(".git/")
    owner, _, name = repo_part.partition("/")
    pushing = (request.args.get("service") == "git-receive-pack"
               or rest == "git-receive-pack")
    token_value = _token(request)
    with state.lock:
        repo = state.repos.get((owner, name))
        login = None
        if token_value is not None:
            token = state.token(token_value)
            if (token is None or state.git_refuses_tokens
                    or token_value in state.git_refused_tokens):
                return _challenge()
            login = token.login
        if repo is None or repo.git_dir is None:
            return Response("Repository not found.\n", status=404)
        role = state.role(login, repo)
        if role is None:
            return _challenge() if login is None else Response("Repository not found.\n",
                                                               status=404)
        if pushing:
            if login is None:
                return _challenge()
            if role not in {"write", "maintain", "admin"}:
                return Response(f"Permission to {repo.full_name}.git denied to {login}.\n",
                                status=403)
        git_dir = repo.git_dir
        rejection = repo.push_rejection
    return _run_backend(request, git_dir, rest, login, rejection)


def _run_backend(request: Request, git_dir: Path, rest: str, login: str | None,
                 rejection: str | None) -> Response:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "GIT_PROJECT_ROOT": str(git_dir.parent),
        "GIT_HTTP_EXPORT_ALL": "1",
        "PATH_INFO": f"/{git_dir.name}/{rest}",
        "QUERY_STRING": request.query_string.decode(),
        "REQUEST_METHOD": request.method,
        "CONTENT_TYPE": request.headers.get("Content-Type", ""),
        "REMOTE_USER": login or "",
        "REMOTE_ADDR": "127.0.0.1",
        "GIT_CONFIG_NOSYSTEM": "1",
        "HOME": str(git_dir),
    }
    if rejection:
        env["GITHUB_DOUBLE_REJECT"] = rejection
    for header in ("Content-Encoding", "Git-Protocol"):
        if header in request.headers:
            env["HTTP_" + header.upper().replace("-", "_")] = request.headers[header]
    body = request.get_data()
    env["CONTENT_LENGTH"] = str(len(body))
    completed = subprocess.run([HTTP_BACKEND], input=body, env=env, capture_output=True,
                               timeout=CGI_TIMEOUT_SECONDS, check=False)
    out = completed.stdout
    ends = [(out.find(sep), sep) for sep in (b"\r\n\r\n", b"\n\n") if sep in out]
    if completed.returncode != 0 and not ends:
        return Response(completed.stderr, status=500)
    index, sep = min(ends) if ends else (len(out), b"")
    head, payload = out[:index], out[index + len(sep):]
    status, headers = 200, {}
    for line in head.decode("latin-1").splitlines():
        key, _, value = line.partition(":")
        if key.lower() == "status":
            status = int(value.strip().split()[0])
        elif key:
            headers[key.strip()] = value.strip()
    return Response(payload, status=status, headers=headers)
