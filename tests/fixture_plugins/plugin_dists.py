"""Distribution metadata for the fixture plugins, written as ``.dist-info`` folders by the tests."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

CORE = "xrm-core>=0.1,<0.2"


@dataclass(frozen=True)
class Dist:
    """Metadata of a plugin distribution, written as a ``.dist-info`` folder."""

    distribution: str
    version: str
    entry_point: str
    module: str
    requires: tuple[str, ...] = (CORE,)
    summary: str = "A test plugin."

    def write(self, site: Path) -> None:
        info = site / f"{self.distribution.replace('-', '_')}-{self.version}.dist-info"
        info.mkdir(parents=True, exist_ok=True)
        lines = ["Metadata-Version: 2.1", f"Name: {self.distribution}", f"Version: {self.version}",
                 f"Summary: {self.summary}"] + [f"Requires-Dist: {r}" for r in self.requires]
        (info / "METADATA").write_text("\n".join(lines) + "\n")
        (info / "entry_points.txt").write_text(f"[xrm.plugins]\n{self.entry_point} = {self.module}\n")


def _dist(name: str, module: str, *requires: str, version: str = "0.1.0") -> Dist:
    return Dist(f"xrm-fx-{name.replace('_', '-')}", version, name, module, (CORE, *requires))


DISTS = {
    "notes": _dist("notes", "xrm_fx_notes.plugin"),
    "tasks": _dist("tasks", "xrm_fx_tasks.plugin", "xrm-fx-notes>=0.1,<1"),
    "ledger": _dist("ledger", "xrm_fx_ledger_v1.plugin"),
    "ledger_v2": replace(_dist("ledger", "xrm_fx_ledger_v2.plugin"), version="0.2.0"),
    "flaky": _dist("flaky", "xrm_fx_flaky.plugin"),
    "badmig": _dist("badmig", "xrm_fx_badmig.plugin"),
    "plain": _dist("plain", "xrm_fx_misc.plain"),
    "nomanifest": _dist("nomanifest", "xrm_fx_misc.nomanifest"),
    "mismatch": _dist("mismatch", "xrm_fx_misc.mismatch"),
    "importerror": _dist("importerror", "xrm_fx_misc.importerror"),
    "typo": _dist("typo", "xrm_fx_misc.typo"),
    "badtable": _dist("badtable", "xrm_fx_misc.badtable"),
    "cyc_a": _dist("cyc_a", "xrm_fx_misc.cyc_a"),
    "cyc_b": _dist("cyc_b", "xrm_fx_misc.cyc_b"),
    "lonely": _dist("lonely", "xrm_fx_misc.lonely"),
    "kitchen": _dist("kitchen", "xrm_fx_kitchen.plugin"),
    "workshop": _dist("workshop", "xrm_fx_api.plugin"),
    "vault": _dist("vault", "xrm_fx_vault.plugin"),
    "rival": _dist("rival", "xrm_fx_misc.rival"),
    "bookings": _dist("bookings", "xrm_fx_bookings.plugin"),
    "faultypanels": _dist("faultypanels", "xrm_fx_bookings.faulty"),
    "board": _dist("board", "xrm_fx_board.plugin"),
}
