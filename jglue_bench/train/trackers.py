"""Experiment trackers (TensorBoard, Weights & Biases, MLflow) through Accelerate's own tracker API.

`trainer.log_with` names them (none by default). A run opens one tracker run named `trainer.run_name` (default
task/model/lr/epochs/seed) in the project `trainer.project`, and logs: the resolved config (flattened) and the
experiment key at the start; the train loss (the mean over the optimizer steps since the last point) and the
learning rate every `trainer.log_every` optimizer steps; every eval split's scores after each epoch (`valid/accuracy`);
throughput, the final scores and the record's path at the end. Every point is at its optimizer step. Only the main
process logs (Accelerate's trackers start and log there only).

Where the logs go: `trainer.tracker_dir`, by default the run folder's `trackers/` (a sweep's: the sweep folder's, so
its cells sit side by side): TensorBoard under tensorboard/<run name>/<project>, an MLflow file store in mlruns/
(unless MLFLOW_TRACKING_URI points elsewhere), W&B's run folders in wandb/ (unless WANDB_DIR does). A sweep's cells
are grouped by the sweep: W&B `group`, MLflow `sweep` tags, one TensorBoard folder per cell.
"""

from __future__ import annotations

import itertools
import json
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from jglue_bench.errors import UserError, did_you_mean, first_line

# name -> (what Accelerate checks to offer it, the jglue-bench extra that installs it)
TRACKERS = {
    "tensorboard": ("is_tensorboard_available", "tensorboard"),
    "wandb": ("is_wandb_available", "wandb"),
    "mlflow": ("is_mlflow_available", "mlflow"),
}


def tracker_names(trainer: DictConfig) -> list[str]:
    """trainer.log_with as a list of known, installed trackers; a mistake is one line, before any work."""
    import accelerate.utils

    chosen = trainer.get("log_with") or []
    names = [chosen] if isinstance(chosen, str) else [str(name) for name in chosen]
    for name in names:
        if name not in TRACKERS:
            raise UserError(
                f"trainer.log_with names {name!r}; expected a list of {', '.join(TRACKERS)}"
                f"{did_you_mean(name, TRACKERS)}."
            )
        check, extra = TRACKERS[name]
        if not getattr(accelerate.utils, check)():
            raise UserError(
                f"trainer.log_with names {name}, but the {name} package is not installed: "
                f"pip install 'jglue-bench[{extra}]'"
            )
    log_every = trainer.get("log_every", 10)
    if not isinstance(log_every, int) or isinstance(log_every, bool) or log_every < 1:
        raise UserError(f"trainer.log_every is {log_every!r}; expected a whole number of optimizer steps, at least 1.")
    if names and not str(trainer.get("project") or "").strip():
        raise UserError("trainer.project is empty; expected the project's name (default jglue-bench).")
    return list(dict.fromkeys(names))


def tracker_settings(trainer: DictConfig) -> dict[str, Any]:
    """The Accelerator's tracker settings: none without trackers. The project folder is the run's, known only once
    the experiment key is (a resumed run goes on in its old folder): start_tracking points the project there."""
    names = tracker_names(trainer)
    return {"log_with": names, "project_dir": str(trainer.get("tracker_dir") or "trackers")} if names else {}


@dataclass
class Tracking:
    """The run's trackers, as the training loop sees them; without trackers (or off the main process) every call
    returns at once, and the loss is never read from the device."""

    accelerator: Any = None
    log_every: int = 10
    record_path: Path | None = None
    step: int = 0
    _micro: Any = 0.0  # this optimizer step's micro-batch losses, summed on the device
    _micro_count: int = 0
    _window: Any = 0.0  # the per-step mean losses since the last point
    _window_steps: int = 0
    names: list[str] = field(default_factory=list)

    @property
    def active(self) -> bool:
        return self.accelerator is not None

    def add_loss(self, loss) -> None:
        if self.active:
            self._micro = self._micro + loss.detach()
            self._micro_count += 1

    def optimizer_step(self, step: int, scheduler) -> None:
        """After optimizer step `step` (counted over the whole run): a point every log_every steps."""
        if not self.active or not self._micro_count:
            return
        self._window = self._window + self._micro / self._micro_count
        self._window_steps += 1
        self._micro, self._micro_count, self.step = 0.0, 0, step
        if step % self.log_every == 0:
            self.accelerator.log(
                {
                    "train/loss": float(self._window / self._window_steps),
                    "train/learning_rate": float(scheduler.get_last_lr()[0]),
                },
                step=step,
            )
            self._window, self._window_steps = 0.0, 0

    def epoch(self, entry: dict[str, Any], step: int) -> None:
        """An epoch's history entry: its mean train loss and every eval split's scores."""
        if self.active:
            self.step = step
            values = {
                "epoch": entry["epoch"],
                "train/epoch_loss": entry["train_loss"],
                **metric_values(entry["metrics"]),
            }
            self.accelerator.log(values, step=step)

    def finish(self, record: dict[str, Any]) -> None:
        """Throughput, the final scores and the record's path; then each tracker's run is closed."""
        if not self.active:
            return
        throughput = record.get("throughput") or {}
        self.accelerator.log(
            {
                **{f"throughput/{key}": value for key, value in throughput.items() if key.endswith("_per_s")},
                "wall_time_s": record.get("wall_time_s"),
                **metric_values(record["eval_metrics"], prefix="final/"),
            },
            step=self.step,
        )
        self._log_text("record", str(self.record_path))
        self.close()

    def close(self, failed: bool = False) -> None:
        """What accelerator.end_training() does for the trackers, without its destroy_process_group(): under a
        distributed launch the next run of a sweep (or `evaluate`) in this process still needs the group. A run
        that failed is closed as failed by the next run's start_tracking."""
        if not self.active:
            return
        if self in _OPEN:
            _OPEN.remove(self)
        for tracker in self.accelerator.trackers:
            if not failed:
                tracker.finish()
                continue
            try:  # best effort: the run may have failed while this tracker was starting
                if tracker.name == "wandb":
                    tracker.run.finish(exit_code=1)
                elif tracker.name == "mlflow":
                    import mlflow

                    mlflow.end_run(status="FAILED")
                else:
                    tracker.finish()
            except Exception:  # noqa: BLE001 - a half-started tracker has nothing to close
                pass
        self.accelerator.trackers.clear()

    def _log_text(self, key: str, value: str) -> None:
        for tracker in self.accelerator.trackers:
            if tracker.name == "mlflow":  # MLflow metrics are numbers; text is a tag
                import mlflow

                mlflow.set_tag(key, value)
            else:
                tracker.log({key: value}, step=self.step)


_OPEN: list[Tracking] = []  # runs started in this process and not finished (a run that raised)


def start_tracking(
    accelerator, cfg: DictConfig, experiment: dict[str, Any], out: Path, sweep: dict[str, Any] | None = None
) -> Tracking:
    """Open this run's tracker runs (main process only) and log its config; a Tracking that does nothing when
    trainer.log_with is empty."""
    names = tracker_names(cfg.trainer)
    if not names or not accelerator.is_main_process:
        return Tracking()
    for leftover in list(_OPEN):  # an earlier run in this process raised before its end
        leftover.close(failed=True)
    root = tracker_dir(cfg.trainer, out, sweep)
    name = run_name(cfg)
    configuration = accelerator.project_configuration
    configuration.project_dir = str(root)
    if "tensorboard" in names:  # Accelerate writes into <logging_dir>/<project>: one folder per run
        configuration.logging_dir = str(claim_folder(root / "tensorboard" / safe_path(name)))
    init_kwargs = {}
    if "wandb" in names:
        init_kwargs["wandb"] = wandb_settings(cfg, name, root, sweep)
    if "mlflow" in names:
        init_kwargs["mlflow"] = mlflow_settings(cfg, name, root, experiment, sweep)
    tracking = Tracking(accelerator, int(cfg.trainer.get("log_every", 10)), out / "record.json", names=names)
    _OPEN.append(tracking)
    with explained_start_errors(names):
        accelerator.init_trackers(
            str(cfg.trainer.project), config=flat_config(cfg, experiment), init_kwargs=init_kwargs
        )
    return tracking


def tracker_dir(trainer: DictConfig, out: Path, sweep: dict[str, Any] | None) -> Path:
    if trainer.get("tracker_dir"):
        return Path(str(trainer.tracker_dir)).expanduser().resolve()
    return (Path(sweep["sweep"]) if sweep else Path(out)).resolve() / "trackers"


def run_name(cfg: DictConfig) -> str:
    """trainer.run_name, or task/model/lr/epochs/seed (e.g. jnli/tiny/lr5e-05/ep3/seed42)."""
    return str(
        cfg.trainer.get("run_name")
        or f"{cfg.task.name}/{cfg.model.name}/lr{cfg.learning_rate}/ep{cfg.num_train_epochs}/seed{cfg.seed}"
    )


def sweep_group(sweep: dict[str, Any] | None) -> str | None:
    """A sweep's name for grouping its cells: its folder's name (multirun/<time>, or the output_dir it was given)."""
    return Path(sweep["sweep"]).name if sweep else None


def wandb_settings(cfg: DictConfig, name: str, root: Path, sweep: dict[str, Any] | None) -> dict[str, Any]:
    settings = {
        "name": name,
        "group": sweep_group(sweep),
        "job_type": "train",
        "tags": [str(cfg.task.name), str(cfg.model.name)],
    }
    if not os.environ.get("WANDB_DIR"):
        root.mkdir(parents=True, exist_ok=True)
        settings["dir"] = str(root)  # wandb.init makes <dir>/wandb/<run folder>
    return settings


def mlflow_settings(
    cfg: DictConfig, name: str, root: Path, experiment: dict[str, Any], sweep: dict[str, Any] | None
) -> dict[str, Any]:
    """The run's name and tags; unless MLFLOW_TRACKING_URI says otherwise, a file store in <tracker_dir>/mlruns."""
    import mlflow

    if not os.environ.get("MLFLOW_TRACKING_URI"):
        os.environ.setdefault("MLFLOW_ALLOW_FILE_STORE", "true")  # MLflow 3 asks for an opt-in to its file store
    # Set for every run: an earlier run in this process (a sweep's cell) set its own.
    mlflow.set_tracking_uri(os.environ.get("MLFLOW_TRACKING_URI") or (root / "mlruns").as_uri())
    # The experiment made here, without tags: Accelerate would tag a new experiment with its first run's tags.
    project = os.environ.get("MLFLOW_EXPERIMENT_NAME", str(cfg.trainer.project))
    with explained_start_errors(["mlflow"]):
        if mlflow.get_experiment_by_name(project) is None:
            try:
                mlflow.create_experiment(project)
            except mlflow.exceptions.MlflowException:
                if mlflow.get_experiment_by_name(project) is None:  # not a parallel cell that made it first
                    raise
    tags = {
        "task": str(cfg.task.name),
        "model": str(cfg.model.name),
        "protocol": str(cfg.get("protocol", "single")),
        "experiment_key": str(experiment["key"]),
    }
    if sweep:
        tags.update(sweep=sweep_group(sweep), sweep_dir=str(sweep["sweep"]), sweep_job=str(sweep.get("job")))
    return {"run_name": name, "tags": tags}


def flat_config(cfg: DictConfig, experiment: dict[str, Any]) -> dict[str, Any]:
    """The resolved config as `a.b.c: value` pairs (lists as JSON text: trackers take numbers, text and booleans),
    with the experiment key and the sweep cell."""
    flat = flatten(OmegaConf.to_container(cfg, resolve=True))
    flat["experiment_key"] = experiment["key"]
    if experiment.get("sweep"):
        flat.update(
            flatten(
                {"dir": experiment["sweep"], "job": experiment.get("job"), "cell": experiment.get("cell") or {}},
                prefix="sweep.",
            )
        )
    return flat


def flatten(tree: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in tree.items():
        if isinstance(value, dict) and value:
            flat.update(flatten(value, f"{prefix}{key}."))
        elif isinstance(value, (list, tuple, dict)):
            flat[f"{prefix}{key}"] = json.dumps(value, ensure_ascii=False, default=str)
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def metric_values(scores: dict[str, dict[str, Any]], prefix: str = "") -> dict[str, float]:
    """{split: {metric: value}} as {"<prefix><split>/<metric>": value}, numbers only."""
    return {
        f"{prefix}{split}/{metric}": value
        for split, split_scores in scores.items()
        for metric, value in split_scores.items()
        if isinstance(value, (int, float)) and not isinstance(value, bool)
    }


def safe_path(name: str) -> Path:
    """A run name as a relative folder: each `/`-separated part kept to letters, digits and ._=+-."""
    parts = [re.sub(r"[^\w.=+-]", "_", part) for part in name.split("/") if part.strip() not in ("", ".", "..")]
    return Path(*parts) if parts else Path("run")


def claim_folder(base: Path) -> Path:
    """base, or base-2, base-3, ...: the first that did not exist (made here, so parallel cells never share one)."""
    for number in itertools.count(1):
        folder = base if number == 1 else base.with_name(f"{base.name}-{number}")
        try:
            folder.mkdir(parents=True)
            return folder
        except FileExistsError:
            continue
    raise AssertionError("unreachable")


@contextmanager
def explained_start_errors(names: list[str]) -> Iterator[None]:
    """A tracker that cannot start (not logged in to W&B, an MLflow server out of reach) is the user's setup: one
    line naming it."""
    try:
        yield
    except Exception as error:  # noqa: BLE001 - only the trackers' own errors and I/O are turned into one line
        source = type(error).__module__.split(".")[0]
        if source not in ("wandb", "mlflow", "tensorboard") and not isinstance(error, OSError):
            raise
        which = source if source in names else "/".join(names)
        raise UserError(
            f"trainer.log_with: {which} could not start a run: {first_line(error)}{START_HINTS.get(which, '')}"
        ) from error


START_HINTS = {
    "wandb": " (or WANDB_MODE=offline: the run stays on disk, `wandb sync` uploads it later)",
    "mlflow": " (MLFLOW_TRACKING_URI chooses the store; unset, a file store under trainer.tracker_dir)",
}
