"""One checkout for the attempts of a worker that start on the same commit at once.

The siblings of a best-of-N task start together on the same branch, and each checked out the
same commit and packed it for its container: on the 7,000-file repository here, three at once took
4.0–4.6 s each, against ≈ 2 s for one alone. Now the first checks out into a folder of its own
(`codexweb-checkout-*`) and the others wait for it and copy that tree; the last of them to have
its copy in its container removes it. The tar those containers copy in is packed once too
(`shared_archive`).

A tree is shared only between attempts that would have made the very same one (same repository,
ref and commit) and that never change it: a follow-up applies its parent's patch to a checkout
of its own (tasks/worker/workspace.py). When the first one's checkout fails, the others make their
own (and say their own reason if it fails again).
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from pathlib import Path

from repos.git.mirror import GitError, mirror_commit
from repos.git.workspace import checkout_ref
from repos.models import Repository
from tasks.sandbox.base import SandboxError
from tasks.sandbox.workspace_archive import pack_workspace
from tasks.worker.host_folder import HostFolder

logger = logging.getLogger(__name__)

# A sibling waits this long for the first one's checkout, then makes its own.
WAIT_SECONDS = 600.0

Key = tuple[int, str, str]  # repository, ref, commit


@dataclass
class _Checkout:
    key: Key
    folder: HostFolder
    ready: threading.Event = field(default_factory=threading.Event)
    commit: str | None = None  # set when the tree is whole; None when the checkout failed
    users: int = 0
    packing: threading.Lock = field(default_factory=threading.Lock)
    packed: bool = False  # packing was tried; `archive` is None when it failed
    archive: Path | None = None

    @property
    def tree(self) -> Path:
        return self.folder.path / "workspace"


_lock = threading.Lock()
_checkouts: dict[Key, _Checkout] = {}


class CheckoutLease:
    """One attempt's use of a shared tree, held by its HostFolder: released when its container
    has the copy (or the attempt ends); the last release removes the tree."""

    def __init__(self, checkout: _Checkout) -> None:
        self._checkout = checkout
        self._released = False
        self._last = False

    def release(self) -> None:
        if self._released:
            return
        self._released = True
        checkout = self._checkout
        with _lock:
            checkout.users -= 1
            self._last = checkout.users == 0
            if self._last and _checkouts.get(checkout.key) is checkout:
                del _checkouts[checkout.key]
        if self._last:
            checkout.folder.release()

    def close(self) -> None:
        self.release()
        if self._last:
            self._checkout.folder.close()


def pristine_checkout(repository: Repository, *, ref: str, folder: HostFolder) -> tuple[Path, str]:
    """A checkout of `ref` (its tree, its commit) that nothing will change, read only until
    `folder` is released: one another attempt of this worker is making or has made of the same
    commit, else a new one. Raises PrepareError as repos.git.workspace.checkout_ref."""
    try:
        commit = mirror_commit(repository, ref)
    except GitError:  # unknown ref: checkout_ref says so in its words
        return _own_checkout(repository, ref=ref, folder=folder)
    checkout, making = _join((repository.pk, ref, commit))
    lease = CheckoutLease(checkout)
    folder.hold(lease)
    if making:
        try:
            checkout.commit = checkout_ref(repository, ref=ref, dest=checkout.tree)
        finally:
            if checkout.commit is None:
                _forget(checkout)  # later ones make their own instead of joining a failure
            checkout.ready.set()
        return checkout.tree, checkout.commit
    if not checkout.ready.wait(WAIT_SECONDS):
        logger.warning("the checkout of %s at %s took over %.0f s; making another",
                       repository.full_name, commit[:12], WAIT_SECONDS)
    elif checkout.commit == commit:
        return checkout.tree, commit
    lease.release()
    return _own_checkout(repository, ref=ref, folder=folder)


def shared_archive(tree: Path) -> Path | None:
    """The tar of the shared tree `tree` that its attempts' containers copy in
    (tasks/sandbox/workspace_archive.py), packed by the first of them to ask, while the others
    wait: three siblings each wrote the same 58 MB tar of the 7,000-file repository at the same
    moment. It lives in the tree's folder and goes with it. None when `tree` is an attempt's own
    (its sandbox packs it) or packing failed (each sandbox packs its own and says why)."""
    with _lock:
        checkout = next(
            (made for made in _checkouts.values() if made.commit and made.tree == tree), None
        )
    if checkout is None:
        return None
    with checkout.packing:
        if not checkout.packed:
            checkout.packed = True
            target = checkout.folder.path / "workspace.tar"
            try:
                with target.open("xb") as out:
                    pack_workspace(checkout.tree, out)
            except (SandboxError, OSError):
                logger.warning("cannot pack the shared checkout %s; each attempt packs its own",
                               tree, exc_info=True)
            else:
                checkout.archive = target
    return checkout.archive


def _join(key: Key) -> tuple[_Checkout, bool]:
    """The checkout under way or made for `key`, counting one more user; whether to make it."""
    with _lock:
        checkout = _checkouts.get(key)
        making = checkout is None
        if checkout is None:
            checkout = _checkouts[key] = _Checkout(
                key=key, folder=HostFolder(prefix=f"codexweb-checkout-{key[0]}-")
            )
        checkout.users += 1
    return checkout, making


def _forget(checkout: _Checkout) -> None:
    with _lock:
        if _checkouts.get(checkout.key) is checkout:
            del _checkouts[checkout.key]


def _own_checkout(repository: Repository, *, ref: str, folder: HostFolder) -> tuple[Path, str]:
    tree = folder.path / "workspace"
    return tree, checkout_ref(repository, ref=ref, dest=tree)


def shared_checkouts() -> int:
    """How many shared trees this process holds now (for tests and diagnostics)."""
    with _lock:
        return len(_checkouts)
