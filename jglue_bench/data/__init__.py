"""Reading, validating, downloading and verifying task data."""
