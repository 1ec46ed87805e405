"""Import, export and migration of tenant data: formats, targets, the import engine and its log.

* :mod:`.targets`: the contract a kind of record implements to be imported and exported;
* :mod:`.formats`: reading and writing files (CSV, XLSX, vCard, JSON lines, and plugins' formats);
* :mod:`.engine`: mapping, transforms, matching, dry runs, batches, resume and undo;
* :mod:`.models`: import batches, their undo log and saved mapping presets.
"""
