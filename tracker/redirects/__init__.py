"""Short links: the model, the control plane that owns them, and the per-worker lookup cache."""
