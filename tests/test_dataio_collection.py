"""The import's collector thresholds: raised while any import runs, restored after the last one."""

import gc
import threading

import pytest

from xrm_core.dataio.collection import IMPORT_THRESHOLD, fewer_collections


def test_thresholds_are_raised_during_imports_and_restored_after_the_last_even_on_error():
    before = gc.get_threshold()
    entered, leave = threading.Event(), threading.Event()

    def other_import():
        with fewer_collections():
            entered.set()
            leave.wait(5)

    other = threading.Thread(target=other_import)
    with pytest.raises(RuntimeError):
        with fewer_collections():
            assert gc.get_threshold()[0] == max(IMPORT_THRESHOLD, before[0])
            other.start()
            assert entered.wait(5)
            raise RuntimeError("the import failed")
    assert gc.get_threshold()[0] == max(IMPORT_THRESHOLD, before[0])  # the other import still runs
    leave.set()
    other.join(5)
    assert gc.get_threshold() == before
