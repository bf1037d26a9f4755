"""The ML research layer: bars, features, labels, purged validation, models and the quoting signal.

A port of the ETHPredict research pipeline following López de Prado, *Advances in Financial
Machine Learning* (Wiley, 2018; "AFML"). Each submodule is imported explicitly (for example
``from signals.bars import dollar_bars`` or ``from signals.data import load_data``); this package
deliberately imports nothing so that the simulator never pays for the research stack. Compiled
kernels live in ``signals._*_nb`` modules, each with a plain-Python reference twin in the tests.
"""
