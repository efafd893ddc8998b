"""Tool.bind's quick check agrees with Python's own binding on every call it accepts."""

from __future__ import annotations

import inspect
import itertools

import pytest

from llmcompiler.tools import tool


def plain(a, b=1):
    """A test tool."""


def starred(a, *rest):
    """A test tool."""


def keywords(a, *, k, m=2):
    """A test tool."""


def everything(a, b=2, *rest, k=3, **extra):
    """A test tool."""


def nothing():
    """A test tool."""


def positional_only(a, /, b=1):
    """A test tool."""


@pytest.mark.parametrize("func", [plain, starred, keywords, everything, nothing, positional_only])
def test_bind_accepts_and_refuses_what_python_does(func):
    t = tool(func)
    sig = inspect.signature(func)
    names = ["a", "b", "k", "m", "rest", "extra", "zzz"]
    for n_args in range(4):
        for n_kw in range(3):
            for keys in itertools.combinations(names, n_kw):
                args, kwargs = tuple(range(n_args)), {key: 0 for key in keys}
                try:
                    sig.bind(*args, **kwargs)
                    python_ok = True
                except TypeError:
                    python_ok = False
                if python_ok:
                    assert t.bind(args, kwargs) == (args, kwargs)
                else:
                    with pytest.raises(TypeError, match=rf"^{func.__name__}\(\) takes "):
                        t.bind(args, kwargs)


def test_bind_takes_lists_and_mappings_and_returns_a_tuple_and_a_dict():
    t = tool(everything)
    assert t.bind([1, 2, 3], {"k": 4}) == ((1, 2, 3), {"k": 4})
    args, kwargs = t.bind([1], {})
    assert type(args) is tuple and type(kwargs) is dict
