"""load_uea / load_ucr / load_archive / list_archives on the files the aeon/sktime wheels ship."""

import importlib.util
import sys

import numpy as np
import pytest

from rnnkit.datasets import archives, list_archives, load_archive, load_ucr, load_uea

if importlib.util.find_spec("aeon") is None and importlib.util.find_spec("sktime") is None:
    pytest.skip("the archive files need aeon or sktime (pip install --no-deps aeon)", allow_module_level=True)


def test_list_by_kind():
    uea, ucr, reg = list_archives("uea"), list_archives("ucr"), list_archives("regression")
    assert {"JapaneseVowels", "BasicMotions"} <= set(uea)
    assert {"GunPoint", "ItalyPowerDemand", "ArrowHead"} <= set(ucr)
    assert "Covid3Month" in reg
    assert sorted(uea + ucr + reg, key=str.lower) == list_archives()
    with pytest.raises(ValueError, match="kind must be one of"):
        list_archives("other")


def test_japanese_vowels_both_splits_and_case_insensitive():
    train, test = load_uea("japanesevowels")
    assert (len(train), len(test)) == (270, 370) and train.n_channels == 12
    one = load_uea("JapaneseVowels", split="test")
    assert len(one) == 370 and np.array_equal(one.X[5], test.X[5]) and one.y.tolist() == test.y.tolist()
    assert train.class_labels == test.class_labels == tuple("123456789")


def test_ucr_and_regression():
    train = load_ucr("GunPoint", "train")
    assert len(train) == 50 and train.n_channels == 1 and train.lengths[0] == 150
    assert len(load_ucr("GunPoint", "test")) == 150
    tr, te = load_archive("Covid3Month")
    assert tr.task == te.task == "regression" and len(tr) + len(te) == 201   # 201 countries (the file's header)


def test_wrong_kind_and_unknown_name():
    with pytest.raises(ValueError, match=r"GunPoint is a 'ucr' problem, not 'uea': use load_ucr\('GunPoint'\)"):
        load_uea("GunPoint")
    with pytest.raises(ValueError, match=r"JapaneseVowels is a 'uea' problem.*load_uea"):
        load_ucr("JapaneseVowels")
    with pytest.raises(ValueError, match=r"no installed archive problem 'NoSuch'; available: \[.*'JapaneseVowels'"):
        load_uea("NoSuch")
    with pytest.raises(ValueError, match="split must be one of"):
        load_uea("JapaneseVowels", split="valid")
    with pytest.raises(TypeError, match="name must be a str"):
        load_uea(3)


def test_packages_absent_says_how_to_get_them(monkeypatch):
    monkeypatch.setattr(archives, "PACKAGES", ("no_such_package_rnnkit_test",))
    with pytest.raises(ModuleNotFoundError, match=r"pip install --no-deps aeon"):
        load_uea("JapaneseVowels")
    assert list_archives() == []


def test_packages_are_never_imported():
    list_archives()
    load_ucr("ItalyPowerDemand", "train")
    assert "aeon" not in sys.modules and "sktime" not in sys.modules
