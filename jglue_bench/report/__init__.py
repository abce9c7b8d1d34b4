"""Tables from the records store: runs, the paper protocol's cells, seed statistics, models side by side
(`tables`), ours beside the published numbers (`compare`), Markdown/CSV/JSON rendering (`render`) and the
`jglue-bench report` command (`cli`). It reads records and may import records, support, errors and metrics;
it starts without torch (`report --help` and tables load fast)."""
