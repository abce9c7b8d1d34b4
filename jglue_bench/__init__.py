"""jglue-bench: fine-tune and benchmark Japanese encoders on JGLUE."""

__version__ = "0.1.0"
