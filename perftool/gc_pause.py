"""The cyclic garbage collector paused while perftool builds large acyclic models.

Building hundreds of thousands of objects triggers the collector again and again, and each pass
walks every live container: a 10,000-node plan's collector passes took ~40 % of parse + tips
(bench/plans.py), a 10,000-table catalog's ~0.3 s of 1.5 s (bench/schema_scale.py). The models
built under `gc_paused()` hold no reference cycles, so reference counting alone frees them.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def gc_paused() -> Iterator[None]:
    """The collector off for the block (nested blocks: the outermost turns it back on).

    Turned back on, the collector would traverse everything the block made at its next pass
    (all of it still counts as young: 0.1 s for a 10,000-table catalog). So the block's objects
    are first moved to the oldest generation without a pass — `gc.freeze()` then `gc.unfreeze()`,
    which is what those two do — unless something else froze objects before (its frozen set is
    left alone then, and the pass is paid)."""
    if not gc.isenabled():
        yield
        return
    frozen_before = gc.get_freeze_count()
    gc.disable()
    try:
        yield
    finally:
        if frozen_before == 0:
            gc.freeze()
            gc.unfreeze()
        gc.enable()
