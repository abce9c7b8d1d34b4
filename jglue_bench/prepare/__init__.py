"""The prepare stage, shared by train, evaluate, predict, oracle, `data stats` and `data validate`: a task's
config and split -> validated examples (`stage`) -> token features, cached on disk (`features`); whole-task
validation (`validation`) and the JSQuAD tokenization ceiling (`oracle`). It may import data, tokenization,
tasks, support, errors and metrics; nothing downstream (records, train, report, experiments, bench)."""
