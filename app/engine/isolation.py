"""Scripts that may loop or call run in sandbox processes: a budget the kernel enforces.

The work budget of `scripting` counts the loops a script writes and `limits` checks the C calls
it can foresee, but a thread cannot interrupt one long call into C (`sum(range(10 ** 6))` three
hundred times over) and it holds the GIL while it runs. So such code runs in a small pool of
separate interpreters (`sandbox_worker.py`), started on first use with `subprocess` — a fresh
interpreter, never a fork of a threaded server — that import the sandbox alone (not Flask, not
the database) and cap their own memory (RLIMIT_AS) and CPU time (RLIMIT_CPU, a backstop).

The caller sends (kind, source, data, settings) pickled over a pipe and waits for the answer in
`poll`, which releases the GIL, so the other threads of the worker go on serving. Past the
budget plus a margin the process is killed (SIGKILL) and replaced on next use, and the script
fails with the reason; so does one that ran out of memory or died. The pool grows to as many
processes as threads run scripts at once, up to `MAX_PROCESSES`.

What comes back is unpickled with an allow-list of classes (task-data types and exceptions):
even a script that escaped the sandbox in its process cannot hand this one an object to run.
"""
from __future__ import annotations

import atexit
import builtins
import decimal
import io
import os
import pickle
import select
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from app.engine.limits import SandboxViolation
from app.engine.said import Said, said

WORKER = Path(__file__).resolve().with_name("sandbox_worker.py")
MAX_PROCESSES = 8  # sandbox processes per server process: one per thread running a script at once
MEMORY_MB = 1024  # address space of each sandbox process
KILL_MARGIN = 1.0  # seconds past the script's budget before its process is killed
STARTUP_SECONDS = 60.0  # a fresh interpreter importing the sandbox (~0.2 s; more on a loaded machine)
PROTOCOL = pickle.HIGHEST_PROTOCOL
MAX_FRAME_BYTES = 256 * 1024 * 1024  # an answer larger than this is never read into memory
_HEADER = struct.Struct("!Q")
# What a child may pass its environment: no secrets, no database URL.
_PASSED_ENVIRONMENT = ("TZ", "LANG", "LC_ALL", "LC_CTYPE")


class SandboxDied(Exception):
    """The sandbox process ended without answering (killed by the kernel or by its CPU limit)."""


class SandboxTimeout(Exception):
    """The sandbox process did not answer within its deadline."""


class Opaque:
    """An expression's value that is not data (a match object, a function, an iterator): what
    the caller can still use of it — its truth, for a condition — and how it looks."""

    def __init__(self, type_name: str, truth: bool, text: str) -> None:
        self.type_name, self.truth, self.text = type_name, truth, text

    def __bool__(self) -> bool:
        return self.truth

    def __repr__(self) -> str:
        return self.text

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Opaque) and (self.type_name, self.text) == (other.type_name, other.text)

    __hash__ = None  # type: ignore[assignment]


# -- reading what a sandbox process sends -----------------------------------------------------------
def _allowed_globals() -> frozenset[tuple[str, str]]:
    data = ("dict", "list", "tuple", "set", "frozenset", "str", "bytes", "bytearray", "int", "float", "complex",
            "bool", "range", "slice")
    exceptions = [name for name, value in vars(builtins).items()
                  if isinstance(value, type) and issubclass(value, BaseException)]
    decimals = [name for name, value in vars(decimal).items()
                if isinstance(value, type) and (value is decimal.Decimal or issubclass(value, ArithmeticError))]
    return frozenset({*(("builtins", n) for n in (*data, *exceptions)), *(("decimal", n) for n in decimals),
                      *(("datetime", n) for n in ("date", "datetime", "time", "timedelta", "timezone")),
                      ("uuid", "UUID"), ("uuid", "SafeUUID"), ("app.engine.limits", "SandboxViolation"),
                      ("app.engine.isolation", "Opaque"), ("json.decoder", "JSONDecodeError"),
                      ("regex._regex_core", "error"), ("re", "error")})


ALLOWED_GLOBALS = _allowed_globals()


class _SafeUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in ALLOWED_GLOBALS:
            raise pickle.UnpicklingError(said("%(module)s.%(name)s is not something a script's result may hold",
                                              module=module, name=name))
        return super().find_class(module, name)


def safe_loads(data: bytes) -> Any:
    """Unpickle data that came from a sandbox process: task-data types and exceptions only."""
    return _SafeUnpickler(io.BytesIO(data)).load()


def dumps(value: Any) -> bytes:
    return pickle.dumps(value, PROTOCOL)


# -- frames: an 8-byte length, then a pickle ----------------------------------------------------------
def write_frame(fd: int, payload: bytes) -> None:
    view = memoryview(_HEADER.pack(len(payload)) + payload)
    while view:
        view = view[os.write(fd, view):]


_CLOSED_MIDWAY = said("the sandbox process closed its pipe in the middle of an answer")


def read_frame(fd: int, deadline: float | None = None) -> bytes | None:
    """One frame from `fd`; None at end of file before a frame starts. With a deadline (time.monotonic),
    waits in poll() and raises SandboxTimeout past it."""
    poller = None
    if deadline is not None:
        poller = select.poll()
        poller.register(fd, select.POLLIN | select.POLLHUP | select.POLLERR)
    header = _read_exactly(fd, _HEADER.size, deadline, poller)
    if header is None:
        return None
    (size,) = _HEADER.unpack(header)
    if size > MAX_FRAME_BYTES:  # more than any task data a state can hold: a broken or hostile child
        raise SandboxDied(said("the sandbox process announced an answer of %(size)s bytes", size=f"{size:,}"))
    body = _read_exactly(fd, size, deadline, poller)
    if body is None:
        raise SandboxDied(_CLOSED_MIDWAY)
    return body


def _read_exactly(fd: int, size: int, deadline: float | None, poller: Any) -> bytes | None:
    chunks: list[bytes] = []
    missing = size
    while missing:
        if poller is not None:
            remaining = deadline - time.monotonic()  # type: ignore[operator]
            if remaining <= 0 or not poller.poll(max(int(remaining * 1000), 1)):
                if time.monotonic() >= deadline:  # type: ignore[operator]
                    raise SandboxTimeout
                continue
        chunk = os.read(fd, min(missing, 1 << 20))
        if not chunk:
            if missing == size and not chunks:
                return None
            raise SandboxDied(_CLOSED_MIDWAY)
        chunks.append(chunk)
        missing -= len(chunk)
    return b"".join(chunks)


# -- one sandbox process ----------------------------------------------------------------------------
class SandboxProcess:
    """A child interpreter running `sandbox_worker.py`, spoken to over its stdin and stdout."""

    def __init__(self) -> None:
        env = {name: os.environ[name] for name in _PASSED_ENVIRONMENT if name in os.environ}
        env["LOANFLOW_SANDBOX_MEMORY_MB"] = str(MEMORY_MB)
        self.process = subprocess.Popen(  # our own interpreter and file
            [sys.executable, "-I", "-B", str(WORKER)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            bufsize=0, close_fds=True, start_new_session=True, env=env, cwd="/")
        assert self.process.stdin is not None and self.process.stdout is not None
        self._to, self._from = self.process.stdin.fileno(), self.process.stdout.fileno()
        try:
            ready = read_frame(self._from, time.monotonic() + STARTUP_SECONDS)
        except (SandboxTimeout, SandboxDied):
            ready = None
        if ready is None or safe_loads(ready) != "ready":
            self.kill()
            raise SandboxViolation(said("the script sandbox process did not start"))

    def alive(self) -> bool:
        return self.process.poll() is None

    def call(self, request: bytes, seconds: float) -> dict[str, Any]:
        """Send one request; its answer, or SandboxTimeout / SandboxDied."""
        try:
            write_frame(self._to, request)
        except OSError as exc:
            raise SandboxDied(said("the sandbox process is gone (%(why)s)", why=f"{exc}")) from None
        answer = read_frame(self._from, time.monotonic() + seconds)
        if answer is None:
            raise SandboxDied(self.exit_reason())
        return safe_loads(answer)

    def exit_reason(self) -> str:
        try:
            code = self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            return said("the sandbox process stopped answering")
        if code == -24:  # SIGXCPU: its CPU-time backstop
            return said("the script used more CPU time than its budget")
        if code < 0:
            return said("the sandbox process ended (signal %(signal)s)", signal=str(-code))
        return said("the sandbox process ended (exit code %(code)s)", code=str(code))

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.close()

    def close(self, timeout: float = 2.0) -> None:
        """Close its pipes (an idle child exits at end of input) and reap it."""
        for stream in (self.process.stdin, self.process.stdout):
            if stream is not None:
                stream.close()
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


# -- the pool -------------------------------------------------------------------------------------
class SandboxPool:
    """Sandbox processes shared by the threads of one server process (thread-safe)."""

    def __init__(self, size: int = MAX_PROCESSES, start: Callable[[], SandboxProcess] = SandboxProcess) -> None:
        self.size, self._start = size, start
        self.pid = os.getpid()
        self._idle: list[SandboxProcess] = []
        self._count = 0
        self._changed = threading.Condition()
        self.started = 0  # processes started in all (replacements included): for tests and figures

    def run(self, request: bytes, seconds: float) -> dict[str, Any]:
        """The answer to `request`, or a SandboxViolation saying why the script was stopped."""
        child = self._acquire()
        healthy = False
        try:
            answer = child.call(request, seconds + KILL_MARGIN)
            healthy = not answer.get("retire")
            return answer
        except SandboxTimeout:
            child.kill()
            raise SandboxViolation(said("the script ran longer than %(seconds)s s and was stopped",
                                        seconds=f"{seconds:g}")) from None
        except SandboxDied as died:
            child.kill()
            raise SandboxViolation(said("the script was stopped: %(why)s", why=_said_of(died))) from None
        finally:
            self._release(child, healthy)

    def _acquire(self) -> SandboxProcess:
        with self._changed:
            while True:
                while self._idle:
                    child = self._idle.pop()
                    if child.alive():
                        return child
                    self._count -= 1
                    child.close()
                if self._count < self.size:
                    self._count += 1
                    break
                self._changed.wait()
        try:
            child = self._start()
        except BaseException:
            with self._changed:
                self._count -= 1
                self._changed.notify()
            raise
        self.started += 1
        return child

    def _release(self, child: SandboxProcess, healthy: bool) -> None:
        if not healthy:
            child.kill()
        with self._changed:
            if healthy:
                self._idle.append(child)
            else:
                self._count -= 1
            self._changed.notify()

    def close(self) -> None:
        with self._changed:
            idle, self._idle = self._idle, []
            self._count -= len(idle)
        for child in idle:
            child.close()


def _said_of(exc: BaseException) -> str:
    """What an exception says: its text, still said when it was."""
    first = exc.args[0] if len(exc.args) == 1 else None
    return first if isinstance(first, Said) and first == str(exc) else f"{exc}"


_pool: SandboxPool | None = None
_pool_lock = threading.Lock()
_inherited: list[SandboxPool] = []  # pools a forked process inherited: their children are its parent's


def pool() -> SandboxPool:
    """This process's pool, made on first use (never at import, and anew after a fork)."""
    global _pool
    with _pool_lock:
        if _pool is not None and _pool.pid != os.getpid():
            _inherited.append(_pool)
            _pool = None
        if _pool is None:
            _pool = SandboxPool()
        return _pool


@atexit.register
def _close_pool() -> None:
    if _pool is not None and _pool.pid == os.getpid():
        _pool.close()


# -- what a script gives back -------------------------------------------------------------------------
def portable_value(value: Any) -> dict[str, Any]:
    """An expression's value as the parent can take it: pickled if it pickles, and what it looks like."""
    try:
        pickled: bytes | None = dumps(value)
    except Exception:  # noqa: BLE001 - a match object, a generator, a module...
        pickled = None
    try:
        text = repr(value)[:200]
    except Exception:  # noqa: BLE001
        text = f"<{type(value).__name__}>"
    return {"pickled": pickled, "type": type(value).__name__, "truth": bool(value), "text": text}


def restore_value(portable: dict[str, Any]) -> Any:
    if portable["pickled"] is not None:
        try:
            return safe_loads(portable["pickled"])
        except (pickle.UnpicklingError, AttributeError, TypeError, ValueError):
            pass
    return Opaque(portable["type"], portable["truth"], portable["text"])


def portable_error(exc: BaseException) -> dict[str, Any]:
    """A script's exception as the parent can raise it again, with the script line it came from."""
    line = 0
    traceback = exc.__traceback__
    while traceback is not None:
        if traceback.tb_frame.f_code.co_filename == "<string>":
            line = traceback.tb_lineno
        traceback = traceback.tb_next
    pickled: bytes | None
    try:
        pickled = dumps(exc)
        safe_loads(pickled)
    except Exception:  # noqa: BLE001 - an exception that cannot make the trip comes back as its builtin base
        pickled = None
    bases = [cls.__name__ for cls in type(exc).__mro__ if cls.__module__ == "builtins"]
    return {"pickled": pickled, "bases": bases, "message": str(exc), "line": line}


def restore_error(portable: dict[str, Any]) -> Exception:
    error: Exception | None = None
    if portable["pickled"] is not None:
        try:
            error = safe_loads(portable["pickled"])
        except (pickle.UnpicklingError, AttributeError, TypeError, ValueError):
            error = None
    if not isinstance(error, Exception):
        error = _builtin_error(portable["bases"], portable["message"])
    if portable["line"]:
        error.script_line = portable["line"]  # type: ignore[attr-defined]
    return error


def _builtin_error(bases: list[str], message: str) -> Exception:
    """The nearest builtin exception class that can be made from a message alone."""
    for name in bases:
        cls = getattr(builtins, name, None)
        if isinstance(cls, type) and issubclass(cls, Exception):
            try:
                return cls(message)
            except TypeError:
                continue
    return SandboxViolation(message)
