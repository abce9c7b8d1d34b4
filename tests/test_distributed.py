"""Several processes on the CPU (gloo): two processes train as one does, evaluation gathers every prediction once,
a killed run resumes, only the main process writes; strategies and SLURM's environment as one-line settings.

The multi-process runs start `python -m torch.distributed.run` (torchrun) in a subprocess, on a free port."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from contextlib import contextmanager, nullcontext
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch
from omegaconf import OmegaConf
from safetensors.torch import load_file

from jglue_bench.config import compose_config
from jglue_bench.errors import UserError
from jglue_bench.records.store import read_records
from jglue_bench.train.batching import micro_steps
from jglue_bench.train.distributed import (
    batch_split,
    fsdp_plugin,
    launched_world_size,
    strategy_plugins,
    transformer_layer_classes,
    use_slurm_environment,
)

# Dropout off (the classifier's too): two processes draw other masks than one, so only a deterministic model can
# match to 1e-5. 39 of JNLI's sample pairs: a batch of 32 and one of 7 an epoch, which two processes split 3 + 4 (so
# each part must weigh as its share); 19 dev pairs, an odd count.
NO_DROPOUT = (
    "model.architecture.dropout=0.0",
    "model.architecture.attention_dropout=0.0",
    "+model.architecture.seq_classif_dropout=0.0",
)
TINY_RUN = (
    "task=jnli",
    "num_train_epochs=2",
    "learning_rate=1e-3",
    "data.max_train_samples=39",
    "data.max_eval_samples=19",
    *NO_DROPOUT,
)


RUN_FILES = ["config.yaml", "model", "predictions-valid.jsonl", "record.json"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def torchrun_command(*arguments: str, processes: int = 2, command: str = "train") -> list[str]:
    return [
        sys.executable,
        "-m",
        "torch.distributed.run",
        f"--nproc_per_node={processes}",
        "--master_addr=127.0.0.1",
        f"--master_port={free_port()}",
        "-m",
        "jglue_bench.cli",
        command,
        *arguments,
    ]


def launch_env(cache_dir: Path) -> dict[str, str]:
    """The bundled sample (no data folder), the test cache, one thread per process (two share the cores)."""
    env = {**os.environ, "JGLUE_BENCH_CACHE": str(cache_dir), "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1"}
    env.pop("JGLUE_DATA_DIR", None)
    return env


def torchrun(
    *arguments: str, cwd: Path, cache_dir: Path, processes: int = 2, command: str = "train"
) -> subprocess.CompletedProcess:
    result = subprocess.run(
        torchrun_command(*arguments, processes=processes, command=command),
        cwd=cwd,
        env=launch_env(cache_dir),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result


def common(tmp_path: Path, cache_dir: Path, name: str) -> list[str]:
    return [
        f"output_dir={tmp_path / name}",
        f"results.path={tmp_path / f'{name}.jsonl'}",
        f"data.cache_dir={cache_dir}",
        "data.dir=null",
        "trainer.progress_bar=false",
    ]


def read_json(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def assert_trained_alike(run: Path, reference: Path) -> None:
    """Every epoch's loss (to 1e-5) and scores, and every weight (to 1e-5), of two run folders."""
    history, expected = read_json(run / "record.json")["history"], read_json(reference / "record.json")["history"]
    assert len(history) == len(expected) == 2
    for mine, theirs in zip(history, expected):
        assert mine["train_loss"] == pytest.approx(theirs["train_loss"], abs=1e-5)
        assert mine["metrics"] == theirs["metrics"]
    weights, reference_weights = (load_file(folder / "model" / "model.safetensors") for folder in (run, reference))
    assert weights.keys() == reference_weights.keys()
    for name, tensor in reference_weights.items():
        torch.testing.assert_close(weights[name], tensor, atol=1e-5, rtol=0)


def prediction_rows(folder: Path) -> list[dict]:
    return [json.loads(line) for line in (folder / "predictions-valid.jsonl").read_text(encoding="utf-8").splitlines()]


# --- how the batch divides ---


def test_null_per_device_batch_divides_the_batch_among_the_processes():
    assert batch_split(32, None, 1) == (32, 1)
    assert batch_split(32, None, 2) == (16, 1)
    assert batch_split(32, 8, 2) == (8, 2)  # 8 per device x 2 processes x 2 accumulation steps
    assert batch_split(32, 4, 1) == (4, 8)


@pytest.mark.parametrize(
    "batch, per_device, processes, words",
    [
        (32, None, 3, "batch_size 32 does not divide among 3 processes; set batch_size=33"),
        (32, 5, 2, "per_device_batch_size 5 x 2 processes; set trainer.per_device_batch_size=null (16 per process)"),
    ],
)
def test_a_batch_that_does_not_divide_is_one_line_naming_the_fix(batch, per_device, processes, words):
    with pytest.raises(UserError, match=words.replace("(", r"\(").replace(")", r"\)")) as error:
        batch_split(batch, per_device, processes)
    assert "\n" not in str(error.value)


def test_micro_steps_cut_each_global_batch_once_and_weigh_by_share():
    """Batches of 7 and 1 over 2 processes x 2 accumulation steps: every example once, shares summing to 1 per
    batch; a run left empty steps over a stand-in with weight 0, so every process steps as often."""
    batches = [[10, 11, 12, 13, 14, 15, 16], [20]]
    per_process = [micro_steps(batches, 1, 2, 2, rank) for rank in range(2)]
    assert [len(steps) for steps in per_process] == [4, 4]
    for number, batch in enumerate(batches, start=1):
        steps = [step for steps in per_process for step in steps if step.batch_number == number]
        real = sorted(i for step in steps if step.share for i in step.indices)
        assert real == batch
        assert sum(step.share for step in steps) == pytest.approx(1.0)
        assert sum(step.update for step in steps) == 2  # one optimizer step per process per global batch
    assert [step.indices for step in per_process[1] if step.batch_number == 2] == [[20], [20]]
    assert [step.share for step in per_process[1] if step.batch_number == 2] == [0.0, 1.0]


# --- evaluation gathers every prediction once, in order ---


class FirstToken(torch.nn.Module):
    def forward(self, input_ids, **_):
        return SimpleNamespace(logits=input_ids[:, :1].float())


def predict_in_process(rank: int, port: int, features: list[dict], results: Path) -> None:
    from jglue_bench.train.batching import Collator
    from jglue_bench.train.evaluation import predict

    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    torch.distributed.init_process_group("gloo", rank=rank, world_size=2)
    kind = SimpleNamespace(
        forward=lambda model, inputs: model(**inputs),
        batch_outputs=lambda outputs, inputs: outputs.logits[:, 0].tolist(),
    )
    outputs, _ = predict(
        FirstToken(),
        features,
        kind,
        Collator(("input_ids",), 0),
        batch_size=3,
        device=torch.device("cpu"),
        autocast=nullcontext,
        progress=False,
        processes=(2, rank),
    )
    (results / f"{rank}.json").write_text(json.dumps(outputs), encoding="utf-8")
    torch.distributed.destroy_process_group()


@pytest.mark.slow  # two spawned interpreters; the quick suite gathers through a whole run (one_and_two below)
def test_evaluation_under_two_processes_gathers_each_of_an_odd_number_of_predictions_once(tmp_path):
    """7 features in batches of 3 make 3 batches; the second process's share is padded with a repeat of the
    first batch. Each feature's output is its first token id, so the order is visible."""
    features = [{"input_ids": [100 + i] + [1] * (i % 4)} for i in range(7)]
    processes = torch.multiprocessing.spawn(
        predict_in_process, args=(free_port(), features, tmp_path), nprocs=2, join=False
    )
    deadline = time.monotonic() + 120
    while not processes.join(timeout=1):  # raises if a process failed
        if time.monotonic() > deadline:
            for process in processes.processes:
                process.kill()
            pytest.fail("the two processes did not finish within 120 s")
    expected = [float(100 + i) for i in range(7)]
    assert [read_json(tmp_path / f"{rank}.json") for rank in (0, 1)] == [expected, expected]


# --- one process and two train alike; only the main process writes ---


@pytest.fixture(scope="module")
def one_and_two(tmp_path_factory, cache_dir):
    """The same tiny run in this process and under torchrun with two processes (TensorBoard on, a point per
    step); the tests below read what each left."""
    from jglue_bench.train.loop import train  # here: the gather test's spawned processes import this module

    folder = tmp_path_factory.mktemp("one-and-two")
    one = train(compose_config([*common(folder, cache_dir, "one"), *TINY_RUN]))
    tracked = ("trainer.log_with=[tensorboard]", "trainer.log_every=1")
    torchrun(*common(folder, cache_dir, "two"), *TINY_RUN, *tracked, cwd=folder, cache_dir=cache_dir)
    return one, folder / "two"


def test_two_processes_train_to_the_metrics_and_weights_of_one(one_and_two):
    """Without dropout, the same global batches in the same order and gradients averaged as one batch: the
    same losses, scores and weights (to 1e-5); the record says how the batch was spread."""
    one, two = one_and_two
    record = read_json(two / "record.json")
    assert record["device"]["num_processes"] == 2 and record["device"]["strategy"] == "ddp"
    assert record["device"]["per_device_batch_size"] == 16 and record["device"]["global_batch_size"] == 32
    assert one.record["device"]["num_processes"] == 1 and one.record["device"]["strategy"] == "single"
    assert one.record["device"]["global_batch_size"] == 32
    assert_trained_alike(two, one.output_dir)


@pytest.mark.slow
def test_two_processes_accumulating_gradients_train_as_one(one_and_two, cache_dir):
    """8 per device x 2 processes x 2 accumulation steps (the first step without DDP's synchronisation) make the
    same batch of 32 as one process: the same losses, scores and weights (to 1e-5)."""
    one, two = one_and_two
    folder = two.parent
    accumulated = ("trainer.per_device_batch_size=8",)
    torchrun(*common(folder, cache_dir, "accumulated"), *TINY_RUN, *accumulated, cwd=folder, cache_dir=cache_dir)
    record = read_json(folder / "accumulated" / "record.json")
    assert record["device"]["gradient_accumulation_steps"] == 2 and record["device"]["global_batch_size"] == 32
    assert_trained_alike(folder / "accumulated", one.output_dir)


def test_a_run_under_two_processes_scores_all_19_dev_pairs_once_in_order(one_and_two):
    """The gathered predictions of a whole run: 19 rows (an odd count), in the dev file's order, no id twice,
    the same rows as the one-process run's, and the record's accuracy is the one counted from them. The 19 pairs
    are one evaluation batch, so the second process's share is a repeat of it: every row comes back twice."""
    one, two = one_and_two
    rows, reference = prediction_rows(two), prediction_rows(one.output_dir)
    assert len(rows) == 19 and len({row["id"] for row in rows}) == 19
    assert rows == reference
    correct = sum(row["correct"] for row in rows)
    assert read_json(two / "record.json")["metrics"]["accuracy"] == pytest.approx(correct / 19 * 100)


def test_only_the_main_process_writes(one_and_two):
    """One record in the store, one run folder (record, config, predictions, the model and its card), one
    TensorBoard writer, and every event file from one process."""
    _, two = one_and_two
    assert read_records(two.parent / "two.jsonl") == [read_json(two / "record.json")]
    assert sorted(path.name for path in two.iterdir()) == sorted([*RUN_FILES, "trackers"])
    assert "2 process(es), fp32, ddp, 16 per device" in (two / "model" / "README.md").read_text(encoding="utf-8")
    # TensorBoard's hyperparameters go to a subfolder of their own; the file name ends in <pid>.<count>.
    [run] = (two / "trackers" / "tensorboard").glob("jnli/tiny/lr0.001/ep2/seed42/jglue-bench")
    assert len(list(run.glob("events.out.tfevents.*"))) == 1
    assert len({path.name.split(".")[-2] for path in run.rglob("events.out.tfevents.*")}) == 1


@pytest.mark.slow
def test_evaluate_under_two_processes_scores_the_saved_model_as_its_last_epoch(one_and_two, cache_dir):
    """`evaluate` shares the dev pairs among the processes too: the same 19 predictions and scores as the run's
    last epoch, written once."""
    _, two = one_and_two
    store = two.parent / "evaluated.jsonl"
    torchrun(str(two), f"results.path={store}", command="evaluate", cwd=two.parent, cache_dir=cache_dir)
    [record] = read_records(store)
    assert record["run_kind"] == "evaluate" and record["device"]["num_processes"] == 2
    assert record["metrics"] == read_json(two / "record.json")["metrics"]
    [folder] = two.glob("eval-*")
    assert prediction_rows(folder) == prediction_rows(two)


@pytest.mark.slow
def test_a_sweep_under_torchrun_writes_each_cell_once(tmp_path, cache_dir):
    sweep = tmp_path / "sweep"
    result = torchrun(
        "-m",
        f"output_dir={sweep}",
        f"results.path={tmp_path / 'runs.jsonl'}",
        f"data.cache_dir={cache_dir}",
        "data.dir=null",
        "trainer.progress_bar=false",
        "task=jsts",
        "num_train_epochs=1",
        "learning_rate=1e-3,5e-4",
        cwd=tmp_path,
        cache_dir=cache_dir,
    )
    records = read_records(tmp_path / "runs.jsonl")
    assert sorted(record["hyperparameters"]["learning_rate"] for record in records) == [5e-4, 1e-3]
    assert all(record["device"]["num_processes"] == 2 for record in records)
    assert result.stdout.count(f"sweep {sweep}") == 1  # one summary, from the main process
    jobs = sorted(path for path in sweep.iterdir() if path.is_dir())
    assert [path.name.split(",")[0] for path in jobs] == ["0_learning_rate=0.001", "1_learning_rate=0.0005"]
    assert all(sorted(path.name for path in job.iterdir()) == RUN_FILES for job in jobs)


def test_a_record_from_before_the_spread_was_kept_still_makes_a_card_line():
    from jglue_bench.records.model_card import spread

    assert spread({"type": "cpu", "num_processes": 1, "precision": "fp32"}) == ""
    device = {"strategy": "ddp", "per_device_batch_size": 8, "gradient_accumulation_steps": 2, "global_batch_size": 32}
    assert spread(device) == ", ddp, 8 per device x 2 accumulation step(s) = global batch 32"


# --- a run killed after a checkpoint resumes under two processes ---


@pytest.mark.slow
def test_a_run_killed_after_a_checkpoint_resumes_under_two_processes_to_the_uninterrupted_result(tmp_path, cache_dir):
    from test_faults import outcome, settings, write_long_task

    task = write_long_task(tmp_path / "task", rows=600)
    whole = tmp_path / "whole"
    torchrun(*settings(task, whole, tmp_path / "a.jsonl", cache_dir), cwd=tmp_path, cache_dir=cache_dir)

    killed = tmp_path / "killed"
    arguments = settings(task, killed, tmp_path / "b.jsonl", cache_dir)
    # torchrun and its workers in a session of their own, so one signal kills them all, as a lost node would.
    child = subprocess.Popen(
        torchrun_command(*arguments),
        cwd=tmp_path,
        env=launch_env(cache_dir),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + 300
    while not list((killed / "checkpoints").glob("step-*")) and child.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    assert child.poll() is None, "the run ended before its first checkpoint could be interrupted"
    os.killpg(child.pid, signal.SIGKILL)
    child.wait(timeout=60)
    assert not (killed / "record.json").exists()
    torchrun(*arguments, "resume=true", cwd=tmp_path, cache_dir=cache_dir)
    assert outcome(killed) == outcome(whole)  # every epoch's loss and scores, and every prediction
    assert not (killed / "checkpoints").exists()


# --- strategies: what runs where, one line where it cannot ---


def trainer(**settings):
    return OmegaConf.merge(compose_config([]).trainer, settings)


@pytest.mark.parametrize(
    "settings, processes, cpu, words",
    [
        ({"distributed": "zero"}, 2, True, "trainer.distributed is 'zero'; expected one of ddp, fsdp, deepspeed"),
        ({"distributed": "fsdp"}, 1, True, "trainer.distributed=fsdp shards a model over several processes"),
        ({"distributed": "fsdp"}, 2, True, "trainer.distributed=fsdp needs GPUs"),
        ({"distributed": "deepspeed"}, 2, True, "trainer.distributed=deepspeed needs GPUs"),
        ({"distributed": "deepspeed", "zero_stage": 1}, 2, False, "trainer.zero_stage is 1; expected one of 2, 3"),
    ],
)
def test_a_strategy_this_machine_cannot_run_is_one_line(settings, processes, cpu, words):
    with pytest.raises(UserError, match=words) as error:
        strategy_plugins(trainer(**settings), processes, cpu)
    assert "\n" not in str(error.value)


def test_deepspeed_missing_is_one_line_naming_the_extra(monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "deepspeed" else real(name, *a))
    with pytest.raises(UserError, match=r"pip install 'jglue-bench\[deepspeed\]'"):
        strategy_plugins(trainer(distributed="deepspeed"), 2, False)


def test_ddp_and_one_process_need_no_plugin():
    assert strategy_plugins(trainer(), 2, True) == {}
    assert strategy_plugins(trainer(), 1, True) == {}


def test_fsdp_shards_fully_with_the_models_transformer_layer_as_unit(make_config):
    from jglue_bench.prepare.stage import task_spec
    from jglue_bench.tasks import kind_module
    from jglue_bench.tokenization import load_tokenizer
    from jglue_bench.train.modeling import build_model

    cfg = make_config("task=jsts")
    spec = task_spec(cfg)
    model = build_model(cfg.model, spec, kind_module(spec.kind), load_tokenizer(cfg.model, cfg.data.cache_dir), 0)
    assert transformer_layer_classes(model) == ["TransformerBlock"]  # DistilBERT's _no_split_modules is empty
    plugin = fsdp_plugin("bf16")
    assert plugin.fsdp_version == 2 and plugin.reshard_after_forward is True
    assert plugin.auto_wrap_policy is not None and plugin.state_dict_type.name == "FULL_STATE_DICT"
    assert plugin.mixed_precision_policy.param_dtype == torch.bfloat16
    assert fsdp_plugin("fp32").mixed_precision_policy is None


@pytest.mark.slow
def test_fsdp_on_two_cpu_processes_is_one_line(tmp_path, cache_dir):
    result = subprocess.run(
        torchrun_command(*common(tmp_path, cache_dir, "fsdp"), "task=jsts", "trainer.distributed=fsdp"),
        cwd=tmp_path,
        env=launch_env(cache_dir),
        capture_output=True,
        text=True,
        timeout=300,
    )
    lines = [line for line in result.stderr.splitlines() if line.startswith("jglue-bench: error:")]
    assert lines == [
        "jglue-bench: error: trainer.distributed=fsdp needs GPUs (Accelerate shards models only "
        "across accelerator devices); on the CPU use trainer.distributed=ddp."
    ]
    assert result.returncode != 0 and not (tmp_path / "fsdp").exists()


@pytest.mark.slow  # a run here and two spawned interpreters
def test_a_lora_decoder_under_two_processes_trains_to_the_adapter_of_one(tmp_path, cache_dir, tiny_decoder):
    """LoRA under DDP: only the adapters and the head have gradients to synchronise; two processes train them to
    the losses, scores and adapter weights (PEFT's adapter_model.safetensors, head included) of one process."""
    from jglue_bench.train.loop import train

    lora = (
        "model=causal_lm",
        f"model.pretrained={tiny_decoder}",
        "model.peft.method=lora",
        "model.peft.r=4",
        "batch_size=8",
        "learning_rate=1e-2",
        "trainer.warmup_ratio=0.0",
        *(setting for setting in TINY_RUN if setting not in NO_DROPOUT),  # Llama and this LoRA have no dropout
    )
    train(compose_config([*common(tmp_path, cache_dir, "one"), *lora]))
    torchrun(*common(tmp_path, cache_dir, "two"), *lora, cwd=tmp_path, cache_dir=cache_dir)
    one, two = (read_json(tmp_path / name / "record.json") for name in ("one", "two"))
    assert two["device"]["num_processes"] == 2 and two["device"]["strategy"] == "ddp"
    assert [epoch["train_loss"] for epoch in two["history"]] == pytest.approx(
        [epoch["train_loss"] for epoch in one["history"]], abs=1e-5
    )
    assert [epoch["metrics"] for epoch in two["history"]] == [epoch["metrics"] for epoch in one["history"]]
    adapters = [load_file(tmp_path / name / "model" / "adapter_model.safetensors") for name in ("one", "two")]
    assert adapters[0].keys() == adapters[1].keys() and any("score" in name for name in adapters[0])
    for name, tensor in adapters[0].items():
        torch.testing.assert_close(adapters[1][name], tensor, atol=1e-5, rtol=0, msg=name)
    assert any(
        not torch.equal(tensor, torch.zeros_like(tensor)) for name, tensor in adapters[0].items() if "lora_B" in name
    )


# --- SLURM: the distributed environment from SLURM's variables ---

SLURM_JOB = {
    "SLURM_JOB_ID": "4242",
    "SLURM_NTASKS": "8",
    "SLURM_STEP_NUM_TASKS": "8",  # srun's: the tasks of this step
    "SLURM_JOB_NUM_NODES": "2",
    "SLURM_JOB_NODELIST": "gpu[07-08]",
    "SLURM_NODEID": "1",
    "SLURM_PROCID": "5",
    "SLURM_LOCALID": "1",
    "SUBMITIT_EXECUTOR": "slurm",
}
TORCH_VARIABLES = ("RANK", "WORLD_SIZE", "LOCAL_RANK", "LOCAL_WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT")


@contextmanager
def faked_slurm_job():
    """Task 5 of a job of 8 (2 nodes x 4), the second on node gpu08; no launcher variables yet. The environment
    is restored whole afterwards: the export sets variables (RANK, MASTER_ADDR, ...) that would otherwise send a
    later run in this process looking for a process group on gpu07 (monkeypatch restores only what it set)."""
    saved = dict(os.environ)
    for name in (*TORCH_VARIABLES, "CUDA_VISIBLE_DEVICES"):
        os.environ.pop(name, None)
    os.environ.update(SLURM_JOB)
    try:
        yield os.environ
    finally:
        os.environ.clear()
        os.environ.update(saved)


@pytest.fixture
def slurm_task():
    with faked_slurm_job() as environ:
        yield environ


def test_a_slurm_task_gets_its_rank_world_and_the_first_host_as_master(slurm_task):
    assert use_slurm_environment()
    assert {name: slurm_task[name] for name in TORCH_VARIABLES[:5]} == {
        "RANK": "5",
        "WORLD_SIZE": "8",
        "LOCAL_RANK": "1",
        "LOCAL_WORLD_SIZE": "4",
        "MASTER_ADDR": "gpu07",
    }
    assert 20000 <= int(slurm_task["MASTER_PORT"]) <= 60000  # from the job id: the same in every task
    assert "CUDA_VISIBLE_DEVICES" not in slurm_task  # Accelerate picks cuda:LOCAL_RANK among the node's GPUs
    assert launched_world_size() == 8


def test_a_given_master_port_is_kept_and_a_launcher_set_rank_wins(slurm_task):
    slurm_task["MASTER_PORT"] = "29511"
    assert use_slurm_environment() and slurm_task["MASTER_PORT"] == "29511"
    slurm_task.update(RANK="0", WORLD_SIZE="4")
    assert not use_slurm_environment() and slurm_task["WORLD_SIZE"] == "4"  # torchrun inside the job owns them


def test_a_one_task_slurm_job_is_one_process(slurm_task):
    slurm_task.update(SLURM_NTASKS="1", SLURM_STEP_NUM_TASKS="1")
    assert not use_slurm_environment() and "RANK" not in slurm_task and launched_world_size() == 1


def test_a_command_in_an_allocation_of_eight_tasks_but_no_srun_step_is_one_process(slurm_task):
    del slurm_task["SLURM_STEP_NUM_TASKS"]  # `salloc -n 8`, then jglue-bench typed in its shell
    assert not use_slurm_environment() and "RANK" not in slurm_task and launched_world_size() == 1


def test_a_faked_slurm_job_leaves_the_environment_as_it_was():
    before = dict(os.environ)
    with faked_slurm_job():
        assert use_slurm_environment() and os.environ["RANK"] == "5"
    assert dict(os.environ) == before


def test_the_multi_gpu_slurm_launcher_asks_for_a_task_per_gpu():
    from hydra import compose, initialize_config_dir

    from jglue_bench.config import CONFIG_NAME, config_dir

    with initialize_config_dir(version_base="1.3", config_dir=str(config_dir()), job_name="jglue-bench"):
        cfg = compose(CONFIG_NAME, ["hydra/launcher=slurm_multi_gpu"], return_hydra_config=True)
    launcher = cfg.hydra.launcher
    assert launcher.tasks_per_node == launcher.gpus_per_node == 4 and launcher.nodes == 1
    assert launcher._target_ == "hydra_plugins.hydra_submitit_launcher.submitit_launcher.SlurmLauncher"
