"""What is process-wide: the PKCS#11 library, loaded once, and the one thread that uses it.

python-pkcs11 initialises the library without OS locking, so every call, including the ones
pyHanko makes while signing, runs on one process-wide thread.
"""

from __future__ import annotations

import asyncio
import functools
import os
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, ParamSpec, TypeVar

import pkcs11
from pkcs11 import exceptions as p11

from hbs_signing.token.errors import plain_error

_T = TypeVar("_T")
_P = ParamSpec("_P")

# The token thread: one worker for the whole process, since the library itself is process-wide.
_executor_lock = threading.Lock()
_executor: ThreadPoolExecutor | None = None
_thread_state = threading.local()
LOADED_CONF: dict[str, str | None] = {}


async def on_token_thread(function: Callable[_P, _T], *args: _P.args, **kwargs: _P.kwargs) -> _T:
    global _executor
    with _executor_lock:
        if _executor is None:
            _executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="hbs-token")
        executor = _executor
    loop = asyncio.get_running_loop()
    call = functools.partial(_plain_errors, functools.partial(function, *args, **kwargs))
    return await loop.run_in_executor(executor, call)


def _plain_errors(call: Callable[[], _T]) -> _T:
    # Callers handle TokenError only; a raw PKCS#11 error (device gone, session lost) is one too.
    try:
        return call()
    except p11.PKCS11Error as error:
        raise plain_error(error, "the token operation failed") from error


class _InlineExecutor(ThreadPoolExecutor):
    """Runs submitted work at once on the calling thread, so pyHanko's executor calls stay here."""

    def submit(self, fn: Callable[_P, _T], /, *args: _P.args, **kwargs: _P.kwargs) -> Future[_T]:
        future: Future[_T] = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as error:
            future.set_exception(error)
        return future


def run_on_token_loop(coroutine: Any) -> Any:
    # pyHanko's PKCS11Signer signs via run_in_executor(None, ...): with the stock default
    # executor (as sync sign_pdf's asyncio.run would give) the key would be used off this thread.
    loop: asyncio.AbstractEventLoop | None = getattr(_thread_state, "loop", None)
    if loop is None:
        loop = asyncio.new_event_loop()
        loop.set_default_executor(_InlineExecutor(max_workers=1))
        _thread_state.loop = loop
    return loop.run_until_complete(coroutine)


def load_library(module_path: str) -> Any:
    try:
        library = pkcs11.lib(module_path)
    except p11.PKCS11Error as error:
        raise plain_error(error, f"cannot load the PKCS#11 library {module_path}") from error
    LOADED_CONF.setdefault(module_path, os.environ.get("SOFTHSM2_CONF"))
    return library
