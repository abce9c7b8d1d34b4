"""`jglue-bench report`: its arguments, reading the results store, choosing the tables, and the --plot figure.

Imports only the standard library and jglue-bench's own torch-free modules (matplotlib only for --plot), so the
command starts in a fraction of a second.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from jglue_bench.errors import UserError
from jglue_bench.records.published import PublishedScore, load_published, packaged_dir
from jglue_bench.records.store import read_records
from jglue_bench.report import compare as report_compare
from jglue_bench.report import html as report_html
from jglue_bench.report import render as report_render
from jglue_bench.report import tables as report

DEFAULT_RESULTS = Path("results/runs.jsonl")
TABLES = ("runs", "paper", "robust", "published", "models", "efficiency", "significance", "breakdown")
PER_EXAMPLE_TABLES = ("significance", "breakdown")  # they read every run's predictions file: only where asked
MAIN_TABLE = {"paper": "paper", "robust": "robust", "single": "runs", "all": "runs"}
HELP = "tables of the run records: runs, the paper protocol's best cell, seed statistics, ours vs published"
EPILOG = """examples: jglue-bench report
          jglue-bench report --protocol paper --published            (ours beside the published tables)
          jglue-bench report --published my_scores.csv               (the same, with your own table added)
          jglue-bench report --protocol robust --format csv > robust.csv
          jglue-bench report --table models --published --plot ours_vs_published.png
          jglue-bench report --table all --published --format html --plot > report.html   (one page, offline)"""


def add_report_parser(subparsers) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "report", help=HELP, description=HELP, epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--results",
        type=Path,
        default=DEFAULT_RESULTS,
        metavar="PATH",
        help=f"the results store, JSON Lines (default: {DEFAULT_RESULTS})",
    )
    parser.add_argument(
        "--protocol",
        choices=report.PROTOCOLS,
        default="all",
        help="which records, and which number stands for a model on a task: paper = the grid cell "
        "with the best main metric on dev; robust = mean ± std over seeds; single = the latest "
        "run; all (default) = every record (paper, else robust, else single)",
    )
    # append + nargs="?": a bare --published adds nothing but the packaged tables (const None); each PATH adds one
    parser.add_argument(
        "--published",
        type=Path,
        nargs="?",
        action="append",
        const=None,
        default=None,
        metavar="PATH",
        help="compare with the published scores the package ships (results/published/ in the "
        "repository); each --published PATH adds your own CSV, or a folder of them, "
        "with the same columns",
    )
    parser.add_argument(
        "--format",
        choices=("markdown", "csv", "json", "html"),
        default="markdown",
        help="html: one self-contained page (sortable, filterable tables; --plot embedded)",
    )
    parser.add_argument(
        "--table",
        choices=(*TABLES, "all"),
        default=None,
        help="which table (default: the --protocol's own, and `published` with --published; all: every table "
        "but significance and breakdown, which read each run's predictions; CSV holds one table)",
    )
    parser.add_argument(
        "--plot",
        type=Path,
        nargs="?",
        const=report_html.EMBED_PLOT,
        default=None,
        metavar="PATH.png",
        help="also draw ours (with seed error bars) beside the published numbers, per task, as a PNG; "
        "--format html embeds it in the page (a bare --plot: in the page only)",
    )
    parser.add_argument(
        "--ci",
        action="store_true",
        help="add the main metric's 95%% interval to the runs, paper and robust tables: the percentile bootstrap "
        "over each run's examples (its predictions file), the t-interval of a seed mean",
    )
    parser.add_argument(
        "--by",
        default=None,
        metavar="COLUMN",
        help="--table breakdown: the main metric per value of this column of each run's eval file",
    )
    parser.add_argument(
        "--resamples",
        type=int,
        default=1000,
        metavar="N",
        help="bootstrap and permutation resamples for --ci and --table significance (default 1000; seed 0)",
    )
    parser.add_argument(
        "--last",
        type=int,
        default=None,
        metavar="N",
        help="only the last N records of the store (after the --protocol filter)",
    )
    parser.set_defaults(handler=run_report)
    return parser


def run_report(args: argparse.Namespace) -> None:
    if args.last is not None and args.last < 1:
        raise UserError(f"--last expects a number of records, 1 or more; found {args.last}.")
    if args.plot is report_html.EMBED_PLOT and args.format != "html":
        raise UserError("--plot without a file name draws into the page of --format html; give --plot PATH.png.")
    if isinstance(args.plot, Path) and args.plot.suffix.lower() != ".png":
        raise UserError(f"--plot expects a file name ending in .png; found {args.plot}.")
    records = read_run_records(args.results)
    if not records:
        raise UserError(f"{args.results} holds no run records yet; run `jglue-bench train` first.")
    if args.protocol != "all":
        records = [record for record in records if record.get("protocol", "single") == args.protocol]
    if args.last:
        records = records[-args.last :]
    names = chosen_tables(args.protocol, args.table, args.published is not None, args.format)
    wanted = args.published is not None or "published" in names
    references = load_references(args.published or []) if wanted else []
    if args.resamples < 10:
        raise UserError(f"--resamples expects 10 or more resamples; found {args.resamples}.")
    if args.by is not None and names != ["breakdown"]:
        raise UserError("--by groups the breakdown table: use it with --table breakdown.")
    tables = build_tables(names, records, args.protocol, references, args.resamples, args.by)
    if args.ci:
        from jglue_bench.report.significance import with_intervals

        tables = [
            with_intervals(t, records, args.resamples, 0) if t.name in ("runs", "paper", "robust") else t
            for t in tables
        ]
    plot_png = None
    if args.plot is not None:  # first: a plot that cannot be drawn fails before any table is printed
        with report_html.plot_target(args.plot) as target:
            plot_scores(report.scores_for(records, args.protocol), references, target)
            plot_png = target.read_bytes() if args.format == "html" else None
        if args.plot is not report_html.EMBED_PLOT:
            print(f"plot: {args.plot}", file=sys.stderr)
    if args.format == "markdown":
        sys.stdout.write(report_render.render_markdown(tables))
    elif args.format == "json":
        sys.stdout.write(report_render.render_json(tables))
    elif args.format == "html":
        sys.stdout.write(report_html.render_report(args, tables, records, plot_png))
    else:
        sys.stdout.write(report_render.render_csv(tables[0]))


def load_references(paths: Sequence[Path | None]) -> list[PublishedScore]:
    """The packaged published tables, then the user's own (a bare --published stands for no path)."""
    return load_published(packaged_dir(), *(path for path in paths if path is not None))


def chosen_tables(protocol: str, table: str | None, with_published: bool, output_format: str) -> list[str]:
    main = MAIN_TABLE[protocol]
    if table == "all":
        names = [main] + [
            name
            for name in TABLES
            if name != main and name not in PER_EXAMPLE_TABLES and (name != "published" or with_published)
        ]
    elif table:
        names = [table]
    elif output_format == "csv" and with_published:
        names = ["published"]
    else:
        names = [main, *(["published"] if with_published else [])]
    if output_format == "csv" and len(names) > 1:
        raise UserError(f"--format csv writes one table; choose one with --table ({', '.join(TABLES)}).")
    return names


def build_tables(
    names: Sequence[str],
    records: Sequence[dict[str, Any]],
    protocol: str,
    published: Sequence[PublishedScore],
    resamples: int = 1000,
    by: str | None = None,
) -> list[report.Table]:
    builders = {
        "runs": lambda: report.runs_table(records),
        "paper": lambda: report.paper_table(records),
        "robust": lambda: report.robust_table(records),
        "published": lambda: report_compare.published_table(report.scores_for(records, protocol), published),
        "models": lambda: report_compare.models_table(report.scores_for(records, protocol)),
        "efficiency": lambda: report_compare.efficiency_table(records),
        "significance": lambda: significance_table(records, resamples),
        "breakdown": lambda: breakdown_table(records, by),
    }
    return [builders[name]() for name in names]


def significance_table(records: Sequence[dict[str, Any]], resamples: int) -> report.Table:
    from jglue_bench.report.significance import significance_table as build  # numpy and scipy: only when asked

    return build(records, resamples, 0)


def breakdown_table(records: Sequence[dict[str, Any]], by: str | None) -> report.Table:
    from jglue_bench.report.breakdown import breakdown_table as build  # the metrics: scikit-learn, when asked

    return build(records, by)


def read_run_records(path: str | Path) -> list[dict[str, Any]]:
    """The store's records in file order; corrupt lines are reported with their line number and skipped."""
    path = Path(path)
    if not path.is_file():
        raise UserError(
            f"{path} does not exist; expected the results store that `jglue-bench train` appends to "
            f"(or pass --results PATH)."
        )
    return read_records(path, skip_corrupt=True)


def plot_scores(scores: Sequence[report.Score], published: Sequence[PublishedScore], path: Path) -> None:
    """One panel per task (its main metric, on our dev split when we have it): ours beside the closest published
    number for each model, as points (scores sit near each other far from zero, so bars would hide the gap); error
    bars are the robust protocol's seed std and a published std where the source gives one."""
    import matplotlib

    matplotlib.use("Agg")  # no display; must precede pyplot
    import matplotlib.pyplot as plt

    panels = plot_panels(scores, published)
    if not panels:
        raise UserError("nothing to plot: the records hold no scores for the chosen --protocol.")
    figure, axes = plt.subplots(1, len(panels), figsize=(1.5 + 3.5 * len(panels), 4), squeeze=False)
    for axis, (title, models, ours, theirs, their_label) in zip(axes[0], panels):
        for offset, points, label, marker in ((-0.12, ours, "ours", "o"), (0.12, theirs, their_label, "s")):
            shown = [(x + offset, value, std or 0.0) for x, (value, std) in enumerate(points) if value is not None]
            if shown:
                axis.errorbar(
                    [x for x, _, _ in shown],
                    [v for _, v, _ in shown],
                    yerr=[e for _, _, e in shown],
                    fmt=marker,
                    capsize=4,
                    label=label,
                )
        axis.set_xticks(range(len(models)), models, rotation=30, ha="right", fontsize=8)
        axis.set_xlim(-0.6, len(models) - 0.4)
        axis.set_title(title, fontsize=9)
        axis.grid(axis="y", alpha=0.3)
        axis.margins(y=0.25)
        axis.legend(fontsize=8)
    figure.tight_layout()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        figure.savefig(path, format="png", dpi=100)
    except OSError as error:
        raise UserError(f"cannot write the plot to {path}: {error.strerror or error}.") from None
    finally:
        plt.close(figure)


def plot_panels(scores: Sequence[report.Score], published: Sequence[PublishedScore]) -> list[tuple]:
    """(title, models, ours [(value, std)], published [(value, std)], published label) per task, for the task's
    main metric (JSQuAD: its *_official form when recorded, as the comparison table uses)."""
    comparison = report_compare.published_table(scores, published).rows if published else []
    panels = []
    for task in sorted({s.task for s in scores}, key=lambda task: report.ranked(task, report.TASK_ORDER)):
        task_scores = [s for s in scores if s.task == task and s.value is not None]
        splits = {s.split for s in task_scores if s.metric == s.main_metric}
        split = report.DEV_SPLIT if report.DEV_SPLIT in splits else min(splits, default=None)
        chosen: dict[str, report.Score] = {}
        for s in task_scores:  # sorted: one data version per model, the last; *_official replaces the plain metric
            if s.split == split and s.metric in (s.main_metric, f"{s.main_metric}_official"):
                if s.model not in chosen or s.metric.endswith("_official"):
                    chosen[s.model] = s
        if not chosen:
            continue
        models = sorted(chosen)
        theirs, labels = [], set()
        for model in models:
            rows = [
                row
                for row in comparison
                if row["model"] == model and row["task"] == task and row["ours metric"] == chosen[model].metric
            ]
            # the closest published number: the fewest differences (data version, split, protocol), then table order
            rows = sorted(rows, key=lambda row: len(row["differs"].split(", ")) if row["differs"] else 0)
            cell = rows[0]["published"] if rows else report.Spread(None, None)
            labels |= {rows[0]["published data"]} if rows else set()
            theirs.append((cell.mean, cell.std))
        their_label = f"published ({labels.pop()})" if len(labels) == 1 else "published"
        versions = "/".join(sorted({report.data_label(chosen[m].data_version) for m in models}))
        panels.append(
            (
                f"{task} {chosen[models[0]].metric} (ours: {versions} {split})",
                models,
                [(chosen[m].value, chosen[m].std) for m in models],
                theirs,
                their_label,
            )
        )
    return panels
