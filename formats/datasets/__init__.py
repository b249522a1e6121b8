"""Dataset layouts."""
