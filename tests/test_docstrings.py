"""Every public module, class, function and method of the packages has a docstring."""

import importlib
import inspect
import pkgutil

import pytest

PACKAGES = ["engine", "components", "strategies", "venues", "experiments", "signals"]


def _modules():
    for name in PACKAGES:
        pkg = importlib.import_module(name)
        yield pkg
        for info in pkgutil.walk_packages(pkg.__path__, prefix=f"{name}."):
            if not info.name.endswith("__main__"):
                yield importlib.import_module(info.name)


def _public_objects(module):
    for name, obj in vars(module).items():
        if name.startswith("_") or getattr(obj, "__module__", None) != module.__name__:
            continue
        if inspect.isclass(obj) or inspect.isfunction(obj) or hasattr(obj, "py_func"):
            yield name, obj
            if inspect.isclass(obj):
                for meth_name, meth in vars(obj).items():
                    if not meth_name.startswith("_") and (inspect.isfunction(meth) or isinstance(meth, property)):
                        yield f"{name}.{meth_name}", meth


MODULES = list(_modules())


@pytest.mark.parametrize("module", MODULES, ids=[m.__name__ for m in MODULES])
def test_public_api_has_docstrings(module):
    """The module and each public object it defines carry a non-empty docstring."""
    assert (module.__doc__ or "").strip(), f"module {module.__name__} has no docstring"
    missing = [name for name, obj in _public_objects(module) if not (inspect.getdoc(obj) or "").strip()]
    assert not missing, f"{module.__name__}: no docstring on {missing}"
