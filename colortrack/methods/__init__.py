"""Self-supervised methods, one object each (`base.Method`); `registry.get(config)` picks one.

Built-in: "vondrick" (`colorization.Colorization`) and "mast" (`mast.Mast`).
A new method subclasses `base.Method` in a module of its own, is registered
with `registry.register`, and is chosen by setting `config.method` to its
name; the trainer, its visualizer, export and the trackers need no change.
"""
