"""Small helpers every stage uses, one per job: writing a file atomically (`atomic`), rendering a Markdown table
(`markdown`) and pausing Python's cyclic garbage collector around bulk work (`gc_pause`). They import nothing
else of jglue_bench, so any package may import them."""
