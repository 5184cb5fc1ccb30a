"""The engine's script environment: each script or expression in process, or in a sandbox process.

Code that can neither loop nor call, on small data, runs in process (`fast_path`): a round trip
to a sandbox process costs ~20 times more than `amount > 1000`. Everything else runs in a sandbox
process (`isolation`), where the budget is enforced by the kernel: a thread cannot interrupt a
long call into C, and holds the GIL while it runs. Both run the same compiled code with the same
guards (`scripting`), so a script gives the same data, the same errors and the same messages
wherever it ran.
"""
from __future__ import annotations

from typing import Any

from app.engine import fast_path, isolation, limits, scripting
from app.engine.limits import SandboxViolation
from app.engine.scripting import (
    InProcessSandbox,
    compile_script,
    drop_heavy,
    global_names,
    raise_for_leftovers,
)


class SandboxEnvironment(InProcessSandbox):
    """The engine's environment: code that can neither loop nor call runs in process (`fast_path`),
    everything else in a sandbox process (`isolation`), where the budget is enforced by the kernel.

    `isolation`: "auto" (that), "always" (every run in a sandbox process) or "off" (every run in
    process, as before sandbox processes existed: for measuring what they cost, and for tests that
    hand a script functions)."""

    def __init__(self, isolation: str = "auto") -> None:
        super().__init__()
        self.isolation = isolation
        self.inline_globals = fast_path.inline_globals(self.globals)

    def evaluate(self, expression: str, context: dict[str, Any], external_context: dict[str, Any] | None = None,
                 base: dict[str, Any] | None = None) -> Any:
        external = external_context or {}
        if self.isolation == "off":
            return super().evaluate(expression, context, external)
        names = global_names(expression, "eval")
        if self._inline(expression, "eval", names, context, external):
            try:
                return super().evaluate(expression, context, external, self.inline_globals)
            except fast_path.NeedsIsolation:
                pass
        answer = self._isolated("evaluate", expression, names, context, external)
        return isolation.restore_value(answer["value"])

    def execute(self, script: str, context: dict[str, Any],
                external_context: dict[str, Any] | None = None) -> bool:
        compile_script(script)
        external = external_context or {}
        self.check_for_overwrite(context, external)
        weights: dict[str, int] = {}
        kept, heavy, error = self._run_script_anywhere(script, context, external, weights)
        heavy += drop_heavy(context, weights)
        if error is not None:
            raise error
        raise_for_leftovers(kept, heavy)
        return True

    def _run_script_anywhere(self, script: str, context: dict[str, Any], external: dict[str, Any],
                             weights: dict[str, int]) -> tuple[list[str], list[str], Exception | None]:
        """Run the script and settle `context`: the unstorable values it left, the heavy ones a sandbox
        process dropped, and the exception it raised. `weights` gets what the values left weigh."""
        if self.isolation == "off":
            try:
                return self.run_script(script, context, external, weights=weights), [], None
            except Exception as exc:  # noqa: BLE001 - raised by execute once the data is settled
                return [], [], exc
        names = global_names(script, "exec")
        if self._inline(script, "exec", names, context, external):
            trial = dict(context)  # stores go to plain names only: a shallow copy keeps the data as it was
            try:
                kept = self.run_script(script, trial, external, self.inline_globals, weights)
            except fast_path.NeedsIsolation:
                weights.clear()
            except Exception as exc:  # noqa: BLE001
                _replace(context, trial)
                return [], [], exc
            else:
                _replace(context, trial)
                return kept, [], None
        answer = self._isolated("execute", script, names, context, external)
        if answer.get("context") is not None:
            for name in names.intersection(context).difference(answer["context"]):
                del context[name]
            context.update(answer["context"])
            weights.update(answer["weights"])
        if "error" in answer:
            return [], answer.get("heavy", []), isolation.restore_error(answer["error"])
        return answer["kept"], answer["heavy"], None

    def _inline(self, source: str, mode: str, names: frozenset[str], context: dict[str, Any],
                external: dict[str, Any]) -> bool:
        return (self.isolation == "auto" and fast_path.is_inline(source, mode)
                and fast_path.light([c[n] for c in (context, external) for n in names.intersection(c)]))

    def _isolated(self, kind: str, source: str, names: frozenset[str], context: dict[str, Any],
                  external: dict[str, Any]) -> dict[str, Any]:
        """Run in a sandbox process: only the data the code names is sent; the answer."""
        settings = {"max_seconds": scripting.MAX_SECONDS, "max_steps": scripting.MAX_STEPS,
                    "regex_seconds": limits.REGEX_SECONDS}
        data = {name: context[name] for name in names.intersection(context)}
        outside = {name: external[name] for name in names.intersection(external)}
        handed = [name for name, value in outside.items() if callable(value)]
        if handed:  # a function would arrive as a copy that acts on nothing here
            raise SandboxViolation(f"functions cannot be handed to a script in a sandbox process: {', '.join(handed)}")
        try:
            request = isolation.dumps((kind, source, data, outside, settings))
        except Exception as exc:  # noqa: BLE001 - e.g. a function in the external context
            raise SandboxViolation(f"the data of this script cannot be sent to a sandbox process: {exc}") from None
        answer = isolation.pool().run(request, scripting.MAX_SECONDS)
        if answer.get("memory"):
            raise SandboxViolation(f"the script used more than {isolation.MEMORY_MB:,} MB of memory and was stopped")
        if kind == "evaluate" and "error" in answer:
            raise isolation.restore_error(answer["error"])
        return answer


def _replace(context: dict[str, Any], settled: dict[str, Any]) -> None:
    context.clear()
    context.update(settled)
