# Two set-up commands on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
DEMO_DIR ?= demo_out

.PHONY: demo test test-slow benchmarks clean

# pip's output goes to $(VENV)/pip.log, shown only if an install fails.
PIP_QUIET = >> $(VENV)/pip.log 2>&1 || (cat $(VENV)/pip.log; exit 1)
$(VENV)/installed.stamp: requirements.txt pyproject.toml
	@echo "installing requirements.txt and colortrack into $(VENV) (pip; a few minutes the first time)"
	@$(PYTHON) -m venv $(VENV)
	@$(PY) -m pip install -q --upgrade pip $(PIP_QUIET)
	@$(PY) -m pip install -q -r requirements.txt $(PIP_QUIET)
	@$(PY) -m pip install -q --no-deps -e . $(PIP_QUIET)
	@touch $@

# One worker process per CPU (at most 4): most tests wait on binaries in new processes.
# `make test`: everything but the end-to-end runs that are slow by nature (a few minutes);
# `make test-slow`: those (the README walk-through, real-video quality floors, wheels).
# CI (.ci/run) runs both.
PYTEST = $(PY) -m pytest -q -rs -n auto --maxprocesses=4 --dist=worksteal
test: $(VENV)/installed.stamp
	$(PYTEST) -m "not slow" tests

test-slow: $(VENV)/installed.stamp
	$(PYTEST) -m slow tests

# The main job on the embedded default (synthetic video, no download):
# video -> codebook -> TFRecords -> strips -> brief training -> SavedModel; then
# the shipped trained tracker (colortrack/pretrained/) tracks a video with an
# overlay, and J&F of it, the briefly trained model, identity and flow, with a
# page comparing them (demo_out/compare/index.html: open it in a browser).
DEMO_SEQUENCES = synthetic_000,synthetic_001,synthetic_002
demo: $(VENV)/installed.stamp
	$(PY) -m data_prep.make_synthetic --output_dir=$(DEMO_DIR)/synthetic --num_videos=8
	$(PY) -m data_prep.fit_codebook --input=$(DEMO_DIR)/synthetic/videos \
	    --output=$(DEMO_DIR)/codebook.npz
	$(PY) -m data_prep.build_tfrecords --input=$(DEMO_DIR)/synthetic/videos \
	    --codebook=$(DEMO_DIR)/codebook.npz --output_dir=$(DEMO_DIR)/clips --size=128
	$(PY) -m data_prep.inspect_tfrecords --input='$(DEMO_DIR)/clips/*.tfrecord' \
	    --output_dir=$(DEMO_DIR)/inspect
	$(PY) -m train.train --config=tiny --workdir=$(DEMO_DIR)/train \
	    --config.data.train_pattern='$(DEMO_DIR)/clips/*.tfrecord' --config.train.num_steps=300 \
	    --config.train.log_every=150
	$(PY) -m train.export --workdir=$(DEMO_DIR)/train --export_dir=$(DEMO_DIR)/savedmodel
	$(PY) -m colortrack.track --video=$(DEMO_DIR)/synthetic/videos/synthetic_000.mp4 \
	    --mask=$(DEMO_DIR)/synthetic/davis/Annotations/480p/synthetic_000/00000.png \
	    --output_dir=$(DEMO_DIR)/track
	$(PY) -m eval.davis --davis_root=$(DEMO_DIR)/synthetic/davis --sequences=$(DEMO_SEQUENCES) \
	    --results_dir=$(DEMO_DIR)/davis_trained --overwrite > /dev/null
	$(PY) -m eval.davis --davis_root=$(DEMO_DIR)/synthetic/davis --sequences=$(DEMO_SEQUENCES) \
	    --results_dir=$(DEMO_DIR)/davis_tiny --model=$(DEMO_DIR)/savedmodel --radius=4 \
	    --overwrite > /dev/null
	@echo "for method in identity flow: $(PY) -m eval.davis ... --method=\$$method"
	@for method in identity flow; do \
	  $(PY) -m eval.davis --davis_root=$(DEMO_DIR)/synthetic/davis --sequences=$(DEMO_SEQUENCES) \
	      --results_dir=$(DEMO_DIR)/davis_$$method --method=$$method --overwrite > /dev/null || exit 1; \
	done
	$(PY) -m eval.summarize \
	    --results_dirs=$(DEMO_DIR)/davis_trained,$(DEMO_DIR)/davis_tiny,$(DEMO_DIR)/davis_identity,$(DEMO_DIR)/davis_flow \
	    --names=trained,tiny-300-steps,identity,flow --davis_root=$(DEMO_DIR)/synthetic/davis \
	    --plot_dir=$(DEMO_DIR)/compare
	@echo "demo: overlay video $(DEMO_DIR)/track/overlay.mp4, tracked by colortrack/pretrained/ensemble_cpu"
	@echo "demo: the four trackers side by side: $(DEMO_DIR)/compare/index.html (open in a browser)"
	@echo "demo: TensorBoard of the brief training: $(VENV)/bin/tensorboard --logdir=$(DEMO_DIR)/train/tensorboard"

clean:
	rm -rf $(DEMO_DIR)
