"""Tests of the stand-in age databases (Sec. 6.5): real formats, held-out people, ages spread."""

from __future__ import annotations

import cv2
import numpy as np

from affect.datasets import load
from affect.datasets.proxy_ages import draw_ages, write_age_proxy


def test_the_age_standin_writes_imdb_wiki_and_adience_that_their_loaders_read(tmp_path):
    write_age_proxy(tmp_path, 36, seed=1, image_size=48)
    imdb = load("imdb_wiki", tmp_path / "imdb_wiki", "imdb")
    wiki = load("imdb_wiki", tmp_path / "imdb_wiki", "wiki")
    adience = load("adience", tmp_path / "adience")
    assert len(imdb) + len(wiki) + len(adience) == 36
    assert not imdb.attrs["report"].problems and not adience.attrs["report"].problems
    names = [set(f["path"].map(lambda p: p.rsplit("/", 1)[-1][:4])) for f in (imdb, wiki)]
    assert names == [{"imdb"}, {"wiki"}] and imdb["age"].between(0, 100).all()
    assert (adience["age_low"] <= adience["age"]).all() and (adience["age"] <= adience["age_high"]).all()
    image = cv2.imread(imdb["path"].iloc[0])
    assert image.shape == (48, 48, 3)
    x1, y1, x2, y2 = imdb["box"].iloc[0]
    assert 0 <= x1 < x2 <= 48 and 0 <= y1 < y2 <= 48  # the face box lies in the photo


def test_ages_cover_children_and_adults_and_follow_the_seed():
    ages = draw_ages(np.random.default_rng(0), 4000)
    assert ages.min() >= 1 and ages.max() <= 85
    assert 0.15 < np.mean(ages < 18) < 0.35 and np.median(ages) > 25
    assert np.array_equal(ages, draw_ages(np.random.default_rng(0), 4000))
