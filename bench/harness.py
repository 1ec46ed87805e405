"""The benchmark harness: data sets built once per run, cases timed against raw SQL.

Writing a case (in any ``bench/cases_<topic>.py`` module, imported automatically)::

    from bench.harness import Pair, case, dataset

    @dataset("my_data")                      # built once per run, shared by every case that needs it
    def my_data(ctx): ...                    # insert rows with ctx.bulk_insert(table, rows_iterable, total)
                                             # and return whatever the cases need (ids, ...)

    @case("topic.operation", "what is compared")
    def my_case(ctx):
        data = ctx.need(my_data)
        def platform():                      # one platform operation, as the application does it
            with ctx.platform.db.session(tenant_id) as session:
                return ...
        def raw():                           # the same work in hand-written SQL on a DBAPI cursor
            return ctx.raw("SELECT ... WHERE tenant_id = ?", (tenant_id,))
        return Pair(platform, raw, check=lambda p, r: len(p) == len(r))

Each side is warmed up, checked against the other (``check``), then timed with
``time.perf_counter``: ``--repeat`` samples, each running the operation enough times to last about
``--min-sample-ms``; the table shows the median time per operation, the 95th percentile of single
calls, and the platform / raw ratio. With ``--once``, each side is instead timed on a single cold
call (for cases whose one call lasts minutes, such as the 1,000,000-row import at ``--scale 10``).

``Pair`` takes options for cases that need them:

* ``per_call=True``: the operation's input changes at every call (another party, another pair of
  parties), so the median reported is that of single calls rather than of the samples' averages;
* ``min_calls=N``: at least N timed calls per side, spread over the samples (for a meaningful p95);
* ``reset=fn``: run after every call of either side, outside the timed part, to undo what the call
  wrote (so repeated runs do not accumulate data);
* ``work=(amount, unit)``: what one call does, e.g. ``(20_000, "rows")``: the throughput of both
  sides is printed after the table.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import importlib
import json
import math
import os
import pkgutil
import secrets
import shutil
import statistics
import sys
import tempfile
import time
import types
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from packaging.requirements import Requirement
from packaging.version import Version
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from sqlalchemy import Table as SATable
from sqlalchemy import create_engine, make_url, text
from sqlalchemy.engine import Connection, Engine

from xrm_core.config import load_settings
from xrm_core.migrate import upgrade
from xrm_core.platform import Platform
from xrm_core.plugins.discovery import PluginInfo

console = Console(stderr=True)

#: Default data set at --scale 1: this many tenants, each with USERS_PER_TENANT users.
TENANTS = 100
USERS_PER_TENANT = 1_000


# -- registry -------------------------------------------------------------------------------------


@dataclass
class Pair:
    """The two sides of a case: zero-argument callables doing the same work."""

    platform: Callable[[], Any]
    raw: Callable[[], Any]
    #: ``check(platform_result, raw_result)`` -> bool: both sides did the same work.
    check: Callable[[Any, Any], bool] | None = None
    #: Each call works on another input: report the median of single calls, not of samples' averages.
    per_call: bool = False
    #: At least this many timed calls per side, spread over the samples.
    min_calls: int = 0
    #: Run after every call of either side, untimed: undoes what the call wrote.
    reset: Callable[[], Any] | None = None
    #: ``(amount, unit)`` one call processes, e.g. ``(20_000, "rows")``: throughput printed after the table.
    work: tuple[float, str] | None = None


@dataclass
class CaseDef:
    name: str
    description: str
    prepare: Callable[[Context], Pair]
    module: str


_CASES: dict[str, CaseDef] = {}


def case(
    name: str, description: str = ""
) -> Callable[[Callable[[Context], Pair]], Callable[[Context], Pair]]:
    """Register ``prepare(ctx) -> Pair`` as the benchmark ``name`` (unique, dotted: ``topic.operation``)."""

    def register(prepare: Callable[[Context], Pair]) -> Callable[[Context], Pair]:
        if name in _CASES:
            raise ValueError(f"benchmark case {name!r} is defined twice")
        summary = description or next(iter((prepare.__doc__ or "").strip().splitlines()), "")
        _CASES[name] = CaseDef(name, summary, prepare, prepare.__module__)
        return prepare

    return register


def dataset(name: str) -> Callable[[Callable[[Context], Any]], Callable[[Context], Any]]:
    """Mark ``build(ctx)`` as a data set: :meth:`Context.need` builds it once per run and caches the result."""

    def mark(build: Callable[[Context], Any]) -> Callable[[Context], Any]:
        build.dataset_name = name  # type: ignore[attr-defined]
        return build

    return mark


def load_cases() -> dict[str, CaseDef]:
    """Import every ``bench/cases_*.py`` module, registering its cases."""
    package = Path(__file__).parent
    for info in sorted(pkgutil.iter_modules([str(package)]), key=lambda i: i.name):
        if info.name.startswith("cases_"):
            importlib.import_module(f"{__package__}.{info.name}")
    return _CASES


# -- the run context ------------------------------------------------------------------------------


@dataclass
class Context:
    """What cases and data sets get: the platform, the engine, the scale, and helpers."""

    platform: Platform
    scale: float
    tenants: int
    users_per_tenant: int
    seed: int = 1
    _datasets: dict[str, Any] = field(default_factory=dict)
    _failed: dict[str, str] = field(default_factory=dict)
    _raw_connection: Any = None

    @property
    def engine(self) -> Engine:
        return self.platform.db.engine

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def need(self, build: Callable[[Context], Any]) -> Any:
        """The data set ``build`` makes, built on first use."""
        name = getattr(build, "dataset_name", build.__qualname__)
        if name in self._failed:  # a partly built data set is not built again: the first error stands
            raise RuntimeError(f"data set {name!r} could not be built: {self._failed[name]}")
        if name not in self._datasets:
            started = time.perf_counter()
            try:
                self._datasets[name] = build(self)
            except Exception as exc:
                self._failed[name] = f"{type(exc).__name__}: {exc}"
                raise
            self.analyze()
            console.log(f"data set [bold]{name}[/] ready in {time.perf_counter() - started:.1f}s")
        return self._datasets[name]

    def scaled(self, base: int, minimum: int = 1) -> int:
        return max(minimum, round(base * self.scale))

    # Raw SQL -------------------------------------------------------------------------------------

    def sql(self, statement: str) -> str:
        """``statement`` written with ``?`` placeholders, in the driver's own paramstyle."""
        style = self.engine.dialect.paramstyle
        if style == "qmark":
            return statement
        if style in ("format", "pyformat"):
            return statement.replace("%", "%%").replace("?", "%s")
        raise ValueError(f"the database driver's paramstyle {style!r} is not one the benchmarks can write")

    def raw(self, statement: str, params: Sequence[Any] = (), *, one: bool = False) -> Any:
        """Run hand-written SQL on a pooled DBAPI connection (checked out and returned, like a session).

        ``statement`` uses ``?`` placeholders. Returns all rows (tuples), or the first with ``one``.
        """
        connection = self.engine.raw_connection()
        try:
            cursor = connection.cursor()
            cursor.execute(self.sql(statement), params)
            result = cursor.fetchone() if one else cursor.fetchall()
            cursor.close()
            return result
        finally:
            connection.close()

    # Data generation -----------------------------------------------------------------------------

    def bulk_insert(
        self,
        table: SATable,
        rows: Iterable[dict[str, Any]],
        total: int,
        batch: int = 5_000,
        connection: Connection | None = None,
        label: str | None = None,
    ) -> int:
        """Insert ``rows`` into ``table`` with Core executemany in batches, showing a progress bar.

        In a transaction of its own, or in the caller's when given ``connection`` (to load several
        tables in one transaction).
        """
        done = 0
        with _progress() as progress, contextlib.ExitStack() as stack:
            if connection is None:
                connection = stack.enter_context(self.engine.begin())
            task = progress.add_task(label or table.name, total=total)
            for chunk in _chunks(rows, batch):
                connection.execute(table.insert(), chunk)
                done += len(chunk)
                progress.advance(task, len(chunk))
        return done

    def analyze(self) -> None:
        with self.engine.begin() as connection:
            connection.exec_driver_sql("ANALYZE")


def _progress() -> Progress:
    return Progress(
        TextColumn("[bold blue]{task.description:<24}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    )


def _chunks(rows: Iterable[dict[str, Any]], size: int) -> Iterator[list[dict[str, Any]]]:
    chunk: list[dict[str, Any]] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


# -- timing ---------------------------------------------------------------------------------------


@dataclass
class Result:
    name: str
    description: str
    platform_ms: float
    raw_ms: float
    platform_spread: float
    raw_spread: float
    #: Calls per timed sample (platform, raw).
    loops: tuple[int, int]
    error: str | None = None
    #: 95th percentile of single calls, in ms (platform, raw).
    platform_p95: float = 0.0
    raw_p95: float = 0.0
    #: The median is that of single calls (``Pair.per_call``), not of the samples' averages.
    per_call: bool = False
    #: ``Pair.work``: what one call processes.
    work: tuple[float, str] | None = None

    @property
    def ratio(self) -> float:
        return self.platform_ms / self.raw_ms if self.raw_ms else float("inf")

    def throughput(self) -> tuple[float, float] | None:
        """Units per second (platform, raw) at the median time, for cases declaring their ``work``."""
        if self.work is None or not self.platform_ms or not self.raw_ms:
            return None
        return self.work[0] / self.platform_ms * 1000, self.work[0] / self.raw_ms * 1000


def _run(fn: Callable[[], Any], loops: int, reset: Callable[[], Any] | None) -> list[float]:
    """The duration of each of ``loops`` calls of ``fn``, in seconds (``reset`` after each, untimed)."""
    times = []
    clock = time.perf_counter
    for _ in range(loops):
        started = clock()
        fn()
        times.append(clock() - started)
        if reset is not None:
            reset()
    return times


def _calibrate(fn: Callable[[], Any], min_sample_s: float, reset: Callable[[], Any] | None = None) -> int:
    """How many calls make one sample last at least ``min_sample_s``."""
    loops = 1
    while True:
        elapsed = sum(_run(fn, loops, reset))
        if elapsed >= min_sample_s or loops >= 1_000_000:
            return loops
        loops = max(loops * 2, int(loops * min_sample_s / max(elapsed, 1e-9) * 1.2))


def _sample(fn: Callable[[], Any], loops: int, reset: Callable[[], Any] | None = None) -> list[float]:
    """Seconds taken by each of ``loops`` calls (garbage collection paused, as timeit does)."""
    gc.collect()
    gc.disable()
    try:
        return _run(fn, loops, reset)
    finally:
        gc.enable()


def measure(definition: CaseDef, ctx: Context, repeat: int, min_sample_s: float, once: bool = False) -> Result:
    pair = definition.prepare(ctx)
    reset = pair.reset
    if once:
        return _measure_once(definition, pair)
    # Warm-up, and proof of equal work.
    got_platform = pair.platform()
    if reset is not None:
        reset()
    got_raw = pair.raw()
    if reset is not None:
        reset()
    if pair.check is not None and not pair.check(got_platform, got_raw):
        raise AssertionError(
            f"{definition.name}: the platform and raw SQL results differ "
            f"({_describe(got_platform)} vs {_describe(got_raw)})"
        )
    at_least = math.ceil(pair.min_calls / repeat)
    platform_loops = max(at_least, _calibrate(pair.platform, min_sample_s, reset))
    raw_loops = max(at_least, _calibrate(pair.raw, min_sample_s, reset))
    platform_samples: list[list[float]] = []
    raw_samples: list[list[float]] = []
    for _ in range(repeat):  # interleaved, so drift affects both sides alike
        platform_samples.append(_sample(pair.platform, platform_loops, reset))
        raw_samples.append(_sample(pair.raw, raw_loops, reset))
    platform_calls = [t for sample in platform_samples for t in sample]
    raw_calls = [t for sample in raw_samples for t in sample]
    if pair.per_call:
        platform_times, raw_times = platform_calls, raw_calls
    else:
        platform_times = [statistics.fmean(sample) for sample in platform_samples]
        raw_times = [statistics.fmean(sample) for sample in raw_samples]
    return Result(
        name=definition.name,
        description=definition.description,
        platform_ms=statistics.median(platform_times) * 1000,
        raw_ms=statistics.median(raw_times) * 1000,
        platform_spread=_spread(platform_times),
        raw_spread=_spread(raw_times),
        loops=(platform_loops, raw_loops),
        platform_p95=_p95(platform_calls) * 1000,
        raw_p95=_p95(raw_calls) * 1000,
        per_call=pair.per_call,
        work=pair.work,
    )


def _measure_once(definition: CaseDef, pair: Pair) -> Result:
    """One timed call per side, cold (no warm-up, no calibration): for cases whose one call lasts minutes.

    Garbage collection stays on, as in a real run of that length. The process's CPU time is logged
    too: on a machine shared with other work, it tells how much of the wall time was waiting.
    """
    timings = []
    results = []
    for label, side in (("platform", pair.platform), ("raw SQL", pair.raw)):
        gc.collect()
        started, cpu_started = time.perf_counter(), time.process_time()
        results.append(side())
        timings.append(time.perf_counter() - started)
        console.log(f"{definition.name}: {label} {timings[-1]:.1f} s wall, {time.process_time() - cpu_started:.1f} s CPU")
        if pair.reset is not None:
            pair.reset()
    if pair.check is not None and not pair.check(*results):
        raise AssertionError(f"{definition.name}: the platform and raw SQL results differ "
                             f"({_describe(results[0])} vs {_describe(results[1])})")
    platform_s, raw_s = timings
    return Result(name=definition.name, description=definition.description, platform_ms=platform_s * 1000,
                  raw_ms=raw_s * 1000, platform_spread=0.0, raw_spread=0.0, loops=(1, 1),
                  platform_p95=platform_s * 1000, raw_p95=raw_s * 1000, work=pair.work)


def _p95(times: list[float]) -> float:
    """The 95th percentile of ``times`` (the largest value when there are too few for quantiles)."""
    if len(times) < 20:
        return max(times)
    return statistics.quantiles(times, n=20, method="inclusive")[-1]


def _spread(times: list[float]) -> float:
    """Interquartile range relative to the median, in percent."""
    if len(times) < 4:
        return 0.0
    q1, _, q3 = statistics.quantiles(times, n=4)
    return (q3 - q1) / statistics.median(times) * 100


def _describe(value: Any) -> str:
    if isinstance(value, (list, tuple)):
        return f"{type(value).__name__} of {len(value)}"
    return repr(value)[:80]


# -- the platform under test ----------------------------------------------------------------------


def _fake_plugins(names: Sequence[str]) -> list[PluginInfo]:
    """Installed-looking plugins without hooks, so per-tenant plugin lookups have something to find."""
    return [
        PluginInfo(
            name=name,
            distribution=f"xrm-bench-{name}",
            version=Version("1.0"),
            summary="benchmark stand-in",
            requirements=[Requirement("xrm-core")],
            module=types.ModuleType(f"xrm_bench_{name}"),
        )
        for name in names
    ]


#: Plugin names the benchmark platform pretends are installed (see cases_foundation).
BENCH_PLUGINS = ("bench_a", "bench_b", "bench_c", "bench_d", "bench_e", "bench_f")


class _Instance:
    """A throwaway database: a SQLite file in a temp folder, or a fresh schema on PostgreSQL."""

    def __init__(self, database_url: str | None, keep: bool):
        self.keep = keep
        self.folder = Path(tempfile.mkdtemp(prefix="xrm-bench-"))
        self.schema: str | None = None
        self.admin: Engine | None = None
        self.url = ""
        if database_url:
            url = make_url(database_url)
            self.schema = f"xrm_bench_{secrets.token_hex(4)}"
            self.admin = create_engine(url)
            with self.admin.begin() as connection:
                connection.execute(text(f'CREATE SCHEMA "{self.schema}"'))
            options = " ".join(filter(None, [url.query.get("options", ""), f"-csearch_path={self.schema}"]))
            self.url = url.update_query_dict({"options": options}).render_as_string(hide_password=False)

    def cleanup(self) -> None:
        if self.keep:
            console.log(f"kept: {self.folder}" + (f", schema {self.schema}" if self.schema else ""))
            return
        if self.admin is not None:
            with self.admin.begin() as connection:
                connection.execute(text(f'DROP SCHEMA IF EXISTS "{self.schema}" CASCADE'))
            self.admin.dispose()
        shutil.rmtree(self.folder, ignore_errors=True)


def build_platform(instance: _Instance) -> Platform:
    settings = load_settings(instance_path=instance.folder, database_url=instance.url, env="development")
    platform = Platform(settings=settings, plugins=_fake_plugins(BENCH_PLUGINS))
    steps = upgrade(platform)
    console.log(f"schema: {len(steps)} migration(s) applied on {platform.db.engine.dialect.name}")
    return platform


# -- command line ---------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description="Time platform operations against hand-written raw SQL doing the same work.",
    )
    parser.add_argument(
        "--scale",
        type=float,
        default=float(os.environ.get("XRM_BENCH_SCALE", "1")),
        metavar="N",
        help=f"data set size factor: 1 = {TENANTS} tenants x {USERS_PER_TENANT:,} users "
        f"({TENANTS * USERS_PER_TENANT:,} rows in core_users); 0.05 = 5 tenants; 10 = 1,000 tenants",
    )
    parser.add_argument("--users-per-tenant", type=int, default=USERS_PER_TENANT, metavar="N")
    parser.add_argument(
        "--database-url",
        default=os.environ.get("XRM_BENCH_DATABASE_URL", ""),
        help="run on this database (e.g. postgresql+psycopg://...) in a throwaway schema; default: SQLite in a temp folder",
    )
    parser.add_argument("-k", "--filter", default="", help="only cases whose name contains this text")
    parser.add_argument("--repeat", type=int, default=15, help="timed samples per side (median reported)")
    parser.add_argument("--min-sample-ms", type=float, default=10.0, help="minimum duration of one sample")
    parser.add_argument("--once", action="store_true",
                        help="time a single cold call per side (no warm-up, calibration or repeats): for cases "
                        "whose one call lasts minutes, e.g. --scale 10 -k dataio.import_csv (1,000,000 rows)")
    parser.add_argument("--json", type=Path, help="also write the results to this JSON file")
    parser.add_argument("--list", action="store_true", help="list the cases and exit")
    parser.add_argument("--keep", action="store_true", help="keep the temp instance folder / schema")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    cases = load_cases()
    selected = [c for name, c in sorted(cases.items()) if args.filter in name]
    if args.list:
        for c in selected:
            print(f"{c.name:<36} {c.description}")
        return 0
    if not selected:
        console.print(f"[red]no benchmark case matches {args.filter!r}")
        return 2

    instance = _Instance(args.database_url or None, args.keep)
    results: list[Result] = []
    failed = 0
    ctx: Context | None = None
    try:
        platform = build_platform(instance)
        ctx = Context(
            platform=platform,
            scale=args.scale,
            tenants=max(1, round(TENANTS * args.scale)),
            users_per_tenant=max(1, args.users_per_tenant),
        )
        console.log(
            f"data set: {ctx.tenants:,} tenants x {ctx.users_per_tenant:,} users "
            f"= {ctx.tenants * ctx.users_per_tenant:,} rows in core_users"
        )
        for definition in selected:
            console.log(f"running [bold]{definition.name}[/]")
            try:
                results.append(measure(definition, ctx, max(1, args.repeat), args.min_sample_ms / 1000, args.once))
            except Exception as exc:  # noqa: BLE001 -- one broken case must not hide the others
                failed += 1
                console.log(f"[red]{definition.name} failed: {type(exc).__name__}: {exc}")
                if os.environ.get("XRM_BENCH_TRACEBACK"):
                    console.print_exception(max_frames=8)
                results.append(
                    Result(
                        definition.name,
                        definition.description,
                        0,
                        0,
                        0,
                        0,
                        (0, 0),
                        f"{type(exc).__name__}: {exc}",
                    )
                )
        platform.db.dispose()
    finally:
        instance.cleanup()

    assert ctx is not None
    print_table(results, ctx)
    if args.json:
        args.json.write_text(json.dumps(_as_json(results, ctx), indent=2))
    return 1 if failed else 0


def print_table(results: list[Result], ctx: Context) -> None:
    out = Console(width=None if sys.stdout.isatty() else 140)
    table = Table(
        title=f"XRM benchmarks on {ctx.dialect} — scale {ctx.scale:g}: {ctx.tenants:,} tenants x {ctx.users_per_tenant:,} users",
        caption="median time per operation (± interquartile range; * = median of single calls, each on "
        "another input); p95 = 95th percentile of single calls; ratio = platform / raw SQL medians",
    )
    table.add_column("case", style="bold", no_wrap=True)
    table.add_column("platform ms", justify="right", no_wrap=True)
    table.add_column("p95", justify="right", no_wrap=True)
    table.add_column("raw SQL ms", justify="right", no_wrap=True)
    table.add_column("p95", justify="right", no_wrap=True)
    table.add_column("ratio", justify="right", no_wrap=True)
    for r in results:
        if r.error:
            table.add_row(r.name, "—", "—", "—", "—", "[red]error")
            continue
        colour = "green" if r.ratio < 2 else "yellow" if r.ratio < 5 else "red"
        star = "*" if r.per_call else ""
        table.add_row(
            r.name,
            f"{r.platform_ms:.3f}{star} ±{r.platform_spread:.0f}%",
            f"{r.platform_p95:.3f}",
            f"{r.raw_ms:.3f}{star} ±{r.raw_spread:.0f}%",
            f"{r.raw_p95:.3f}",
            f"[{colour}]{r.ratio:.2f}x",
        )
    out.print(table)
    for r in results:
        out.print(f"[bold]{r.name}[/]: {r.description}" + (f"\n  [red]{r.error}" if r.error else ""))
        if (rates := r.throughput()) is not None:
            unit = r.work[1] if r.work else ""
            out.print(
                f"  throughput: platform {rates[0]:,.0f} {unit}/s, raw SQL {rates[1]:,.0f} {unit}/s "
                f"(platform = {rates[0] / rates[1]:.0%} of raw)"
            )


def _as_json(results: list[Result], ctx: Context) -> dict[str, Any]:
    return {
        "dialect": ctx.dialect,
        "scale": ctx.scale,
        "tenants": ctx.tenants,
        "users_per_tenant": ctx.users_per_tenant,
        "python": sys.version.split()[0],
        "results": [
            {
                "case": r.name,
                "platform_ms": r.platform_ms,
                "raw_ms": r.raw_ms,
                "ratio": None if r.error else r.ratio,
                "platform_p95_ms": r.platform_p95,
                "raw_p95_ms": r.raw_p95,
                "per_call": r.per_call,
                "throughput": r.throughput(),
                "work_unit": r.work[1] if r.work else None,
                "loops": r.loops,
                "error": r.error,
            }
            for r in results
        ],
    }
