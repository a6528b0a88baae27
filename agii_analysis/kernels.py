"""One warm Jupyter kernel per process, reused by every notebook that process executes.

Starting a kernel and importing pandas, matplotlib and the report modules in it costs
about 1.3 CPU-seconds, a third of a report (docs/performance.md). A build executes many
notebooks, so each build process keeps one kernel: before every notebook its namespace
is reset to that of a fresh kernel (no user variables, execution count 1, no open
figures, matplotlib's settings and the warning filters as at start, pandas' default
options, the working directory of the run); imported
modules stay, which is the saving. A kernel that died or does not answer the reset is
replaced. `AGII_FRESH_KERNEL=1` gives every notebook a new kernel instead.
"""

from __future__ import annotations

import atexit
import functools
import os
import queue
import threading
import time
from multiprocessing import util as _mp_util

_RESET = """\
get_ipython().reset(new_session=False)
get_ipython().execution_count = 1
import os as _os
import warnings as _warnings
import matplotlib as _mpl
import matplotlib.pyplot as _plt
import pandas as _pd
_os.chdir({cwd!r})
_plt.close("all")
if not hasattr(get_ipython(), "_agii_start"):
    get_ipython()._agii_start = (_mpl.rcParams.copy(), list(_warnings.filters))
_mpl.rcParams.update(get_ipython()._agii_start[0])
_warnings.filters[:] = get_ipython()._agii_start[1]
getattr(_warnings, "_filters_mutated", lambda: None)()  # what resetwarnings() calls
with _warnings.catch_warnings():  # pandas' defaults: nothing the kernel imports sets an option
    _warnings.simplefilter("ignore")
    _pd.reset_option("all")
del _os, _warnings, _mpl, _plt, _pd
"""
# imported while the kernel waits for its first notebook (the run's parent is busy computing)
_WARM_UP = "import agii_analysis.report\n"

_lock = threading.Lock()
_stopping = threading.Event()  # set by shutdown(): waits on the kernel give up
_state: dict = {"km": None, "pid": None}
_inherited: list = []  # a forked child's copy of its parent's manager: kept, never used or collected


def _after_fork_in_child() -> None:
    """A forked child starts without a kernel: a new lock (the parent's may have been held
    by a starter thread at the fork), and the parent's manager put aside, so collecting
    it cannot remove the parent's connection file."""
    global _lock, _stopping
    _lock, _stopping = threading.Lock(), threading.Event()
    if _state.get("km") is not None:
        _inherited.append(_state["km"])
    _state.update(km=None, pid=None)


os.register_at_fork(after_in_child=_after_fork_in_child)


def fresh_kernels() -> bool:
    return os.environ.get("AGII_FRESH_KERNEL", "") not in ("", "0")


def _run(coro_fn, *args, **kwargs):
    from jupyter_core.utils import run_sync

    return run_sync(coro_fn)(*args, **kwargs)


def start(cwd: str, extra_arguments: list[str]) -> None:
    """Start this process's kernel now (it warms up in the background)."""
    if fresh_kernels():
        return
    with _lock:
        _ensure(cwd, extra_arguments)


def start_async(cwd: str, extra_arguments: list[str]) -> None:
    """Start the kernel in a helper thread, so it warms up while this process computes.

    What the thread and the notebook run will import is imported here first, in the
    calling thread: two threads importing the Jupyter stack side by side once hung a run
    for good on the import locks (the main thread in `import papermill`, the helper in
    jupyter_client), where no signal could end it."""
    if fresh_kernels() or (_state["km"] is not None and _state["pid"] == os.getpid()):
        return
    import jupyter_core.utils  # noqa: F401
    import papermill  # noqa: F401 - nbclient, nbformat and jupyter_client with it

    _manager_class()
    threading.Thread(target=_start_quietly, args=(cwd, extra_arguments), daemon=True).start()


def _start_quietly(cwd: str, extra_arguments: list[str]) -> None:
    try:
        start(cwd, extra_arguments)
    except Exception:  # acquire() starts it again and reports what goes wrong
        pass


def _ensure(cwd: str, extra_arguments: list[str]):
    km = _state["km"]
    if km is not None and _state["pid"] == os.getpid():
        if _run(km.is_alive):
            return km
        shutdown()  # died: release what is left of it before starting another
    km = _manager_class()(kernel_name="python3")
    _stopping.clear()
    _run(km.start_kernel, extra_arguments=list(extra_arguments), cwd=cwd)
    _state.update(km=km, pid=os.getpid())
    try:
        _execute(km, _WARM_UP, timeout=120)
    except Exception:  # a warm-up that fails costs only its time: the notebook imports again
        pass
    return km


def settle() -> None:
    """Wait for a kernel start in progress (before this process forks workers)."""
    with _lock:
        pass


def _manager_class():
    from jupyter_client.asynchronous import AsyncKernelClient
    from jupyter_client.manager import AsyncKernelManager

    class Client(AsyncKernelClient):
        """The client papermill opens on the warm kernel for each notebook.

        Ready, as in jupyter_client, once the kernel answered a kernel_info request on
        the shell channel and a message came in on IOPub (so IOPub is connected);
        jupyter_client then also waits until IOPub has been silent for 0.2 s, which is
        all of the time a notebook of a warm kernel spends starting and does nothing
        for nbclient, which matches every IOPub message to its own request.
        """

        async def wait_for_ready(self, timeout: float | None = None) -> None:
            deadline = time.monotonic() + (timeout if timeout is not None else float("inf"))
            while True:
                self.kernel_info()
                try:
                    msg = await self.shell_channel.get_msg(timeout=1)
                except queue.Empty:
                    pass
                else:
                    if msg["msg_type"] == "kernel_info_reply":
                        try:
                            await self.iopub_channel.get_msg(timeout=0.2)
                        except queue.Empty:
                            pass
                        else:
                            self._handle_kernel_info_reply(msg)
                            return
                if not await self._async_is_alive():
                    raise RuntimeError("Kernel died before replying to kernel_info")
                if time.monotonic() > deadline:
                    raise RuntimeError(f"Kernel didn't respond in {timeout:.0f} seconds")

    class Manager(AsyncKernelManager):
        """Remembers the clients papermill opens on it, to close them after each notebook."""

        def client(self, **kwargs):
            kc = super().client(**kwargs)
            self.__dict__.setdefault("_agii_clients", []).append(kc)
            return kc

    return functools.partial(Manager, client_factory=Client)


def release(km) -> None:
    """Close the channels a notebook's client left open on the warm kernel."""
    if km is None:
        return
    for kc in km.__dict__.pop("_agii_clients", []):
        try:
            kc.stop_channels()
        except Exception:  # already closed
            pass


def _execute(km, code: str, timeout: float = 60) -> None:
    """Run code in the kernel without output or history; raise when it fails. Waits in
    short steps, so that shutdown() (a terminated run) ends the wait at once: a thread
    left waiting with open sockets would hold up the process's exit."""
    kc = km.blocking_client()
    kc.start_channels()
    try:
        msg_id = kc.execute(code, silent=True, store_history=False)
        deadline = time.monotonic() + timeout
        while True:
            if _stopping.is_set():
                raise RuntimeError("the kernel is being shut down")
            if time.monotonic() > deadline:
                raise TimeoutError(f"no answer from the kernel within {timeout:.0f} s")
            try:
                reply = kc.get_shell_msg(timeout=0.2)
            except queue.Empty:
                continue
            if reply.get("parent_header", {}).get("msg_id") == msg_id:
                break
        if reply["content"].get("status") != "ok":
            raise RuntimeError(f"{reply['content'].get('ename')}: {reply['content'].get('evalue')}")
    finally:
        kc.stop_channels()


def acquire(cwd: str, extra_arguments: list[str]):
    """The warm kernel's manager, reset for a new notebook (None: use a fresh kernel)."""
    if fresh_kernels():
        return None
    with _lock:
        km = _ensure(cwd, extra_arguments)
        try:
            _execute(km, _RESET.format(cwd=cwd))
        except Exception:  # a kernel that cannot be reset is replaced by a new one
            shutdown()
            km = _ensure(cwd, extra_arguments)
            _execute(km, _RESET.format(cwd=cwd))
        return km


def shutdown() -> None:
    """Stop this process's kernel (at exit, and after a failure); a warm-up or reset
    waiting on it stops waiting."""
    _stopping.set()
    km = _state.get("km")
    _state.update(km=None, pid=None)
    if km is None:
        return
    try:
        _run(km.shutdown_kernel, now=True)
    except Exception:  # already gone
        pass


def _at_exit() -> None:
    if _state.get("pid") == os.getpid():
        shutdown()


def shut_down_at_worker_exit() -> None:
    """For a pool worker (call it in the worker): it leaves through os._exit, which skips
    atexit, and a forked child starts with no finalizers, so register one now."""
    _mp_util.Finalize(None, _at_exit, exitpriority=10)


atexit.register(_at_exit)
