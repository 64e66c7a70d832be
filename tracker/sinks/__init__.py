"""Where rows end: the contracts (base.py), the one list of sinks (registry.py), one package per sink."""
