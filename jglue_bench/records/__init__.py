"""What a run leaves and what it is compared with: building a run's record from plain values (`build`), the
experiment key that identifies a run (`key`), the append-only JSON Lines store (`store`), the one rule that
picks the paper protocol's grid cell (`choice`), and the published reference scores (`published`). It may
import prepare, tasks, tokenization, data, support, errors and metrics; never train, report or experiments."""
