"""Run one train / test step in a fresh process.

Why a process per step and not a plain call: mmengine keeps per-run
singletons (``MMLogger``, ``Visualizer``, ``MessageHub``) named after the
config and the second the run started, so two runs of one config started
within the same second in one process share them (the second run logs into
the first one's files); a finished run's model, optimiser state and
dataloader workers are only freed with its process; and a fresh process
starts every step from the global state the train / test command starts from
(RNG, torch threads, the registries' default scope), so a step gives the
numbers the command gives. 'spawn' (not fork): a forked child would inherit
the parent's torch threads and whatever state the earlier steps left.
"""
import multiprocessing as mp
import os
import pickle
import threading
import time
import traceback
from typing import Any, Callable


class StepError(RuntimeError):
    """Carries the traceback of a step that failed in its process."""


def _exit_with(parent: int, every: float = 2.0) -> None:
    """End this process when its parent is gone (killed): a step nobody
    waits for would go on computing (the child cannot be a daemon, as its
    dataloader workers are its own children)."""
    def watch():
        while os.getppid() == parent:
            time.sleep(every)
        os._exit(1)

    threading.Thread(target=watch, daemon=True).start()


def _child(conn, parent: int, fn: Callable, args: tuple,
           kwargs: dict) -> None:
    _exit_with(parent)
    try:
        out = ('ok', fn(*args, **kwargs), None)
    except BaseException as exc:  # noqa: BLE001 - handed to the parent
        text = traceback.format_exc()
        try:
            pickle.dumps(exc)
        except Exception:  # noqa: BLE001 - an exception pickle cannot carry
            exc = StepError(f'{type(exc).__name__}: {exc}')
        out = ('error', exc, text)
    conn.send(out)
    conn.close()


def run_isolated(fn: Callable, *args, **kwargs) -> Any:
    """``fn(*args, **kwargs)`` in a fresh 'spawn' process.

    ``fn`` must be importable by name (a module-level function); the child
    inherits ``sys.path`` and the environment, and prints to the same
    terminal. As for every 'spawn' process (and PyTorch's dataloader
    workers under it), the child imports the caller's main script: a script
    that runs steps must keep its work under
    ``if __name__ == '__main__':``.

    Returns:
        What ``fn`` returned.

    Raises:
        The exception ``fn`` raised (its traceback in the child chained as
        a :class:`StepError`), or ``ChildProcessError`` when the process
        died without an answer (e.g. killed for memory).
    """
    ctx = mp.get_context('spawn')
    receive, send = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_child,
                       args=(send, os.getpid(), fn, args, kwargs))
    proc.start()
    send.close()
    try:
        status, payload, text = receive.recv()
    except EOFError:
        proc.join()
        raise ChildProcessError(
            f'the step process of {fn.__name__} ended without a result (exit '
            f'code {proc.exitcode}): killed (e.g. for memory), or it failed '
            'on start (its error is printed above; a script that runs steps '
            "must keep its work under `if __name__ == '__main__':`)"
        ) from None
    finally:
        receive.close()
    proc.join()
    if status == 'ok':
        return payload
    raise payload from StepError(f'in the step process:\n{text}')
