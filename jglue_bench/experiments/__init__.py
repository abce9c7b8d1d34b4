"""Running many cells: the Hydra sweeper that expands a task's own grid (`hydra_sweeper`, registered in
Hydra's plugin namespace) and the table that ends a sweep (`sweep`). The protocols themselves are configs
(configs/experiment/); the cell they choose is records.choice's. It may import train, report, records, config
and everything below; only the commands import it."""
