"""Egress for sandboxes: a host-side mitmproxy per attempt phase, enforcing the network policy.

`policy.py` is pure (stdlib only) and shared by the proxy addon and the worker; `addon.py` runs
inside `.venv-proxy`'s mitmdump; `proxy.py` starts and stops that process from the worker.
"""
