"""The compiled backend drops Numba's cached code when any of its sources changed (Numba keys
a function's cache on its own file only, so an inlined helper's change would go unseen)."""

import os

from rnnkit.kernels.fast._cache import refresh, sources_hash


def _touch(path, text=""):
    with open(path, "w") as f:
        f.write(text)


def test_cache_is_dropped_only_when_a_source_changes(tmp_path):
    d = str(tmp_path)
    _touch(os.path.join(d, "a.py"), "x = 1\n")
    _touch(os.path.join(d, "b.py"), "y = 2\n")
    os.makedirs(os.path.join(d, "__pycache__"))
    stale = [os.path.join(d, "__pycache__", n) for n in ("a.f-1.py311.nbi", "a.f-1.py311.1.nbc")]
    for p in stale:
        _touch(p)
    assert refresh(d) is True                      # no record yet: whatever is cached may be stale
    assert not any(os.path.exists(p) for p in stale)
    for p in stale:
        _touch(p)                                  # compiled again from these sources
    assert refresh(d) is False                     # same sources: the cache stays
    assert all(os.path.exists(p) for p in stale)
    _touch(os.path.join(d, "b.py"), "y = 3\n")     # a helper the cached functions inline changed
    assert refresh(d) is True
    assert not any(os.path.exists(p) for p in stale)
    keep = os.path.join(d, "__pycache__", "a.cpython-311.pyc")
    _touch(keep)
    _touch(os.path.join(d, "c.py"))                # a new file changes the hash too
    assert refresh(d) is True and os.path.exists(keep)   # Python's own bytecode is not touched


def test_the_hash_covers_names_and_contents(tmp_path):
    d = str(tmp_path)
    _touch(os.path.join(d, "a.py"), "x")
    h1 = sources_hash(d)
    os.rename(os.path.join(d, "a.py"), os.path.join(d, "b.py"))
    assert sources_hash(d) != h1
