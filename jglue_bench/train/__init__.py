"""Fine-tuning and scoring: `train(cfg)` (`loop`), length-grouped batches (`batching`), the encoder with its task
head (`modeling`) and its [CLS]-only speed-up (`first_token`), prediction and scores (`evaluation`), checkpoints,
pre-flight checks, saved runs (`evaluate`, `predict`), random models of each family (`random_families`) and the
list of model configs (`model_list`). It may import config, records, prepare and everything below them; never
report, experiments, bench or the commands."""
