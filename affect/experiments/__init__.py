"""The paper's tables and figures, one module per notebook or table group; notebooks call these.

- :mod:`~affect.experiments.gallery_figures`: notebook 00, Sec. 3 and 4.5 (Figs. 3, 5)
- :mod:`~affect.experiments.qualitative`: notebook 01, Sec. 6.1 (Figs. 7 to 10, identity)
- :mod:`~affect.experiments.table1`: Table 1, images synthesized per database
- :mod:`~affect.experiments.tables`: the steps Tables 2 to 14 share (cells with bootstrap intervals,
  paired claims and their verdicts, writing a table beside the paper's)
- :mod:`~affect.experiments.affect_tables`: notebooks 02 to 09, Tables 2 to 9 (each database without and
  with the synthesized faces); :mod:`~affect.experiments.affect_figures`: their Figs. 12 to 19
- :mod:`~affect.experiments.synthetic_tables`: notebooks 10 and 11, Tables 10 and 11 (synthesized faces
  as the test set, and as the only training set)
- :mod:`~affect.experiments.granularity`: notebook 12, Table 12 and Fig. 20 (how many VA classes)
- :mod:`~affect.experiments.age_tables`: notebooks 13 and 14, Sec. 6.5 (Tables 13, 14: scores per
  estimated age group)
- :mod:`~affect.experiments.gan_baselines`: Sec. 6.1.2, Fig. 11 (notebook 01) and the GAN budget notes of
  Tables 2 to 5

Submodules are imported on use.
"""

__all__ = [
    "gallery_figures",
    "qualitative",
    "table1",
    "tables",
    "affect_tables",
    "affect_figures",
    "synthetic_tables",
    "granularity",
    "age_tables",
    "gan_baselines",
]
