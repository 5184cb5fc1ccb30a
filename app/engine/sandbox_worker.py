"""A sandbox process: runs diagram scripts and expressions sent by `isolation`, one at a time.

Started as `python -I -B app/engine/sandbox_worker.py` by `isolation.SandboxProcess`. It imports
the sandbox modules alone — the `app` package's `__init__` (Flask, the app factory) is never run —
caps its own address space (RLIMIT_AS) and file writes (RLIMIT_FSIZE), and before each request
sets a CPU-time limit just past the script's budget (RLIMIT_CPU: if its parent were gone, the
kernel still stops a runaway). Its stdin and stdout are the protocol, moved to private
descriptors; fd 0 and 1 become /dev/null.

Whatever a script raises is an answer, never the end of this loop: `SystemExit`,
`KeyboardInterrupt`, `GeneratorExit` and `BaseException` itself come back as sandbox violations.
After a MemoryError the process answers once and ends (its parent starts a fresh one).
"""
from __future__ import annotations

import os
import sys
import types
from pathlib import Path
from typing import Any

DEFAULT_MEMORY_MB = 1024
CPU_MARGIN_SECONDS = 3  # RLIMIT_CPU past the script's budget: only a backstop for the parent's deadline


def _bootstrap() -> None:
    """Make `app.engine.*` importable without running `app/__init__.py`."""
    root = Path(__file__).resolve().parents[2]
    sys.path.insert(0, str(root))
    package = types.ModuleType("app")
    package.__path__ = [str(root / "app")]
    sys.modules.setdefault("app", package)


def _limit_resources() -> None:
    import resource

    megabytes = int(os.environ.get("LOANFLOW_SANDBOX_MEMORY_MB", DEFAULT_MEMORY_MB))
    resource.setrlimit(resource.RLIMIT_AS, (megabytes * 1024 * 1024,) * 2)
    resource.setrlimit(resource.RLIMIT_FSIZE, (0, 0))


def _limit_cpu(seconds: float) -> None:
    import resource

    usage = resource.getrusage(resource.RUSAGE_SELF)
    soft = int(usage.ru_utime + usage.ru_stime + seconds) + CPU_MARGIN_SECONDS
    _soft, hard = resource.getrlimit(resource.RLIMIT_CPU)
    resource.setrlimit(resource.RLIMIT_CPU, (soft if hard == resource.RLIM_INFINITY else min(soft, hard), hard))


# Audit events a script has no business causing (PEP 578): refused in this process, behind the
# sandbox's own refusals. Reading Python code stays allowed (a lazy import of the standard library).
REFUSED_EVENTS = ("os.system", "os.exec", "os.posix_spawn", "os.spawn", "os.fork", "os.forkpty", "os.kill",
                  "os.killpg", "os.mkdir", "os.remove", "os.rmdir", "os.rename", "os.chmod", "os.chown",
                  "os.truncate", "os.putenv", "os.unsetenv", "os.symlink", "os.link", "os.utime", "os.chdir",
                  "os.listdir", "os.scandir", "subprocess.Popen", "socket.", "ctypes.", "shutil.", "webbrowser.",
                  "urllib.", "ftplib.", "http.", "smtplib.", "imaplib.", "poplib.", "telnetlib.", "nntplib.")
CODE_FILES = (".py", ".pyc", ".so")


def _refuse_os_access(event: str, args: tuple) -> None:
    if event == "open":
        path, mode, flags = (*args, 0)[:3]
        writes = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND
        readonly = not set(mode) & set("wax+") if isinstance(mode, str) else not (flags or 0) & writes
        if readonly and isinstance(path, str) and path.endswith(CODE_FILES):
            return
        from app.engine.said import said  # loaded by `main` before this hook is added: no file is read here

        raise PermissionError(said("a diagram script may not open files (%(path)r)", path=path))
    if event.startswith(REFUSED_EVENTS):
        from app.engine.said import said

        raise PermissionError(said("a diagram script may not reach the operating system (%(event)s)", event=event))


def _private_pipes() -> tuple[int, int]:
    """The protocol's descriptors; fd 0 and 1 point at /dev/null, so a stray write cannot corrupt it."""
    incoming, outgoing = os.dup(0), os.dup(1)
    devnull = os.open(os.devnull, os.O_RDWR)
    os.dup2(devnull, 0)
    os.dup2(devnull, 1)
    os.close(devnull)
    return incoming, outgoing


def handle(env: Any, request: tuple) -> dict[str, Any]:
    """Run one request; the answer (never raises for anything the script does)."""
    from app.engine import isolation, limits, scripting

    kind, source, context, external, settings = request
    scripting.MAX_SECONDS, scripting.MAX_STEPS = settings["max_seconds"], settings["max_steps"]
    limits.REGEX_SECONDS = settings["regex_seconds"]
    weights: dict[str, int] = {}
    try:
        if kind == "evaluate":
            return {"value": isolation.portable_value(env.evaluate(source, context, external))}
        kept = env.run_script(source, context, external, weights=weights)
        return {"kept": kept, **_settled(context, weights)}
    except MemoryError:
        pass  # answered below, once the frames holding the memory are gone
    except Exception as exc:  # noqa: BLE001 - the script's error is the answer
        return {"error": isolation.portable_error(exc), **(_settled(context, weights) if kind == "execute" else {})}
    except BaseException as exc:  # noqa: BLE001 - KeyboardInterrupt (the others are refused in scripting)
        error = isolation.portable_error(scripting.refused_exit(exc))
        return {"error": error, **(_settled(context, weights) if kind == "execute" else {})}
    return {"memory": True, "retire": True}


def _settled(context: dict[str, Any], weights: dict[str, int]) -> dict[str, Any]:
    """The data a script left, without what outweighs a state (as in process), and what it weighs."""
    from app.engine.scripting import drop_heavy
    from app.engine.task_data import measure

    heavy = drop_heavy(context, weights)
    kept = {name: weights[name] if name in weights else measure(value) for name, value in context.items()}
    return {"context": context, "heavy": heavy, "weights": kept}


def main() -> None:
    _bootstrap()
    _limit_resources()
    incoming, outgoing = _private_pipes()
    os.environ.clear()
    import _strptime  # noqa: F401 - datetime.strptime imports it from C: load it before the limits bite

    from app.engine import isolation, script_offers, scripting
    from app.engine.said import said  # noqa: F401 - loaded before the audit hook that says its refusals with it

    script_offers.zones()  # get_localtime's time zones, read before files are refused
    env = scripting.InProcessSandbox()
    sys.addaudithook(_refuse_os_access)
    isolation.write_frame(outgoing, isolation.dumps("ready"))
    while True:
        frame = isolation.read_frame(incoming)
        if frame is None:
            return  # the parent closed the pipe: it is done with this process
        request = isolation.pickle.loads(frame)
        _limit_cpu(request[4]["max_seconds"])
        answer = handle(env, request)
        try:
            payload = isolation.dumps(answer)
        except MemoryError:
            answer = {"memory": True, "retire": True}
            payload = isolation.dumps(answer)
        except Exception as exc:  # noqa: BLE001 - e.g. a context value that does not pickle
            answer = {"error": isolation.portable_error(limits_violation(f"the script's result cannot be kept: {exc}")),
                      "context": None}
            payload = isolation.dumps(answer)
        del request, frame
        isolation.write_frame(outgoing, payload)
        if answer.get("retire"):
            return


def limits_violation(message: str) -> Exception:
    from app.engine.limits import SandboxViolation

    return SandboxViolation(message)


if __name__ == "__main__":
    main()
