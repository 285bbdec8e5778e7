"""Entry point of ``polyalign_lf.pth``: a lazy post-import hook that gives LLaMA-Factory a plugin mechanism.

LLaMA-Factory (0.9.5) has no way to load external code. The ``.pth`` file shipped with this package is
processed by ``site`` at every interpreter start (also in torchrun children and the webui's subprocess)
and calls :func:`install`, which only puts a tiny finder at the front of ``sys.meta_path``. Nothing else
happens until a hooked module is imported: then, right after that module has executed, every entry point of
its group is loaded and called with the module:

* ``llamafactory.train.tuner`` → group ``llamafactory.plugins`` (training: ``llamafactory-cli train``);
* ``llamafactory.webui.interface`` → group ``llamafactory.webui_plugins`` (LlamaBoard: ``llamafactory-cli
  webui``), imported only when the web UI starts, so a training process never loads gradio code of ours.

PolyAlign registers itself in both (``polyalign_lf.integration.plugin:register`` and
``polyalign_lf.integration.plugin:register_webui``); other packages may too.

This module must stay stdlib-only and cheap: it runs in every Python process of the environment.
``POLYALIGN_LF_DISABLE=1`` makes the ``.pth`` skip :func:`install` entirely.
"""

from __future__ import annotations

import os
import sys

HOOKED_MODULE = "llamafactory.train.tuner"
PLUGIN_GROUP = "llamafactory.plugins"
OWN_PLUGIN = "polyalign_lf.integration.plugin:register"
WEBUI_MODULE = "llamafactory.webui.interface"
WEBUI_PLUGIN_GROUP = "llamafactory.webui_plugins"
OWN_WEBUI_PLUGIN = "polyalign_lf.integration.plugin:register_webui"
# hooked module → (entry-point group, our own entry point: loaded even from a source tree without metadata)
HOOKS = {HOOKED_MODULE: (PLUGIN_GROUP, OWN_PLUGIN), WEBUI_MODULE: (WEBUI_PLUGIN_GROUP, OWN_WEBUI_PLUGIN)}

# Introspection for `polyalign doctor` and the tests ("fired"/"loaded" are the training hook's; the web UI's
# are under "webui_fired"/"webui_loaded").
STATE: dict = {
    "installed": False,
    "fired": False,
    "loaded": [],
    "errors": [],
    "webui_fired": False,
    "webui_loaded": [],
}
_STATE_KEYS = {HOOKED_MODULE: ("fired", "loaded"), WEBUI_MODULE: ("webui_fired", "webui_loaded")}


def disabled() -> bool:
    """True when the user opted out with ``POLYALIGN_LF_DISABLE``."""
    return os.environ.get("POLYALIGN_LF_DISABLE", "0").strip().lower() in ("1", "true", "yes", "on")


class _PostImportLoader:
    """Wraps the real loader of the hooked module and runs the plugins after it executed.

    Plain classes (no importlib.abc base): importing importlib.abc costs ~25 ms at every interpreter start."""

    def __init__(self, wrapped):
        self._wrapped = wrapped

    def create_module(self, spec):
        return self._wrapped.create_module(spec)

    def exec_module(self, module) -> None:
        self._wrapped.exec_module(module)
        load_plugins(module, module.__name__)

    def __getattr__(self, name):  # e.g. get_source / is_package for tracebacks and inspect
        return getattr(self._wrapped, name)


class PostImportFinder:
    """Finds nothing itself; for the hooked module it asks the other finders and wraps their loader."""

    def find_spec(self, fullname, path=None, target=None):
        if fullname not in HOOKS or STATE[_STATE_KEYS[fullname][0]]:
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(fullname, path, target)
            if spec is not None:
                if spec.loader is not None and not isinstance(spec.loader, _PostImportLoader):
                    spec.loader = _PostImportLoader(spec.loader)
                return spec
        return None


def load_plugins(module, module_name: str = HOOKED_MODULE) -> None:
    """Load and call every entry point of ``module_name``'s group once, with the module (a failing plugin
    writes one stderr line and never breaks plain LLaMA-Factory)."""
    group, own = HOOKS[module_name]
    fired_key, loaded_key = _STATE_KEYS[module_name]
    if STATE[fired_key]:
        return
    STATE[fired_key] = True
    targets: list[tuple[str, str]] = []
    try:
        from importlib.metadata import entry_points

        for ep in entry_points(group=group):
            targets.append((ep.name, ep.value))
    except Exception as exc:  # broken metadata must not break LLaMA-Factory
        STATE["errors"].append(f"entry points: {type(exc).__name__}: {exc}")
    if not any(value == own for _, value in targets):
        # Running from a source tree whose metadata is missing: still activate ourselves.
        targets.append(("polyalign", own))
    for name, value in targets:
        try:
            import importlib

            module_name, _, attr = value.partition(":")
            obj = importlib.import_module(module_name.strip())
            for part in attr.strip().split("."):
                if part:
                    obj = getattr(obj, part)
            obj(module)
            STATE[loaded_key].append(name)
        except Exception as exc:
            message = f"{name} ({value}): {type(exc).__name__}: {exc}"
            STATE["errors"].append(message)
            sys.stderr.write(f"llamafactory plugin {message}; continuing without it\n")


def install() -> bool:
    """Put the post-import finder in place (idempotent). If a hooked module is already imported, load its
    plugins now. Returns False when disabled by ``POLYALIGN_LF_DISABLE``."""
    if disabled():
        return False
    if not any(isinstance(finder, PostImportFinder) for finder in sys.meta_path):
        sys.meta_path.insert(0, PostImportFinder())
    STATE["installed"] = True
    for module_name in HOOKS:
        module = sys.modules.get(module_name)
        if module is not None:
            load_plugins(module, module_name)
    return True


def is_active() -> bool:
    """Whether the hook is installed in this interpreter."""
    return any(isinstance(finder, PostImportFinder) for finder in sys.meta_path)
