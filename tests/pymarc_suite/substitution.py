"""Installed as the conftest.py of a copy of pymarc's own test suite: runs it against another module.

`MARC_IMPL` names the module that stands in for `pymarc`. It is registered in `sys.modules` as
`pymarc`, and each of pymarc's submodules as `<impl>.<sub>` (or, where the module has none, a
module forwarding attribute lookups to `<impl>`). The run fails if the real pymarc is ever
imported behind the alias, so a pass can only come from the module under test.
"""

import importlib
import os
import sys
import types

IMPL = os.environ["MARC_IMPL"]
SUBMODULES = [
    "constants",
    "exceptions",
    "field",
    "leader",
    "marc8",
    "marc8_mapping",
    "marcjson",
    "marcxml",
    "reader",
    "record",
    "writer",
]

assert "pymarc" not in sys.modules, "the real pymarc was imported before the substitution"
_impl = importlib.import_module(IMPL)
sys.modules["pymarc"] = _impl
for _sub in SUBMODULES:
    try:
        _module = importlib.import_module(f"{IMPL}.{_sub}")
    except ImportError:
        _module = types.ModuleType(f"pymarc.{_sub}")
        _module.__getattr__ = lambda name, _impl=_impl: getattr(_impl, name)
    sys.modules[f"pymarc.{_sub}"] = _module
    if not hasattr(_impl, _sub):
        setattr(_impl, _sub, _module)


def pytest_report_header(config):
    return f"pymarc -> {_impl.__name__} ({_impl.__file__})"


def pytest_sessionfinish(session, exitstatus):
    leaked = [
        name
        for name, module in sys.modules.items()
        if name.split(".")[0] == "pymarc"
        and "/pymarc/" in (getattr(module, "__file__", None) or "")
        and IMPL.replace(".", "/") not in module.__file__
    ]
    if leaked:
        raise RuntimeError(f"the real pymarc was imported behind the alias: {leaked}")
