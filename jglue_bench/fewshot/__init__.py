"""Few-shot evaluation of decoder LLMs on jglue-bench's tasks, with EleutherAI lm-eval as the engine.

Owns: turning a task's validated examples into the documents the original loaders gave (label indices, one row
per JSQuAD question; `documents.py`), the presets that reproduce published settings as lm-eval task configs
(`presets.py`, YAML in `configs/fewshot/presets/`), running lm-eval through its model backends
(`run.py`, `backends.py`: transformers, vLLM, throughput) and scoring its outputs with our own metrics (`scores.py`;
llm-jp-eval's answers and metrics in `llm_jp_eval.py`, jp-stable's JSQuAD metric in `jasquad.py`), and the few-shot
record with per-example predictions.

May import: support, errors, metrics, data, tasks, prepare, records, config (layers below `train`). lm-eval,
torch and transformers are imported inside functions, so `jglue-bench --help` and `report` stay light.
Tests: tests/test_fewshot*.py.
"""
