"""ml_collections presets: `python -m train.train --config=colortrack/configs/NAME.py`."""
